// /healthz: is the database there, is Temporal there. 200 when both answer, 503 when one does not.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';

export interface HealthCheck {
  /** Where it is, fit for a reply (no credentials). */
  describe(): Record<string, string>;
  check(): Promise<void>;
}

const component = z.object({ ok: z.boolean(), error: z.string().optional(), details: z.record(z.string(), z.string()) });
const healthReply = z.object({ status: z.enum(['ok', 'degraded']), version: z.string(), database: component, temporal: component });

async function run(check: HealthCheck, timeoutMs: number): Promise<z.infer<typeof component>> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      check.check(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return { ok: true, details: check.describe() };
  } catch (error) {
    return { ok: false, error: (error as Error).message, details: check.describe() };
  } finally {
    clearTimeout(timer);
  }
}

export function registerHealthRoutes(parent: FastifyInstance, checks: { database: HealthCheck; temporal: HealthCheck; version: string }): void {
  const app = parent.withTypeProvider<ZodTypeProvider>();
  app.get('/healthz', {
    schema: { tags: ['health'], summary: 'Database and Temporal connections', response: { 200: healthReply, 503: healthReply } },
    handler: async (_request, reply) => {
      const [database, temporal] = await Promise.all([run(checks.database, 3000), run(checks.temporal, 3000)]);
      const ok = database.ok && temporal.ok;
      return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'degraded', version: checks.version, database, temporal });
    },
  });
}
