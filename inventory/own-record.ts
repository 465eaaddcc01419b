// z.record for what callers send (labels, options, per-group limits). zod's own record skips a
// "__proto__" key without a word (so that it cannot replace the result's prototype): the key and its
// value would vanish from what is stored, and a value of any type would pass. Here such a key is refused,
// naming it, like every other key the schema does not allow.
import { z } from 'zod';

export function ownRecord<Key extends z.core.$ZodRecordKey, Value extends z.ZodType>(key: Key, value: Value) {
  return z.preprocess((input, context) => {
    if (input !== null && typeof input === 'object' && Object.prototype.hasOwnProperty.call(input, '__proto__')) {
      context.addIssue({ code: 'custom', message: 'the key "__proto__" is not accepted', path: ['__proto__'], input });
    }
    return input;
  }, z.record(key, value));
}
