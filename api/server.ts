// The one HTTP server: REST API for the inventory, its OpenAPI document, health. Later issues add the
// webhook receivers, boot routes and callbacks as further route groups.
import Fastify, { type FastifyInstance } from 'fastify';
import fastifySwagger from '@fastify/swagger';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { Inventory } from '../db/inventory.js';
import { installBearerAuth } from './auth.js';
import { installErrorHandler } from './errors.js';
import { apiLogging } from './logging.js';
import { registerMetricsRoute } from './routes/metrics.js';
import { METRICS_ROUTE } from './public-routes.js';
import { installNulCharacterCheck } from './nul-characters.js';
import { registerInventoryRoutes } from './routes/inventory.js';
import { registerTokenRoutes } from './routes/tokens.js';
import { registerHealthRoutes, type HealthCheck } from './routes/health.js';
import { PACKAGE_VERSION } from '../config/version.js';
import { z } from 'zod';
import { errorReply } from './routes/collections.js';

export interface ApiDependencies {
  inventory: Inventory;
  health: { database: HealthCheck; temporal: HealthCheck };
  logLevel?: string;
  /** Where log lines go (default standard output). */
  logStream?: NodeJS.WritableStream;
  /** GET /metrics: public (RESCUED_METRICS_PUBLIC=true) or behind a viewer token; the Temporal SDK's exporter it includes. */
  metrics?: { public: boolean; temporalExporter?: string | undefined };
  /** Extra route groups (boot routes, callbacks, rescues) registered by later parts of the server. */
  routeGroups?: Array<(app: FastifyInstance) => void | Promise<void>>;
}

export async function buildApiServer(dependencies: ApiDependencies): Promise<FastifyInstance> {
  const app = Fastify({
    ...apiLogging({ level: dependencies.logLevel ?? 'info', stream: dependencies.logStream }),
    bodyLimit: 1024 * 1024,
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'rescued API',
        version: PACKAGE_VERSION,
        description: 'Inventory and rescues of bare-metal machines. Authenticate with "Authorization: Bearer <token>".',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
  });
  installErrorHandler(app);
  const metrics = dependencies.metrics ?? { public: false };
  installNulCharacterCheck(app);
  installBearerAuth(app, dependencies.inventory.tokens, metrics.public ? [METRICS_ROUTE] : []);

  registerHealthRoutes(app, { ...dependencies.health, version: PACKAGE_VERSION });
  registerInventoryRoutes(app, dependencies.inventory);
  registerTokenRoutes(app, dependencies.inventory.tokens);
  registerMetricsRoute(app, { ...metrics, capacity: dependencies.inventory.guard });
  for (const group of dependencies.routeGroups ?? []) await group(app);

  // The OpenAPI document describes every route, so it is read like the rest of the API: with a viewer token.
  app.get('/api/v1/openapi.json', {
    config: { role: 'viewer' },
    schema: { hide: true, response: { 200: z.record(z.string(), z.unknown()), 401: errorReply, 403: errorReply } },
    handler: async () => app.swagger() as unknown as Record<string, unknown>,
  });
  return app;
}
