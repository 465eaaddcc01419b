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
import { BMC_ERROR_KINDS } from '../../power/errors.js';
import { errorReply } from './collections.js';

/** The chain's record of who did what (power/chain.ts PowerChainRecord), shown as the chain wrote it. */
const chainRecord = z.looseObject({ systemName: z.string(), operation: z.string(), attempts: z.array(z.record(z.string(), z.unknown())), succeededWith: z.string().nullable() });
const bmcFailure = errorReply.extend({ record: chainRecord.optional() });
/** A BMC that refuses (502), does not answer (504), cannot do it (501) or is configured wrong (409). */
const failures = { 400: errorReply, 401: errorReply, 403: errorReply, 404: errorReply, 409: bmcFailure, 500: bmcFailure, 501: bmcFailure, 502: bmcFailure, 503: errorReply, 504: bmcFailure };
const done = <T extends z.ZodRawShape>(shape: T) => z.object({ system: z.string(), ...shape, driver: z.string().nullable(), record: chainRecord });

const nullableString = z.string().nullable();
/** What `GET .../power/probe` answers: one entry per BMC of the machine (power/types.ts BmcProbeReport). */
export const probeReport = z.object({
  driver: z.string(),
  endpoint: z.string(),
  vendor: nullableString,
  model: nullableString,
  firmware: nullableString,
  protocolVersion: nullableString,
  powerState: z.enum(['on', 'off']).nullable(),
  system: nullableString,
  otherSystems: z.array(z.string()),
  resetTypes: z.array(z.string()).nullable(),
  bootOverride: z.object({
    supported: z.boolean(),
    writtenTo: nullableString,
    modes: z.array(z.string()).nullable(),
    currentMode: nullableString,
    modeWritable: z.enum(['yes', 'no', 'unknown']),
    targets: z.array(z.string()).nullable(),
    current: nullableString,
  }),
  eventLog: nullableString,
  authentication: nullableString,
  notes: z.array(z.string()),
});
const probeFailure = z.object({ kind: z.enum(BMC_ERROR_KINDS as [BmcErrorKind, ...BmcErrorKind[]]), message: z.string() });
const probeEntry = z.object({
  ok: z.boolean(),
  type: z.string(),
  endpoint: z.string(),
  report: probeReport.optional(),
  failure: probeFailure.optional(),
  elapsedMs: z.number(),
});
export const probeReply = z.object({ system: z.string(), bmcs: z.array(probeEntry) });

type BmcFailureStatus = 409 | 500 | 501 | 502 | 504;

const STATUS_BY_KIND: Record<BmcErrorKind, BmcFailureStatus> = {
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
  app.get('/api/v1/systems/:name/power/probe', {
    config: { role: 'operator' },
    schema: {
      tags: ['power'],
      summary: "Ask each of the machine's BMCs what it is and offers: vendor, firmware, reset types, boot override, event log, sessions",
      params,
      response: { 200: probeReply, 400: errorReply, 401: errorReply, 403: errorReply, 404: errorReply, 409: errorReply, 500: errorReply, 501: errorReply, 502: probeReply.extend({ error: z.string(), message: z.string() }), 504: probeReply.extend({ error: z.string(), message: z.string() }) },
    },
    handler: async (request, response) => {
      const name = request.params.name;
      let outcomes;
      try {
        outcomes = await systemPower.probe(name);
      } catch (error) {
        if (error instanceof BmcError) return response.code(STATUS_BY_KIND[error.kind]).send({ error: `bmc-${error.kind}`, message: error.message });
        throw error;
      }
      const bmcs = outcomes.map((outcome) => ({
        ok: outcome.ok,
        type: outcome.type,
        endpoint: outcome.endpoint,
        ...(outcome.ok ? { report: outcome.report } : { failure: outcome.failure }),
        elapsedMs: outcome.record.elapsedMs,
      }));
      const failed = outcomes.find((outcome) => !outcome.ok);
      if (outcomes.some((outcome) => outcome.ok) || !failed || failed.ok) return response.send({ system: name, bmcs });
      // No BMC answered: 504 when none was reached, else 502 (a BMC answered and refused).
      const unreached = outcomes.every((outcome) => !outcome.ok && (outcome.failure.kind === 'unreachable' || outcome.failure.kind === 'timeout'));
      return response.code(unreached ? 504 : 502).send({ error: `bmc-${failed.failure.kind}`, message: failed.failure.message, system: name, bmcs });
    },
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
