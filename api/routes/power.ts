// Power from the API: GET/POST /api/v1/systems/<name>/power and POST .../bootdev (operator to change).
// A BMC that refuses or does not answer is a 502/504 naming the machine, the driver and what the BMC said,
// with the chain's record (drivers tried, which succeeded, why each failed).
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { SystemPower } from '../../power/system-power.js';
import type { PowerChainResult } from '../../power/chain.js';
import { BmcError, type BmcErrorKind } from '../../power/errors.js';
import { BOOT_DEVICES, POWER_ACTIONS, type BootDevice, type PowerAction } from '../../power/types.js';
import { objectName } from '../../inventory/schemas.js';
import { errorReply } from './collections.js';

/** The chain's record of who did what (power/chain.ts PowerChainRecord), shown as the chain wrote it. */
const chainRecord = z.looseObject({ systemName: z.string(), operation: z.string(), attempts: z.array(z.record(z.string(), z.unknown())), succeededWith: z.string().nullable() });
const bmcFailure = errorReply.extend({ record: chainRecord.optional() });
/** A BMC that refuses (502), does not answer (504), cannot do it (501) or is configured wrong (409). */
const failures = { 400: errorReply, 401: errorReply, 403: errorReply, 404: errorReply, 409: bmcFailure, 500: bmcFailure, 501: bmcFailure, 502: bmcFailure, 503: errorReply, 504: bmcFailure };
const done = <T extends z.ZodRawShape>(shape: T) => z.object({ system: z.string(), ...shape, driver: z.string().nullable(), record: chainRecord });

const STATUS_BY_KIND: Record<BmcErrorKind, number> = {
  auth: 502,
  rejected: 502,
  tls: 502,
  unreachable: 504,
  timeout: 504,
  'state-not-reached': 504,
  unsupported: 501,
  'invalid-config': 409,
  internal: 500,
};

async function reply<T>(response: FastifyReply, run: () => Promise<PowerChainResult<T>>, shape: (value: T) => Record<string, unknown>) {
  try {
    const result = await run();
    if (result.ok) return response.send({ ...shape(result.value), driver: result.record.succeededWith, record: result.record });
    return response.code(STATUS_BY_KIND[result.failure.kind]).send({ error: `bmc-${result.failure.kind}`, message: result.failure.message, record: result.record });
  } catch (error) {
    if (error instanceof BmcError) return response.code(STATUS_BY_KIND[error.kind]).send({ error: `bmc-${error.kind}`, message: error.message });
    throw error;
  }
}

export function registerPowerRoutes(parent: FastifyInstance, systemPower: SystemPower): void {
  const app = parent.withTypeProvider<ZodTypeProvider>();
  const params = z.object({ name: objectName });
  app.get('/api/v1/systems/:name/power', {
    config: { role: 'viewer' },
    schema: { tags: ['power'], summary: "The machine's power state, read from its BMC", params, response: { 200: done({ state: z.enum(['on', 'off']) }), ...failures } },
    handler: async (request, response) => reply(response, () => systemPower.status(request.params.name), (state) => ({ system: request.params.name, state })),
  });
  app.post('/api/v1/systems/:name/power', {
    config: { role: 'operator' },
    schema: {
      tags: ['power'],
      summary: 'Power on, off, soft, reset or cycle; succeeds only when the BMC reads back the state asked for',
      params,
      body: z.strictObject({ action: z.enum(POWER_ACTIONS as [PowerAction, ...PowerAction[]]) }),
      response: { 200: done({ action: z.string(), transition: z.record(z.string(), z.unknown()) }), ...failures },
    },
    handler: async (request, response) => reply(response, () => systemPower.set(request.params.name, request.body.action), (transition) => ({ system: request.params.name, action: request.body.action, transition })),
  });
  app.post('/api/v1/systems/:name/bootdev', {
    config: { role: 'operator' },
    schema: {
      tags: ['power'],
      summary: 'Set the one-time boot device (read back where the BMC allows)',
      params,
      body: z.strictObject({ device: z.enum(BOOT_DEVICES as [BootDevice, ...BootDevice[]]), uefi: z.boolean().default(false) }),
      response: { 200: done({ device: z.string(), uefi: z.boolean(), confirmation: z.record(z.string(), z.unknown()) }), ...failures },
    },
    handler: async (request, response) =>
      reply(response, () => systemPower.setBootDevice(request.params.name, { device: request.body.device, uefi: request.body.uefi }), (confirmation) => ({ system: request.params.name, device: request.body.device, uefi: request.body.uefi, confirmation })),
  });
  app.get('/api/v1/systems/:name/sel', {
    config: { role: 'viewer' },
    schema: {
      tags: ['power'],
      summary: "The BMC's system event log",
      params,
      response: { 200: done({ entries: z.array(z.object({ id: z.string(), timestamp: z.string().nullable(), sensor: z.string(), event: z.string(), state: z.string().nullable() })) }), ...failures },
    },
    handler: async (request, response) => reply(response, () => systemPower.readSystemEventLog(request.params.name), (entries) => ({ system: request.params.name, entries })),
  });
}
