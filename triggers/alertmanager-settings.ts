// What the poller's settings must look like, checked when the configuration is read (config/environment.ts)
// rather than at every poll: Alertmanager's URL holds no credentials (fetch refuses such a URL, and the URL
// goes into logs and records), and every filter matcher is one Alertmanager's API accepts.

/** Whether the URL names a user or a password (http://user:password@host). */
export function urlHasCredentials(url: string): boolean {
  try {
    const parsed = new URL(url);
    return parsed.username !== '' || parsed.password !== '';
  } catch {
    return /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*@/i.test(url);
  }
}

// ---- Alertmanager's matcher syntax ----

export interface AlertmanagerMatcher {
  name: string;
  operator: '=' | '!=' | '=~' | '!~';
  value: string;
}

/** The classic parser's matcher (prometheus/alertmanager pkg/labels/parse.go). */
const CLASSIC_MATCHER = /^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(=~|=|!=|!~)\s*([\s\S]*?)\s*$/;
/** A token of the UTF-8 parser (matcher/parse/lexer.go): a double-quoted string, or a run of unreserved characters. */
const UTF8_QUOTED = String.raw`"(?:[^"\\]|\\[\s\S])*"`;
const UTF8_UNQUOTED = String.raw`[^\s{}!=~,\\"'\x60]+`;
const UTF8_MATCHER = new RegExp(String.raw`^\s*(${UTF8_QUOTED}|${UTF8_UNQUOTED})\s*(=~|=|!=|!~)\s*(${UTF8_QUOTED}|${UTF8_UNQUOTED})\s*$`);

/** A classic value: optionally in double quotes, \n \" \\ escaped, no bare double quote. */
function classicValue(raw: string): string | undefined {
  const quoted = raw.startsWith('"');
  const text = quoted ? raw.slice(1) : raw;
  let value = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\' && i < text.length - 1) {
      const next = text[++i]!;
      value += next === 'n' ? '\n' : next === '"' || next === '\\' ? next : `\\${next}`;
    } else if (c === '"') {
      if (!quoted || i < text.length - 1) return undefined;
      return value;
    } else {
      value += c;
    }
  }
  return quoted ? undefined : value;
}

/** A UTF-8 parser token's text: a quoted one as Go's strconv.Unquote reads it (JSON's string escapes, near enough). */
function utf8Token(token: string): string | undefined {
  if (!token.startsWith('"')) return token;
  try {
    return JSON.parse(token) as string;
  } catch {
    return undefined;
  }
}

/**
 * Why this regular expression would not compile, or undefined. Alertmanager compiles it as Go RE2,
 * anchored; this compiles it as a JavaScript RegExp instead, an approximation: RE2's leading flags (?i) and
 * named groups (?P<name>) are translated, and what RE2 lacks (look-around, back references) is refused, but
 * some expressions only one of the two accepts remain (RE2's other (?flags) groups, POSIX classes).
 */
function regexProblem(pattern: string): string | undefined {
  if (/\(\?<?[=!]/.test(pattern)) return 'RE2 has no look-around ((?=, (?!, (?<=, (?<!)';
  if (/(^|[^\\])(\\\\)*\\[1-9]/.test(pattern)) return 'RE2 has no back references (\\1)';
  const flags = /^\(\?([imsU]+)\)/.exec(pattern);
  const body = (flags ? pattern.slice(flags[0].length) : pattern).replace(/\(\?P</g, '(?<');
  try {
    new RegExp(`^(?:${body})$`, [...new Set((flags?.[1] ?? '').replace(/U/g, ''))].join(''));
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

/**
 * One filter matcher as Alertmanager's API reads it (by default its UTF-8 parser, falling back to the classic
 * one): a label name, one of = != =~ !~, a value (double-quoted when it holds spaces, commas or quotes); for
 * =~ and !~ a regular expression. The matcher, or why it is not one.
 */
export function parseAlertmanagerMatcher(text: string): { ok: true; matcher: AlertmanagerMatcher } | { ok: false; reason: string } {
  if (/^\s*\{|\}\s*$/.test(text)) return { ok: false, reason: 'braces are for a list of matchers; give one matcher per entry' };
  let matcher: AlertmanagerMatcher | undefined;
  const classic = CLASSIC_MATCHER.exec(text);
  const classicText = classic ? classicValue(classic[3]!) : undefined;
  if (classic && classicText !== undefined) matcher = { name: classic[1]!, operator: classic[2] as AlertmanagerMatcher['operator'], value: classicText };
  if (matcher === undefined) {
    const utf8 = UTF8_MATCHER.exec(text);
    const name = utf8 ? utf8Token(utf8[1]!) : undefined;
    const value = utf8 ? utf8Token(utf8[3]!) : undefined;
    if (utf8 && name !== undefined && name !== '' && value !== undefined) matcher = { name, operator: utf8[2] as AlertmanagerMatcher['operator'], value };
  }
  if (matcher === undefined) {
    if (!/=|!=|=~|!~/.test(text)) return { ok: false, reason: 'it has no operator (one of = != =~ !~)' };
    return { ok: false, reason: 'it is not a label name, an operator (= != =~ !~) and a value (double-quoted if it holds spaces, commas or quotes, with \\" and \\\\ escaped)' };
  }
  if (matcher.operator === '=~' || matcher.operator === '!~') {
    const problem = regexProblem(matcher.value);
    if (problem !== undefined) return { ok: false, reason: `its regular expression does not compile: ${problem}` };
  }
  return { ok: true, matcher };
}

/** RESCUED_ALERTMANAGER_FILTER's matchers: separated by ";" (a ";" in double quotes is part of its matcher). */
export function splitAlertmanagerFilter(text: string): string[] {
  const matchers: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\' && quoted && i < text.length - 1) {
      current += c + text[++i]!;
      continue;
    }
    if (c === '"') quoted = !quoted;
    if (c === ';' && !quoted) {
      matchers.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  matchers.push(current);
  return matchers.map((m) => m.trim()).filter(Boolean);
}
