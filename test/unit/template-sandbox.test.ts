// Templates are code written by users: whatever they write must not reach the host. Every known way out of a
// JavaScript template engine (constructor chains, prototypes, globals, module loading, the file system, endless
// loops) either fails with an error naming the template and the line, or renders nothing of the host.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkTemplate, jinjaWhitespace, renderTemplate, TemplateRenderError } from '../../boot/templates.js';
import { TEMPLATE_ESCAPES } from '../support/template-escapes.js';

const CANARY = `canary-${process.pid}-${Date.now()}`;
process.env['RESCUED_TEMPLATE_CANARY'] = CANARY;

const variables = {
  range: [1, 2, 3],
  x: 'text',
  hostname: 'web01',
  system: { name: 'web01', interfaces: [{ mac: '52:54:00:12:34:56' }], labels: {} },
  repos: [{ name: 'a', mirror: 'http://m/a' }],
};


test('every known escape fails with a template error naming the template and the line, or renders nothing of the host', () => {
  for (const body of TEMPLATE_ESCAPES) {
    let rendered: string | undefined;
    try {
      rendered = renderTemplate({ name: 'evil', body: `line one\n${body}\n` }, variables);
    } catch (error) {
      assert.ok(error instanceof TemplateRenderError, `${body}: ${String(error)}`);
      // A filter's expression (where_exp) is its own little template: its line counts from that string.
      const line = body.includes('_exp') ? 1 : 2;
      assert.equal(error.line, line, `${body}: ${error.message}`);
      assert.match(error.message, new RegExp(`^template "evil", line ${line}: `), body);
      assert.doesNotMatch(error.message, new RegExp(CANARY), body);
      assert.doesNotMatch(error.message, /\n\s+at /, `${body}: no stack trace`);
      continue;
    }
    // What rendered may only be made of the variables: no function text, no environment, no file.
    assert.doesNotMatch(rendered, new RegExp(CANARY), body);
    assert.doesNotMatch(rendered, /function|native code|\[object|root:x:0|PATH=|"name": "rescued"/, `${body} rendered ${JSON.stringify(rendered)}`);
  }
});

test('the variables are data: a function or class instance given by mistake cannot be called', () => {
  const given = { when: new Date(0), fn: () => CANARY } as Record<string, unknown>;
  assert.equal(renderTemplate({ name: 'vars', body: '{{ when }}' }, given), '1970-01-01T00:00:00.000Z');
  assert.throws(() => renderTemplate({ name: 'vars', body: '{{ fn }}' }, given), (error: unknown) => error instanceof TemplateRenderError && /undefined variable: fn/.test(error.message));
});

test('endless and huge loops stop at the limits with a template error', () => {
  for (const body of ['{% for i in (1..100000000) %}x{% endfor %}', '{% for i in (1..5000) %}{% for j in (1..5000) %}{{ j }}{% endfor %}{% endfor %}']) {
    const started = performance.now();
    assert.throws(() => renderTemplate({ name: 'loop', body }, {}), (error: unknown) => error instanceof TemplateRenderError && /template "loop", line 1: .*limit exceeded/.test(error.message), body);
    assert.ok(performance.now() - started < 10_000, `${body} was stopped`);
  }
  assert.throws(
    () => renderTemplate({ name: 'self', body: '{% include "self" %}' }, {}, { self: '{% include "self" %}' }),
    (error: unknown) => error instanceof TemplateRenderError && /template "self"/.test(error.message),
  );
});

test('snippets: other templates of the inventory are included by name, the disk never', () => {
  const snippets = { 'common-partitioning': 'clearpart --all\npart / --fstype=xfs --grow\n', network: 'network --hostname={{ hostname }}\n' };
  assert.equal(renderTemplate({ name: 'ks', body: '{% include "network" %}{% include "common-partitioning" %}' }, variables, snippets), 'network --hostname=web01\nclearpart --all\npart / --fstype=xfs --grow\n');
  assert.throws(
    () => renderTemplate({ name: 'ks', body: 'a\n{% include "nope" %}' }, variables, snippets),
    (error: unknown) => error instanceof TemplateRenderError && error.message === 'template "ks", line 2: no template "nope" to include in the inventory',
  );
  assert.throws(
    () => renderTemplate({ name: 'ks', body: '{% include "network" %}' }, {}, snippets),
    (error: unknown) => error instanceof TemplateRenderError && /undefined variable: hostname/.test(error.message),
  );
});

test("Jinja's trim_blocks and lstrip_blocks, as the nunjucks templates were written for", () => {
  const body = '%packages\n{% for p in packages %}\n  {% if p != "skip" %}\n{{ p }}\n  {% endif %}\n{% endfor %}\n%end\nrepo --name=a {% if true %}--cost=1{% endif %} --x\n';
  assert.equal(renderTemplate({ name: 'ks', body }, { packages: ['vim', 'skip', 'curl'] }), '%packages\nvim\ncurl\n%end\nrepo --name=a --cost=1 --x\n');
  assert.equal(jinjaWhitespace('a\n  {% if x %}\nb'), 'a\n  {%- if x -%}\nb');
  assert.equal(jinjaWhitespace('{{ x }}\n'), '{{ x }}\n', 'outputs keep their newline');
});

test('Jinja/nunjucks syntax that Liquid does not have is an error naming the line and the Liquid way', () => {
  const cases: Array<[string, number, RegExp]> = [
    ['a\n{# a comment #}\n', 2, /Jinja comment .*\{% comment %\}/],
    ['{% if x %}\na\n{% elif y %}\n{% endif %}', 3, /tag "elif" not found.*\{% elsif %\}/],
    ['{% set a = 1 %}', 1, /tag "set" not found.*assign/],
    ['{% for r in repos %}{{ loop.index }}{% endfor %}', 1, /undefined variable: loop.*forloop/],
    ["a\nb\n{{ x | default('y') }}", 3, /expected ":" after filter name.*default: "x"/],
    ['{{ x if x else "y" }}', 1, /inline if/],
    ['{% macro m() %}{% endmacro %}', 1, /no macros/],
    ['{% extends "base" %}', 1, /no template inheritance/],
    ['{{ x | e }}', 1, /undefined filter: e/],
  ];
  for (const [body, line, message] of cases) {
    assert.throws(() => renderTemplate({ name: 'old', body }, variables), (error: unknown) => error instanceof TemplateRenderError && error.line === line && message.test(error.message), body);
  }
  // Parse errors are found when the template is stored, before any machine asks for it.
  assert.throws(() => checkTemplate({ name: 'old', body: 'x\n{% elif y %}' }), (error: unknown) => error instanceof TemplateRenderError && /template "old", line 2: tag "elif" not found/.test(error.message));
  assert.throws(() => checkTemplate({ name: 'old', body: '{{ range.constructor("return process.env")() }}' }), TemplateRenderError);
  checkTemplate({ name: 'ok', body: '{{ undefined_is_only_known_at_render }}' });
});

test('Cobbler-style templates render: if/elsif/else, for with forloop, filters', () => {
  const body = [
    '{% if system.arch == "aarch64" %}arm{% elsif system.arch == "x86_64" %}x86{% else %}other{% endif %};',
    '{% for r in repos %}{{ forloop.index }}:{{ r.name | upcase }}{% unless forloop.last %},{% endunless %}{% endfor %};',
    '{{ ip | default: "dhcp" }} {{ hostname | split: "." | first }} {{ system.interfaces | map: "mac" | join: " " }}',
    '',
  ].join('\n');
  assert.equal(
    renderTemplate({ name: 'ks', body }, { system: { arch: 'x86_64', interfaces: [{ mac: 'm1' }, { mac: 'm2' }] }, repos: [{ name: 'a' }, { name: 'b' }], hostname: 'web01.example.com', ip: '' }),
    'x86;\n1:A,2:B;\ndhcp web01 m1 m2\n',
  );
});
