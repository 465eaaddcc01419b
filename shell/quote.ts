// Command lines for a POSIX shell (the remote side is busybox sh, dash or bash) built from argument arrays.
// Every argument is single-quoted, so nothing in it is ever expanded, split or interpreted.

/** One argument as a single-quoted POSIX shell word: `it's` becomes `'it'\''s'`. */
export function quoteShellArgument(argument: string): string {
  if (argument.includes('\0')) throw new Error('a shell argument cannot contain a NUL character');
  return `'${argument.replaceAll("'", `'\\''`)}'`;
}

/** A command line that runs `command[0]` with the other elements as its arguments, each quoted. */
export function buildCommandLine(command: readonly string[]): string {
  if (command.length === 0) throw new Error('a command needs at least a program name');
  return command.map(quoteShellArgument).join(' ');
}

/**
 * A fixed shell script with its inputs as positional parameters (`sh -c SCRIPT sh ARG...`): the script is a
 * constant written in this repository, the arguments reach it as "$1", "$2"... and are never parsed as code.
 */
export function shellScript(script: string, ...args: string[]): string[] {
  return ['sh', '-c', script, 'sh', ...args];
}
