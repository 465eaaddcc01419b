// Templates written by users (autoinstall files, rescue environments' kernel arguments), rendered with Liquid
// (liquidjs), a language made for untrusted templates: a template reads the variables it is given and nothing
// else. Properties are looked up on the variables' own keys only (no `constructor`, `__proto__`, `prototype`),
// there are no function calls, no `process`, `require` or `import`, and `include`/`render`/`layout` read only
// the other templates of the inventory (never the disk). Parse size, render time and allocations are capped.
// Liquid's `{{ }}`, `{% if %}`, `{% for %}` and filters are close to the Jinja Cobbler users write; what Jinja
// has and Liquid has not (`{# #}`, `elif`, `set`, `loop.index`, `default('x')`) is an error naming the
// template, the line and the Liquid way to write it.
import { Liquid, type LiquidOptions } from 'liquidjs';
import { InventoryError } from '../inventory/errors.js';

export class TemplateRenderError extends Error {
  override readonly name = 'TemplateRenderError';
  constructor(
    readonly template: string,
    readonly line: number | undefined,
    message: string,
  ) {
    super(message);
  }
}

export interface TemplateSource {
  /** How errors name it: the template's name, or e.g. "rescue-env deb12 kernel args". */
  name: string;
  body: string;
}

/** The limits on one render: enough for any real kickstart, far too little for a loop that eats the server. */
export const TEMPLATE_LIMITS = {
  /** Characters parsed in one parse (the largest template the inventory stores is 1 MiB). */
  parseChars: 2 * 1024 * 1024,
  /** Milliseconds one render may take. */
  renderMs: 1000,
  /** Liquid's allocation units (array elements, string characters) one render may create. */
  memoryUnits: 10_000_000,
  /** Tags and outputs one render may evaluate. */
  renderedNodes: 200_000,
} as const;

const SANDBOX_OPTIONS: LiquidOptions = {
  ownPropertyOnly: true,
  strictVariables: true,
  // `{% if x %}` and `{{ x | default: "y" }}` on an absent variable are not errors; everything else is.
  lenientIf: true,
  strictFilters: true,
  jekyllInclude: false,
  // Jinja's trim_blocks/lstrip_blocks are applied by jinjaWhitespace(); Liquid's own trimming stays off.
  greedy: false,
  outputEscape: undefined,
  cache: false,
  parseLimit: TEMPLATE_LIMITS.parseChars,
  renderLimit: TEMPLATE_LIMITS.renderMs,
  memoryLimit: TEMPLATE_LIMITS.memoryUnits,
};

// One engine with no snippets serves most renders; an engine is made per render only when snippets are given.
const plainEngine = new Liquid({ ...SANDBOX_OPTIONS, templates: {} });

function engineWith(snippets: Readonly<Record<string, string>>): Liquid {
  if (Object.keys(snippets).length === 0) return plainEngine;
  // `templates` makes liquidjs look partials up in this map only: no file system is ever read.
  const map: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [name, body] of Object.entries(snippets)) map[name] = jinjaWhitespace(body);
  return new Liquid({ ...SANDBOX_OPTIONS, templates: map });
}

/**
 * Jinja's trim_blocks and lstrip_blocks (which the nunjucks templates before were written for), said in Liquid:
 * a block tag that ends its line also eats that newline (`-%}`, non-greedy), and one alone on its line after
 * blanks eats those blanks (`{%-`). Line numbers are unchanged, so errors still point at the right line.
 */
export function jinjaWhitespace(body: string): string {
  return body
    .replace(/^([ \t]*)\{%(?!-)/gm, '$1{%-')
    .replace(/\{%([\s\S]*?)(?<!-)%\}(?=[ \t]*\r?\n)/g, '{%$1-%}');
}

/** Where a template uses Jinja/nunjucks syntax that Liquid silently treats as text: refused, not mis-rendered. */
function jinjaOnlySyntax(body: string): { line: number; message: string } | undefined {
  const comment = /\{#[\s\S]*?#\}/.exec(body);
  if (comment) {
    return {
      line: lineAt(body, comment.index),
      message: 'a Jinja comment {# ... #} is not Liquid (it would be sent as text): write {% comment %} ... {% endcomment %} or {% # ... %}',
    };
  }
  return undefined;
}

function lineAt(text: string, index: number): number {
  let line = 1;
  for (let i = 0; i < index; i += 1) if (text.charCodeAt(i) === 10) line += 1;
  return line;
}

/** The Liquid way to write what a Jinja/nunjucks template said, for the error message. */
function liquidHint(detail: string): string {
  const tag = /tag "([^"]+)" not found/.exec(detail)?.[1];
  if (tag !== undefined) {
    const hints: Record<string, string> = {
      elif: 'Liquid writes it {% elsif %}',
      set: 'Liquid writes it {% assign name = value %}',
      endset: 'Liquid writes {% capture name %} ... {% endcapture %}',
      macro: 'Liquid has no macros: put the shared part in its own template and {% include "name" %} it',
      call: 'Liquid has no macros',
      import: 'Liquid has no import: {% include "name" %} another template of the inventory',
      from: 'Liquid has no import: {% include "name" %} another template of the inventory',
      extends: 'Liquid has no template inheritance: {% include "name" %} another template of the inventory',
      block: 'Liquid has no template inheritance: {% include "name" %} another template of the inventory',
      filter: 'Liquid applies filters in {{ value | filter }} only',
      with: 'Liquid has no with: {% assign %} the value',
    };
    return hints[tag] ?? 'Liquid has no such tag';
  }
  const variable = /undefined variable: ([A-Za-z_][\w.]*)/.exec(detail)?.[1];
  if (variable === 'loop' || variable?.startsWith('loop.')) return 'Liquid calls it forloop (forloop.index, forloop.first, forloop.last)';
  if (variable === 'if' || variable === 'else') return 'Liquid has no inline if: use {% if %} ... {% else %} ... {% endif %}';
  if (variable === 'true' || variable === 'True' || variable === 'False' || variable === 'None') return 'Liquid writes true, false and nil in lower case';
  if (/expected ":" after filter name/.test(detail)) return 'Liquid passes filter arguments after a colon: {{ value | default: "x" }}';
  if (/undefined filter/.test(detail)) return "Liquid's filters include default, upcase, downcase, capitalize, append, prepend, replace, remove, split, join, map, first, last, size, strip, url_encode, json";
  if (/invalid range syntax/.test(detail)) return 'Liquid calls no functions: ( ) only writes a range such as (1..5)';
  return '';
}

/** A liquidjs error as a TemplateRenderError naming the template (or the included one) and the line. */
function describeLiquidError(templateName: string, error: unknown): TemplateRenderError {
  if (!(error instanceof Error)) return new TemplateRenderError(templateName, undefined, `template "${templateName}": ${String(error)}`);
  const token = (error as { token?: { file?: string; getPosition?: () => number[] } }).token;
  const position = typeof token?.getPosition === 'function' ? token.getPosition() : undefined;
  const line = position?.[0];
  const name = token?.file ? token.file : templateName;
  // liquidjs appends ", file:x, line:n, col:m" (also to errors it wraps); the name and line are said first instead.
  const detail = error.message.replace(/(, file:[^,]*)?, line:\d+, col:\d+/g, '').replace(/^ENOENT: Failed to lookup "([^"]*)" in "[^"]*"$/, 'no template "$1" to include in the inventory');
  const hint = liquidHint(detail);
  const where = name === templateName ? `template "${name}"` : `template "${name}" (included by "${templateName}")`;
  return new TemplateRenderError(name, line, `${where}${line === undefined ? '' : `, line ${line}`}: ${detail}${hint ? ` (${hint})` : ''}`);
}

/** Whether a template pulls in other templates (`include`, `render`, `layout`), which must then be given. */
export function usesPartials(body: string): boolean {
  return /\{%-?\s*(include|render|layout)\b/.test(body);
}

/** Parses without rendering: for `template add/edit`, so a template Liquid cannot read is refused at once. */
export function checkTemplate(template: TemplateSource): void {
  const jinja = jinjaOnlySyntax(template.body);
  if (jinja) throw new TemplateRenderError(template.name, jinja.line, `template "${template.name}", line ${jinja.line}: ${jinja.message}`);
  try {
    plainEngine.parse(jinjaWhitespace(template.body), template.name);
  } catch (error) {
    throw describeLiquidError(template.name, error);
  }
}

/** For the inventory: a template Liquid cannot parse is refused when it is stored (400 naming it and the line). */
export function checkStoredTemplate(name: string, body: string, field: string): void {
  try {
    checkTemplate({ name, body });
  } catch (error) {
    if (error instanceof TemplateRenderError) throw new InventoryError('invalid', error.message, field);
    throw error;
  }
}

/**
 * Renders a user's template with these variables (plain data: what the template may read). `snippets`: other
 * templates of the inventory, by name, that `{% include "name" %}` may pull in.
 */
export function renderTemplate(template: TemplateSource, variables: Record<string, unknown>, snippets: Readonly<Record<string, string>> = {}): string {
  const jinja = jinjaOnlySyntax(template.body);
  if (jinja) throw new TemplateRenderError(template.name, jinja.line, `template "${template.name}", line ${jinja.line}: ${jinja.message}`);
  const engine = engineWith(snippets);
  try {
    const parsed = engine.parse(jinjaWhitespace(template.body), template.name);
    const rendered: unknown = engine.renderSync(parsed, plainData(variables), { templateLimit: TEMPLATE_LIMITS.renderedNodes });
    return String(rendered);
  } catch (error) {
    throw describeLiquidError(template.name, error);
  }
}

/** A copy of the variables as JSON data: no functions, no class instances, nothing a template could call. */
function plainData(variables: Record<string, unknown>): Record<string, unknown> {
  return JSON.parse(JSON.stringify(variables)) as Record<string, unknown>;
}
