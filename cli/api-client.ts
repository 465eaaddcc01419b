// How rescuectl talks to the server: the REST API, with a bearer token from --token, RESCUED_TOKEN or
// the admin token file the server writes into its data folder on first start.
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

export interface ConnectionOptions {
  server?: string | undefined;
  token?: string | undefined;
}

export interface ApiClient {
  readonly server: string;
  request<T>(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<T>;
  /**
   * A list route's rows. With no `page`, every page, following the server's x-next-cursor; with one, that
   * page only (`limit` rows after `cursor`) and the cursor of the page after it.
   */
  list<T>(path: string, page?: ListPage): Promise<{ items: T[]; nextCursor: string | null }>;
}

export interface ListPage {
  limit?: number | undefined;
  cursor?: string | undefined;
}

/** The largest page the server serves (MAX_PAGE_LIMIT): automatic paging asks for pages this big. */
const LARGEST_PAGE = 1000;

export function defaultServerUrl(env: Record<string, string | undefined> = process.env): string {
  return env.RESCUED_SERVER?.trim() || `http://127.0.0.1:${env.RESCUED_API_PORT?.trim() || '8080'}`;
}

async function resolveToken(explicit: string | undefined, env: Record<string, string | undefined>): Promise<string | undefined> {
  if (explicit) return explicit.trim();
  if (env.RESCUED_TOKEN?.trim()) return env.RESCUED_TOKEN.trim();
  const file = join(resolve(env.RESCUED_DATA_DIR?.trim() || './data'), 'admin.token');
  try {
    return (await readFile(file, 'utf8')).trim() || undefined;
  } catch {
    return undefined;
  }
}

export async function createApiClient(options: ConnectionOptions, env: Record<string, string | undefined> = process.env): Promise<ApiClient> {
  const server = (options.server ?? defaultServerUrl(env)).replace(/\/+$/, '');
  try {
    new URL(server);
  } catch {
    throw new CliError(`--server "${server}" is not a URL (e.g. http://127.0.0.1:8080)`, 2);
  }
  const token = await resolveToken(options.token, env);
  async function send(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<{ parsed: unknown; headers: Headers }> {
    let response: Response | undefined;
    // A command that talks to the server, works for a while (an image build) and talks again may find its pooled
    // connection closed by the server's keep-alive timeout: undici then fails with UND_ERR_SOCKET before the
    // request was sent. One new connection is tried; anything else is the server being unreachable.
    for (let attempt = 1; response === undefined; attempt += 1) {
      try {
        response = await fetch(`${server}${path}`, {
          method,
          headers: {
            ...(token ? { authorization: `Bearer ${token}` } : {}),
            ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(60_000),
        });
      } catch (error) {
        const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
        if (cause === 'UND_ERR_SOCKET' && attempt === 1) continue;
        throw new CliError(`cannot reach the rescued server at ${server} (${cause}); is it running? (npm start, or --server URL)`);
      }
    }
    const text = await response.text();
    let parsed: unknown = undefined;
    if (text) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    if (!response.ok) {
      const message = (parsed as { message?: string } | undefined)?.message ?? `HTTP ${response.status}`;
      const hint = response.status === 401 && !token ? ' (no token: use --token, RESCUED_TOKEN, or run on the server host where data/admin.token is)' : '';
      throw new CliError(`${message}${hint}`);
    }
    return { parsed, headers: response.headers };
  }

  async function listPage<T>(path: string, page: ListPage): Promise<{ items: T[]; nextCursor: string | null }> {
    const url = new URL(path, 'http://server');
    if (page.limit !== undefined) url.searchParams.set('limit', String(page.limit));
    if (page.cursor !== undefined) url.searchParams.set('cursor', page.cursor);
    const { parsed, headers } = await send('GET', `${url.pathname}${url.search}`);
    return { items: parsed as T[], nextCursor: headers.get('x-next-cursor') };
  }

  return {
    server,
    async request<T>(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<T> {
      return (await send(method, path, body)).parsed as T;
    },
    async list<T>(path: string, page?: ListPage) {
      if (page !== undefined && (page.limit !== undefined || page.cursor !== undefined)) return listPage<T>(path, page);
      const items: T[] = [];
      let cursor: string | undefined;
      do {
        const next = await listPage<T>(path, { limit: LARGEST_PAGE, cursor });
        items.push(...next.items);
        cursor = next.nextCursor ?? undefined;
      } while (cursor !== undefined);
      return { items, nextCursor: null };
    },
  };
}
