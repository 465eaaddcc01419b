// How each boot loader reads the configs we render, as models small enough to check by eye, for the tests
// that feed hostile values through the renderers. They are deliberately stricter than the loaders: a
// value that would be syntax in any reading counts as an injection.
//   iPXE (https://ipxe.org/scripting): a script is read line by line; a line's words are split at white
//   space; a word "||", "&&" or ";" ends a command and starts the next, a word starting with "#" comments
//   out the rest; ${...} expands a setting.
//   GRUB (GRUB manual, "Shell-like scripting"): line by line; single quotes keep everything literal, double
//   quotes all but $ and \; unquoted ; | & < > { } end or redirect a command; # at the start of a word is
//   a comment; $ expands a variable.
//   pxelinux (SYSLINUX config): line by line; APPEND takes the rest of its line literally.

/** Lines as any of the three loaders might break them (a lone CR, vertical tab and form feed too). */
export function configLines(text: string): string[] {
  return text.split(/\r\n|[\n\r\v\f]/);
}

/** An iPXE line as commands: each a list of words. */
export function ipxeCommands(line: string): string[][] {
  const commands: string[][] = [[]];
  for (const word of line.split(/[ \t]+/).filter((w) => w.length > 0)) {
    if (word.startsWith('#')) break;
    if (word === '||' || word === '&&' || word === ';') commands.push([]);
    else commands.at(-1)!.push(word);
  }
  return commands.filter((c) => c.length > 0);
}

export interface GrubLine {
  words: string[];
  /** An unquoted ; | & < > { } or an unterminated quote: the line is not one simple command. */
  syntax: boolean;
  /** A $ outside single quotes: something would be expanded. */
  expansion: boolean;
  comment: boolean;
}

export function grubLex(line: string): GrubLine {
  const result: GrubLine = { words: [], syntax: false, expansion: false, comment: false };
  let word: string | undefined;
  const end = () => {
    if (word !== undefined) result.words.push(word);
    word = undefined;
  };
  for (let i = 0; i < line.length; i += 1) {
    const c = line[i]!;
    if (c === ' ' || c === '\t') end();
    else if (c === '#' && word === undefined) {
      result.comment = true;
      break;
    } else if (c === "'") {
      const close = line.indexOf("'", i + 1);
      if (close === -1) {
        result.syntax = true;
        break;
      }
      word = (word ?? '') + line.slice(i + 1, close);
      i = close;
    } else if (c === '"') {
      let j = i + 1;
      let text = '';
      for (; j < line.length && line[j] !== '"'; j += 1) {
        if (line[j] === '\\' && j + 1 < line.length) {
          j += 1;
          text += line[j];
        } else {
          if (line[j] === '$') result.expansion = true;
          text += line[j];
        }
      }
      if (j >= line.length) {
        result.syntax = true;
        break;
      }
      word = (word ?? '') + text;
      i = j;
    } else if (c === '\\') {
      word = (word ?? '') + (line[i + 1] ?? '');
      i += 1;
    } else if (';|&<>{}'.includes(c)) {
      result.syntax = true;
      end();
    } else {
      if (c === '$') result.expansion = true;
      word = (word ?? '') + c;
    }
  }
  end();
  return result;
}

/** A kernel command line as the words the kernel gets (loaders join words with single spaces). */
export function kernelWords(line: string): string {
  return line.split(/[ \t]+/).filter((w) => w.length > 0).join(' ');
}
