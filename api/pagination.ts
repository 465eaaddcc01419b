// Pagination on every list route: `?limit=` (default 100, at most 1000) and `?cursor=`; the reply body is
// the page's array as before, and when there is more the next page's cursor is in the `x-next-cursor`
// header and in a `Link: <...>; rel="next"` header (RFC 8288), as GitHub's API does.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT, type Page } from '../db/pagination.js';

/** The query fields of a paginated list; `defaultLimit` where a list has always had a smaller default. */
export function pageQuery(defaultLimit = DEFAULT_PAGE_LIMIT) {
  return {
    limit: z.coerce.number().int().min(1).max(MAX_PAGE_LIMIT).default(defaultLimit),
    cursor: z.string().min(1).max(512).regex(/^[A-Za-z0-9_-]+$/, 'must be the x-next-cursor of the previous page').optional(),
  };
}

/** Sets the next-page headers and answers with the page's items. */
export function sendPage<T>(request: FastifyRequest, reply: FastifyReply, page: Page<T>): T[] {
  if (page.nextCursor !== null) {
    const url = new URL(request.url, 'http://server');
    url.searchParams.set('cursor', page.nextCursor);
    reply.header('x-next-cursor', page.nextCursor).header('link', `<${url.pathname}${url.search}>; rel="next"`);
  }
  return page.items;
}
