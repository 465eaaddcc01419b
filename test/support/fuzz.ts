// Property-based fuzzing with fast-check, counted: every property prints how many inputs it ran, so a
// run's log shows that thousands of inputs were tried (and a property that ran none cannot pass silently).
import fc from 'fast-check';

/** FUZZ_RUNS_SCALE=10 multiplies every property's run count (e.g. for a long run by hand). */
function scaled(numRuns: number): number {
  const scale = Number(process.env.FUZZ_RUNS_SCALE ?? '1');
  return Math.max(1, Math.round(numRuns * (Number.isFinite(scale) && scale > 0 ? scale : 1)));
}

function report(name: string, ran: number, started: number): void {
  console.log(`fuzz: ${name}: ${ran} inputs in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  if (ran === 0) throw new Error(`fuzz: ${name} ran no input`);
}

/** Checks a synchronous property on numRuns inputs and prints the count. */
export function fuzz<T>(name: string, arbitrary: fc.Arbitrary<T>, property: (value: T) => void, numRuns: number): number {
  let ran = 0;
  const started = performance.now();
  fc.assert(
    fc.property(arbitrary, (value) => {
      ran += 1;
      property(value);
    }),
    { numRuns: scaled(numRuns) },
  );
  report(name, ran, started);
  return ran;
}

/** The same for a property that awaits (a server round trip). */
export async function fuzzAsync<T>(name: string, arbitrary: fc.Arbitrary<T>, property: (value: T) => Promise<void>, numRuns: number): Promise<number> {
  let ran = 0;
  const started = performance.now();
  await fc.assert(
    fc.asyncProperty(arbitrary, async (value) => {
      ran += 1;
      await property(value);
    }),
    { numRuns: scaled(numRuns) },
  );
  report(name, ran, started);
  return ran;
}

/** Strings meant to break out of a quoted value, a command line or a config line. */
export const HOSTILE_FRAGMENTS = [
  '"', "'", '`', ';', '$(id)', '`id`', '${HOME}', '$HOME', '\n', '\r\n', '\r', '\0', '\\', '|', '||', '&&', '&', '#', '<', '>',
  '{', '}', '(', ')', ' ', '\t', '\u2028', '\u0085', '%0a', '%00', '../', '..', '/', '__proto__', 'constructor', 'prototype',
  '<script>', "' OR '1'='1", 'exit', 'shell', 'reboot', 'chain http://evil/', 'boot', 'kernel', '\u00e9', '\u{1F600}',
];

/** A string built from hostile fragments and random text. */
export const hostileString = (maxPieces = 8): fc.Arbitrary<string> =>
  fc.array(fc.oneof(fc.constantFrom(...HOSTILE_FRAGMENTS), fc.string({ maxLength: 6 }), fc.string({ unit: 'binary', maxLength: 4 })), { minLength: 1, maxLength: maxPieces }).map((pieces) => pieces.join(''));
