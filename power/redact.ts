// Known secrets (BMC passwords, session tokens) taken out of whatever a driver produced before it is stored or
// shown: the power record, failures, event details. Tools echo what they were given (a fence agent's verbose
// log, a BMC's error page quoting the request), so the chain scrubs everything it returns, in every form a
// secret takes on the way: as is, URL-encoded, JSON-escaped, and inside HTTP basic auth.
export const REDACTED = '[redacted]';

/** The texts under which a secret may appear in output. */
export function secretForms(secret: string): string[] {
  if (secret === '') return [];
  const forms = new Set([secret, encodeURIComponent(secret), JSON.stringify(secret).slice(1, -1)]);
  return [...forms].filter((form) => form !== '');
}

/** HTTP basic auth's form of a user and password, which a tool may print in a request dump. */
export function basicAuthForm(user: string, password: string): string {
  return Buffer.from(`${user}:${password}`).toString('base64');
}

/** A copy of JSON-plain data with every occurrence of every secret replaced by "[redacted]". */
export function redactSecrets<T>(value: T, secrets: Iterable<string>): T {
  const forms = [...new Set([...secrets].flatMap(secretForms))].sort((a, b) => b.length - a.length);
  if (forms.length === 0) return value;
  const scrub = (text: string): string => {
    let result = text;
    for (const form of forms) if (result.includes(form)) result = result.split(form).join(REDACTED);
    return result;
  };
  const walk = (item: unknown): unknown => {
    if (typeof item === 'string') return scrub(item);
    if (Array.isArray(item)) return item.map(walk);
    if (item !== null && typeof item === 'object' && Object.getPrototypeOf(item) === Object.prototype) {
      return Object.fromEntries(Object.entries(item).map(([key, entry]) => [key, walk(entry)]));
    }
    return item;
  };
  return walk(value) as T;
}
