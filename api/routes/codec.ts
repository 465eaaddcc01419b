// The codec endpoint that the Temporal UI and CLI call to read (and write) our encrypted history: Temporal's
// remote codec protocol (POST <endpoint>/decode and /encode, body {payloads: [...]} with the Payload
// protobuf's JSON form: metadata values and data in base64; the UI adds X-Namespace). Reading needs a
// viewer token, encoding an operator (it is how the UI signals or starts a workflow). Browsers call it
// cross-origin, so the allowed origins get CORS headers on every reply, 401s included, and the preflight
// (which by the Fetch standard carries no credentials) is public.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { HttpError } from '../errors.js';
import { errorReply } from './collections.js';
import { PayloadDecryptionError } from '../../temporal/payload-codec.js';

export const CODEC_PATHS = ['/codec/encode', '/codec/decode'] as const;
/**
 * The Temporal UI sends no Authorization header of ours: a browser signs in once at /codec/login, which sets
 * this cookie (HttpOnly, SameSite=Lax, path /codec), and the UI's "include cross-origin credentials" sends it
 * with /decode. Decode only: a cookie never authorizes an encode.
 */
export const CODEC_SESSION_COOKIE = 'rescued_codec';
const SESSION_SECONDS = 8 * 3600;

const LOGIN_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>rescued: read the Temporal history</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 3em auto">
<h1>Read the encrypted Temporal history</h1>
<p>Paste a rescued API token (role viewer is enough). The browser keeps it in a cookie for this server's
<code>/codec</code> for 8 hours; in the Temporal UI's codec settings, turn on "Include cross-origin credentials".
Open this page at the same host name as the Temporal UI (127.0.0.1 and localhost are different sites).</p>
<form id="f"><input id="t" type="password" autocomplete="off" size="60" placeholder="rsd_..."> <button>Sign in</button></form>
<p id="r" role="status"></p>
<script>
document.getElementById('f').addEventListener('submit', async (event) => {
  event.preventDefault();
  const reply = await fetch('session', { method: 'POST', headers: { authorization: 'Bearer ' + document.getElementById('t').value.trim() } });
  document.getElementById('t').value = '';
  document.getElementById('r').textContent = reply.ok ? 'Signed in: reload the Temporal UI.' : 'Refused: ' + (await reply.json()).message;
});
</script>
</body></html>
`;

export interface CodecRouteOptions {
  codec: PayloadCodec;
  /** The Temporal namespace our payloads live in; a request for another namespace is refused. */
  namespace: string;
  /** Browser origins allowed to call (RESCUED_CODEC_CORS_ORIGINS). */
  corsOrigins: readonly string[];
}

const base64 = z.string().regex(/^[A-Za-z0-9+/_-]*={0,2}$/, 'must be base64');
const jsonPayload = z.object({ metadata: z.record(z.string(), base64).optional(), data: base64.optional() });
const payloadsBody = z.object({ payloads: z.array(jsonPayload).max(10_000) });
type JsonPayload = z.infer<typeof jsonPayload>;

function fromJson(payload: JsonPayload): Payload {
  return {
    metadata: Object.fromEntries(Object.entries(payload.metadata ?? {}).map(([key, value]) => [key, Buffer.from(value, 'base64')])),
    data: Buffer.from(payload.data ?? '', 'base64'),
  };
}

function toJson(payload: Payload): JsonPayload {
  return {
    metadata: Object.fromEntries(Object.entries(payload.metadata ?? {}).map(([key, value]) => [key, Buffer.from(value ?? new Uint8Array()).toString('base64')])),
    data: Buffer.from(payload.data ?? new Uint8Array()).toString('base64'),
  };
}

export function registerCodecRoutes(parent: FastifyInstance, options: CodecRouteOptions): void {
  const app = parent.withTypeProvider<ZodTypeProvider>();
  const allowed = new Set(options.corsOrigins);

  const corsHeaders = async (request: FastifyRequest, reply: FastifyReply) => {
    const origin = request.headers.origin;
    reply.header('vary', 'Origin');
    if (origin !== undefined && allowed.has(origin)) {
      reply.header('access-control-allow-origin', origin);
      // The UI's "include cross-origin credentials" needs this with an exact origin.
      reply.header('access-control-allow-credentials', 'true');
    }
  };
  const checkNamespace = (request: FastifyRequest) => {
    const asked = request.headers['x-namespace'];
    if (typeof asked === 'string' && asked !== '' && asked !== options.namespace) {
      throw new HttpError(400, 'bad-request', `this codec serves Temporal namespace "${options.namespace}", not "${asked}" (X-Namespace)`);
    }
  };
  const run = async (direction: 'encode' | 'decode', payloads: JsonPayload[]) => {
    try {
      const done = await options.codec[direction](payloads.map(fromJson));
      return { payloads: done.map(toJson) };
    } catch (error) {
      if (error instanceof PayloadDecryptionError) throw new HttpError(400, 'bad-request', error.message);
      throw error;
    }
  };

  for (const url of CODEC_PATHS) {
    app.options(url, {
      onSend: corsHeaders,
      schema: { hide: true },
      handler: async (request, reply) => {
        const origin = request.headers.origin;
        if (origin === undefined || !allowed.has(origin)) {
          return reply
            .code(403)
            .send({ error: 'forbidden', message: `origin ${origin ?? '(none)'} may not call the codec; allowed: ${[...allowed].join(', ') || 'none'} (RESCUED_CODEC_CORS_ORIGINS)` });
        }
        return reply
          .code(204)
          .header('access-control-allow-methods', 'POST, OPTIONS')
          .header('access-control-allow-headers', 'authorization, content-type, x-namespace')
          .header('access-control-max-age', '600')
          .send();
      },
    });
  }

  const failures = { 400: errorReply, 401: errorReply, 403: errorReply };
  app.get('/codec/login', {
    schema: { hide: true },
    handler: async (_request, reply) => reply.type('text/html; charset=utf-8').header('content-security-policy', "default-src 'none'; script-src 'unsafe-inline'; connect-src 'self'").send(LOGIN_PAGE),
  });
  app.post('/codec/session', {
    config: { role: 'viewer' },
    schema: { tags: ['codec'], summary: 'Keep the bearer token in a cookie for /codec/decode, so the Temporal UI in this browser can read the history', response: { 204: z.null(), ...failures } },
    handler: async (request, reply) => {
      const token = request.headers.authorization!.slice('Bearer '.length).trim();
      const secure = request.protocol === 'https' ? '; Secure' : '';
      return reply
        .code(204)
        .header('set-cookie', `${CODEC_SESSION_COOKIE}=${encodeURIComponent(token)}; Path=/codec; HttpOnly; SameSite=Lax; Max-Age=${SESSION_SECONDS}${secure}`)
        .header('cache-control', 'no-store')
        .send(null);
    },
  });
  app.post('/codec/decode', {
    config: { role: 'viewer', tokenCookie: CODEC_SESSION_COOKIE },
    onSend: corsHeaders,
    bodyLimit: 8 * 1024 * 1024,
    schema: {
      tags: ['codec'],
      summary: "Decrypt payloads of the Temporal history (Temporal's remote codec protocol, for the Temporal UI and CLI)",
      body: payloadsBody,
      response: { 200: payloadsBody, ...failures },
    },
    handler: async (request) => {
      checkNamespace(request);
      return run('decode', request.body.payloads);
    },
  });
  app.post('/codec/encode', {
    config: { role: 'operator' },
    onSend: corsHeaders,
    bodyLimit: 8 * 1024 * 1024,
    schema: {
      tags: ['codec'],
      summary: "Encrypt payloads for the Temporal history (Temporal's remote codec protocol; the UI uses it to signal or start)",
      body: payloadsBody,
      response: { 200: payloadsBody, ...failures },
    },
    handler: async (request) => {
      checkNamespace(request);
      return run('encode', request.body.payloads);
    },
  });
}
