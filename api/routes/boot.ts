// The routes machines call while they network-boot and install. No bearer token: a machine has none.
// The per-MAC iPXE script, the autoinstall file, boot files, and the install status callbacks (which
// carry the token of that install: boot/install-status.ts).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { NetbootService } from '../../boot/netboot.js';
import type { InstallTracker } from '../../boot/install-status.js';
import { StatusTokenError } from '../../boot/install-status.js';
import type { FetchRecorder } from '../../boot/fetch-recorder.js';
import { TemplateRenderError } from '../../boot/templates.js';
import { renderIpxeScript } from '../../boot/render/ipxe.js';
import { openBootFile } from '../../boot/http-files.js';
import type { BootUrls } from '../../boot/boot-target.js';
import { macAddress, objectName } from '../../inventory/schemas.js';
import { HttpError } from '../errors.js';
import { errorReply } from './collections.js';
import { bootStatus } from './netboot.js';

const textReply = (what: string) => ({ 200: z.string().describe(`${what} (text/plain)`), 400: errorReply, 404: errorReply, 500: errorReply, 503: errorReply });

export interface BootRouteDependencies {
  netboot: NetbootService;
  tracker: InstallTracker;
  recorder: FetchRecorder;
  urls: BootUrls;
  tftpRoot: string;
}

async function recordQuietly(request: FastifyRequest, recorder: FetchRecorder, report: Parameters<FetchRecorder['record']>[0]): Promise<void> {
  // A fetch log that cannot be written must not stop a machine from booting.
  await recorder.record(report).catch((error: Error) => request.log.warn({ err: error }, 'could not record a boot fetch'));
}

export function registerBootRoutes(parent: FastifyInstance, dependencies: BootRouteDependencies): void {
  const app = parent.withTypeProvider<ZodTypeProvider>();
  const { netboot, tracker, recorder, urls } = dependencies;
  const text = (reply: FastifyReply, body: string) => reply.type('text/plain; charset=utf-8').send(body);

  app.get('/boot/ipxe/:mac', {
    schema: { tags: ['boot'], summary: "A machine's iPXE script, by MAC", params: z.object({ mac: macAddress }), response: textReply('the iPXE script') },
    handler: async (request, reply) => {
      const script = renderIpxeScript(await netboot.targetForMac(request.params.mac, request.ip), urls);
      await recordQuietly(request, recorder, { protocol: 'http', clientAddress: request.ip, file: `ipxe/${request.params.mac}`, bytes: script.length, outcome: 'complete', mac: request.params.mac });
      return text(reply, script);
    },
  });

  const renderAutoinstall = async (request: FastifyRequest, system: string, part: string) => {
    try {
      const rendered = await netboot.renderAutoinstall(system, 'machine');
      await recordQuietly(request, recorder, { protocol: 'http', clientAddress: request.ip, file: `autoinstall/${system}${part}`, bytes: rendered.body.length, outcome: 'complete' });
      return rendered;
    } catch (error) {
      if (error instanceof TemplateRenderError) throw new HttpError(500, 'template', error.message);
      throw error;
    }
  };
  app.get('/boot/autoinstall/:system', {
    schema: { tags: ['boot'], summary: "A system's rendered autoinstall file", params: z.object({ system: objectName }), response: textReply('the autoinstall file') },
    handler: async (request, reply) => text(reply, (await renderAutoinstall(request, request.params.system, '')).body),
  });
  // cloud-init's nocloud-net data source fetches these two from the URL in ds=nocloud-net;s=<url>/
  app.get('/boot/autoinstall/:system/user-data', {
    schema: { tags: ['boot'], summary: 'cloud-init user-data', params: z.object({ system: objectName }), response: textReply('user-data') },
    handler: async (request, reply) => text(reply, (await renderAutoinstall(request, request.params.system, '/user-data')).body),
  });
  app.get('/boot/autoinstall/:system/meta-data', {
    schema: { tags: ['boot'], summary: 'cloud-init meta-data', params: z.object({ system: objectName }), response: textReply('meta-data') },
    handler: async (request, reply) => text(reply, `instance-id: ${request.params.system}\nlocal-hostname: ${request.params.system}\n`),
  });

  for (const phase of ['started', 'finished', 'failed'] as const) {
    const handler = async (request: FastifyRequest<{ Params: { system: string }; Querystring: { token?: string } }>) => {
      try {
        if (phase === 'started') return await tracker.installStarted(request.params.system, request.query.token);
        return await tracker.installFinished(request.params.system, request.query.token, phase === 'finished' ? 'success' : 'failed');
      } catch (error) {
        if (error instanceof StatusTokenError) throw new HttpError(error.status, error.status === 409 ? 'conflict' : 'forbidden', error.message);
        throw error;
      }
    };
    const schema = {
      tags: ['boot'],
      summary: `Install ${phase} (called by the autoinstall)`,
      params: z.object({ system: objectName }),
      querystring: z.object({ token: z.string().max(128).optional() }),
      response: { 200: bootStatus, 400: errorReply, 403: errorReply, 404: errorReply, 409: errorReply, 503: errorReply },
    };
    app.get(`/boot/status/:system/${phase}`, { schema, handler });
    app.post(`/boot/status/:system/${phase}`, { schema, handler });
  }

  app.get('/boot/files/*', {
    schema: {
      tags: ['boot'],
      summary: 'A file of the TFTP root (kernels, initrds) over HTTP',
      querystring: z.object({ mac: z.string().max(32).optional() }),
      response: { 200: z.string().describe('the file (application/octet-stream)'), 400: errorReply, 403: errorReply, 404: errorReply, 503: errorReply },
    },
    handler: async (request, reply) => {
      // Fastify has already decoded the path once; decoding again turned "%25" into "%" and threw (a 500).
      const requested = (request.params as { '*': string })['*'];
      const opened = await openBootFile(dependencies.tftpRoot, requested);
      if (opened.kind === 'refused') {
        await recordQuietly(request, recorder, { protocol: 'http', clientAddress: request.ip, file: requested, bytes: 0, outcome: `refused: ${opened.message}`, mac: request.query.mac });
        throw new HttpError(opened.status, opened.status === 404 ? 'not-found' : 'forbidden', opened.message);
      }
      const stream = opened.handle.createReadStream();
      stream.on('close', () => {
        void recordQuietly(request, recorder, { protocol: 'http', clientAddress: request.ip, file: opened.path, bytes: stream.bytesRead, outcome: stream.bytesRead === opened.size ? 'complete' : 'aborted', mac: request.query.mac });
      });
      // A stream is sent as it is (Fastify serializes no stream); the schema's string is the OpenAPI view of it.
      return reply.type('application/octet-stream').header('content-length', opened.size).send(stream as unknown as string);
    },
  });
}
