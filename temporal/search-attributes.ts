// The custom search attributes that let an operator find rescues in the Temporal UI: by machine, MAC,
// current step and outcome. Registered at start on the embedded server and on a cluster.
import type { Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import { RESCUE_SEARCH_ATTRIBUTES } from './search-attribute-keys.js';

const { temporal } = proto;

export { RESCUE_SEARCH_ATTRIBUTES, RescueMac, RescueOutcome, RescueStep, RescueSystem } from './search-attribute-keys.js';

/** As the dev server's --search-attribute flag wants them: Name=Keyword. */
export function searchAttributeFlags(): string[] {
  return RESCUE_SEARCH_ATTRIBUTES.flatMap((key) => ['--search-attribute', `${key.name}=Keyword`]);
}

/** Adds the ones the namespace lacks. A cluster that refuses (no permission) is reported, not fatal. */
export async function ensureSearchAttributes(connection: Connection, namespace: string): Promise<{ added: string[] }> {
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const known = new Set(Object.keys(existing.customAttributes ?? {}));
  const missing = RESCUE_SEARCH_ATTRIBUTES.filter((key) => !known.has(key.name));
  if (missing.length === 0) return { added: [] };
  await connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(missing.map((key) => [key.name, temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD])),
  });
  return { added: missing.map((key) => key.name) };
}
