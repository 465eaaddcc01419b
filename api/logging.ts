// The API's request log: Fastify's pino logger with serializers that keep credentials out of every line.
// Headers that authenticate are redacted by path; tokens that machines carry in a URL (the phone-home's
// /boot/rescue/<token>/ready, an install's ?token=) are cut out of the request URL, of error messages and
// of any message string (Fastify and our handlers may quote a URL).
import fastify, { type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import { redactTokens, redactUrl } from '../secrets/redact.js';

interface LoggedRequest {
  method?: string;
  url?: string;
  host?: string;
  ip?: string;
  socket?: { remotePort?: number } | null;
}

interface LoggedError {
  name?: string;
  message?: string;
  stack?: string;
  code?: string;
  statusCode?: number;
}

export function apiLoggerOptions(options: { level: string; stream?: NodeJS.WritableStream | undefined }): FastifyServerOptions['logger'] {
  return {
    level: options.level,
    // Tokens and passwords must never reach a log line.
    redact: { paths: ['req.headers.authorization', 'req.headers.cookie', '*.password', '*.token'], censor: '[redacted]' },
    serializers: {
      req: (request: LoggedRequest) => ({
        method: request.method,
        url: redactUrl(request.url ?? ''),
        host: request.host,
        remoteAddress: request.ip,
        remotePort: request.socket?.remotePort,
      }),
      err: (error: LoggedError) => ({
        type: error.name ?? 'Error',
        message: redactTokens(error.message ?? ''),
        stack: redactTokens(error.stack ?? ''),
        ...(error.code ? { code: error.code } : {}),
        ...(error.statusCode ? { statusCode: error.statusCode } : {}),
      }),
    },
    hooks: {
      logMethod(args, method) {
        method.apply(this, args.map((arg) => (typeof arg === 'string' ? redactTokens(arg) : arg)) as Parameters<typeof method>);
      },
    },
    ...(options.stream ? { stream: options.stream } : {}),
  };
}

/**
 * Routes that machines and monitoring call all day: health checks, scrapes and boot fetches (iPXE scripts,
 * kernels and initrds, autoinstall files). Their request lines are at debug, so the console at info shows what
 * happens to rescues; a machine's phone-home and install-status callbacks stay at info.
 */
export const QUIET_ROUTES: readonly string[] = [
  '/healthz',
  '/metrics',
  '/boot/ipxe/:mac',
  '/boot/files/*',
  '/boot/autoinstall/:system',
  '/boot/autoinstall/:system/user-data',
  '/boot/autoinstall/:system/meta-data',
];

export function isQuietRoute(url: string | undefined): boolean {
  return url !== undefined && QUIET_ROUTES.includes(url);
}

/** Fastify's request lines, at debug for the quiet routes and as Fastify writes them for every other. */
export class QuietRoutesLogController extends fastify.LogController {
  override incomingRequest(request: FastifyRequest, reply: FastifyReply, metadata?: Record<string, unknown>): void {
    if (!isQuietRoute(request.routeOptions.url)) return super.incomingRequest(request, reply, metadata);
    request.log.debug({ req: request }, 'incoming request');
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply, metadata?: Record<string, unknown>): void {
    if (error || !isQuietRoute(request.routeOptions.url)) return super.requestCompleted(error, request, reply, metadata);
    reply.log.debug({ res: reply, responseTime: reply.elapsedTime }, 'request completed');
  }
}

/** Fastify's logging options as the API server uses them: the redacting logger and the quiet routes at debug. */
export function apiLogging(options: { level: string; stream?: NodeJS.WritableStream | undefined }): Pick<FastifyServerOptions, 'logger' | 'logController'> {
  return { logger: apiLoggerOptions(options), logController: new QuietRoutesLogController() };
}
