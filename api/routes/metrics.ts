// GET /metrics: Prometheus' text exposition of this process (ours, then the Temporal SDK's when this process
// runs a worker). Behind a viewer token (Prometheus' `authorization: { credentials_file: ... }`), or public
// when RESCUED_METRICS_PUBLIC=true (api/public-routes.ts, METRICS_ROUTE).
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { errorReply } from './collections.js';
import { metricsExposition } from '../../observability/exposition.js';
import { watchRescueCapacity, type RescueCapacitySource } from '../../observability/metrics.js';

export function registerMetricsRoute(app: FastifyInstance, options: { public: boolean; temporalExporter?: string | undefined; capacity: RescueCapacitySource }): void {
  // The capacity gauges (rescues in flight against the caps) read this server's database at scrape time.
  watchRescueCapacity(options.capacity);
  app.get('/metrics', {
    ...(options.public ? {} : { config: { role: 'viewer' as const } }),
    schema: {
      tags: ['health'],
      summary: 'Prometheus metrics (text exposition format 0.0.4): ours, then the Temporal SDK worker metrics of this process',
      response: { 200: z.string().describe('the exposition (text/plain; version=0.0.4)'), 401: errorReply, 403: errorReply },
    },
    handler: async (_request, reply) => {
      const exposition = await metricsExposition({ temporalExporter: options.temporalExporter });
      return reply.type(exposition.contentType).send(exposition.body);
    },
  });
}
