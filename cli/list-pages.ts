// `--limit` and `--cursor` for every `list`: without them a list command follows the server's pages to the
// end; with them it prints that one page and, on stderr, the cursor of the next.
import type { Command } from 'commander';
import { CliError, type ApiClient } from './api-client.js';
import type { Row } from './output.js';

export interface PageOptions {
  limit?: number;
  cursor?: string;
}

function parseLimit(value: string): number {
  const limit = Number(value);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new CliError(`--limit: "${value}" is not a number of rows from 1 to 1000`, 2);
  return limit;
}

export function withPageOptions(command: Command): Command {
  return command
    .option('--limit <rows>', 'one page of this many rows (1-1000) instead of all of them', parseLimit)
    .option('--cursor <cursor>', 'the page after this cursor (printed after a --limit page)');
}

/** The rows of a list route: all of them, or the page the options ask for (then the next cursor on stderr). */
export async function listRows(api: ApiClient, path: string, options: PageOptions = {}): Promise<Row[]> {
  const page = await api.list<Row>(path, { limit: options.limit, cursor: options.cursor });
  if (page.nextCursor !== null) console.error(`more: the next page is --cursor ${page.nextCursor}`);
  return page.items;
}
