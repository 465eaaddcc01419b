// Mutations of a valid JSON body for the API fuzz tests: one field (or the whole body) replaced by a wrong
// type, a huge string, a deeply nested value or a hostile string; a key added (prototype-pollution names
// among them) or removed. The result is the raw text sent, and the path of the field it touched.
import fc from 'fast-check';
import { hostileString } from './fuzz.js';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type FieldPath = Array<string | number>;

export interface MutatedBody {
  raw: string;
  /** Where the mutation is: [] for the body itself. */
  path: FieldPath;
  /** The key added, when the mutation added one. */
  addedKey?: string;
  description: string;
}

const DEEP = JSON.stringify('\u0000deep\u0000');
const VALUE_MARKER = JSON.stringify('\u0000value\u0000');
const POLLUTION = '{"polluted":"yes","constructor":{"prototype":{"polluted":"yes"}}}';
export const POLLUTING_KEYS = ['__proto__', 'constructor', 'prototype', '__defineGetter__', 'hasOwnProperty', 'toString', 'valueOf'];

/** Every path to a value inside `value`, the body itself included. */
export function pathsOf(value: JsonValue, prefix: FieldPath = []): FieldPath[] {
  const paths: FieldPath[] = [prefix];
  if (Array.isArray(value)) value.forEach((item, index) => paths.push(...pathsOf(item, [...prefix, index])));
  else if (value !== null && typeof value === 'object') for (const [key, item] of Object.entries(value)) paths.push(...pathsOf(item, [...prefix, key]));
  return paths;
}

function objectPaths(value: JsonValue): FieldPath[] {
  return pathsOf(value).filter((path) => {
    const at = getAt(value, path);
    return at !== null && typeof at === 'object' && !Array.isArray(at);
  });
}

function getAt(value: JsonValue, path: FieldPath): JsonValue {
  let current: JsonValue = value;
  for (const step of path) current = (current as Record<string | number, JsonValue>)[step] as JsonValue;
  return current;
}

/** A copy of `value` with `path` replaced (or deleted when `replacement` is undefined). Own properties only. */
function setAt(value: JsonValue, path: FieldPath, replacement: JsonValue | undefined): JsonValue {
  if (path.length === 0) return replacement ?? null;
  const [step, ...rest] = path;
  if (Array.isArray(value)) {
    const copy = [...value];
    if (rest.length === 0 && replacement === undefined) copy.splice(step as number, 1);
    else copy[step as number] = setAt(copy[step as number] as JsonValue, rest, replacement);
    return copy;
  }
  const copy: Record<string, JsonValue> = {};
  for (const [key, item] of Object.entries(value as Record<string, JsonValue>)) Object.defineProperty(copy, key, { value: item, enumerable: true, writable: true, configurable: true });
  if (rest.length === 0 && replacement === undefined) delete copy[step as string];
  else Object.defineProperty(copy, step as string, { value: setAt(copy[step as string] as JsonValue, rest, replacement), enumerable: true, writable: true, configurable: true });
  return copy;
}

type Replacement = { kind: 'value'; value: JsonValue; description: string } | { kind: 'deep'; depth: number; open: '[' | '{' } | { kind: 'pollution' };

const replacement: fc.Arbitrary<Replacement> = fc.oneof(
  fc.oneof(
    fc.integer().map((n) => n as JsonValue),
    fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => n as JsonValue),
    fc.constantFrom<JsonValue>(true, false, null, 0, -1, 1e308, -1e308, 2 ** 53 + 1, '', ' ', [], {}, ['x'], { a: 1 }, '0', 'true', 'null', '[]', '{}'),
    hostileString().map((s) => s as JsonValue),
    fc.integer({ min: 1_000, max: 300_000 }).map((n) => 'A'.repeat(n) as JsonValue),
    fc.array(hostileString(3), { maxLength: 5 }).map((a) => a as JsonValue),
    fc.dictionary(fc.oneof(fc.constantFrom(...POLLUTING_KEYS), fc.string({ maxLength: 8 })), hostileString(3), { maxKeys: 4 }).map((d) => JSON.parse(JSON.stringify(d)) as JsonValue),
  ).map((value) => ({ kind: 'value' as const, value, description: `value ${JSON.stringify(value)?.slice(0, 60)}` })),
  fc.record({ kind: fc.constant('deep' as const), depth: fc.integer({ min: 100, max: 20_000 }), open: fc.constantFrom('[' as const, '{' as const) }),
  fc.constant({ kind: 'pollution' as const }),
);

function deepText(depth: number, open: '[' | '{'): string {
  return open === '[' ? `${'['.repeat(depth)}${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
}

/** Mutations of `valid`: replace a field, add a key to an object, or remove a field. */
export function mutatedBody(valid: JsonValue): fc.Arbitrary<MutatedBody> {
  const paths = pathsOf(valid);
  const objects = objectPaths(valid);
  // A string field gets a hostile string half the time: that is where NUL bytes, quotes and line breaks go.
  const stringPaths = paths.filter((path) => typeof getAt(valid, path) === 'string');
  const hostileText = stringPaths.length === 0 ? [] : [fc.tuple(fc.constantFrom(...stringPaths), hostileString()).map(([path, text]): MutatedBody => ({ raw: JSON.stringify(setAt(valid, path, text)), path, description: `text ${JSON.stringify(text).slice(0, 60)}` }))];
  const replaced = fc.tuple(fc.constantFrom(...paths), replacement).map(([path, r]): MutatedBody => {
    if (r.kind === 'value') return { raw: JSON.stringify(setAt(valid, path, r.value)), path, description: r.description };
    if (r.kind === 'deep') return { raw: JSON.stringify(setAt(valid, path, '\u0000deep\u0000')).replace(DEEP, () => deepText(r.depth, r.open)), path, description: `nesting ${r.depth} deep` };
    return { raw: JSON.stringify(setAt(valid, path, '\u0000deep\u0000')).replace(DEEP, () => POLLUTION), path, description: 'a polluting object' };
  });
  const added = objects.length === 0
    ? replaced
    : fc.tuple(fc.constantFrom(...objects), fc.oneof(fc.constantFrom(...POLLUTING_KEYS), fc.string({ minLength: 1, maxLength: 10 })), fc.oneof(fc.constant(POLLUTION), hostileString(3).map((s) => JSON.stringify(s)))).map(([path, key, valueText]): MutatedBody => {
        // Added in the text, so that "__proto__" is an own key on the wire as an attacker would send it.
        const marker = `\u0000key\u0000`;
        const withMarker = setAt(valid, [...path, marker], '\u0000value\u0000');
        const raw = JSON.stringify(withMarker).replace(JSON.stringify(marker), () => JSON.stringify(key)).replace(VALUE_MARKER, () => valueText);
        return { raw, path, addedKey: key, description: `added key ${JSON.stringify(key)}` };
      });
  if (paths.length === 1) return fc.oneof(replaced, added);
  const removed = fc.constantFrom(...paths.slice(1)).map((path): MutatedBody => ({ raw: JSON.stringify(setAt(valid, path, undefined)), path, description: 'field removed' }));
  return fc.oneof({ arbitrary: replaced, weight: 5 }, { arbitrary: added, weight: 3 }, { arbitrary: removed, weight: 1 }, ...hostileText.map((arbitrary) => ({ arbitrary, weight: 5 })));
}
