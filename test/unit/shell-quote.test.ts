// Shell quoting: every argument reaches the program exactly as given, whatever it contains. Checked by running
// the quoted command line through real POSIX shells (dash as sh, and busybox sh where installed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { buildCommandLine, quoteShellArgument, shellScript } from '../../shell/quote.js';

const NASTY = [
  'plain',
  'two words',
  "it's",
  "''",
  '"double"',
  '$(touch /tmp/rescued-quote-pwned)',
  '`touch /tmp/rescued-quote-pwned`',
  '${HOME}',
  '$HOME',
  'a;b',
  'a|b',
  'a&&b',
  '*',
  '~',
  'line1\nline2',
  '\ttab',
  '',
  '-n',
  '\\backslash\\',
  '!history',
  '#comment',
  'ünïcödé',
];

const shells = [['sh', '-c'], ...(existsSync('/bin/busybox') ? [['/bin/busybox', 'sh', '-c']] : [])];

test('quoteShellArgument wraps in single quotes and escapes single quotes', () => {
  assert.equal(quoteShellArgument('abc'), "'abc'");
  assert.equal(quoteShellArgument("it's"), "'it'\\''s'");
  assert.equal(quoteShellArgument(''), "''");
  assert.equal(quoteShellArgument('$(id)'), "'$(id)'");
});

test('a NUL byte is refused (no shell can carry it)', () => {
  assert.throws(() => quoteShellArgument('a\0b'), /NUL/);
});

test('an empty command is refused', () => {
  assert.throws(() => buildCommandLine([]), /program name/);
});

for (const shell of shells) {
  test(`every argument arrives intact through ${shell.join(' ')}`, () => {
    const line = buildCommandLine(['printf', '[%s]\\n', ...NASTY]);
    const output = execFileSync(shell[0]!, [...shell.slice(1), line], { encoding: 'utf8' });
    assert.equal(output, NASTY.map((argument) => `[${argument}]\n`).join(''));
    assert.equal(existsSync('/tmp/rescued-quote-pwned'), false);
  });

  test(`shellScript passes user text as positional parameters through ${shell.join(' ')}`, () => {
    const line = buildCommandLine(shellScript('for a in "$@"; do printf "<%s>" "$a"; done', ...NASTY));
    const output = execFileSync(shell[0]!, [...shell.slice(1), line], { encoding: 'utf8' });
    assert.equal(output, NASTY.map((argument) => `<${argument}>`).join(''));
  });
}
