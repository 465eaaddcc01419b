// From the inventory's power type to a driver. The driver is data in the inventory, not a branch in the code.
//   ipmi, ipmitool, ipmilanplus  -> ipmitool (lanplus)
//   redfish                      -> native Redfish
//   X or fence_X                 -> the fence agent fence_X, if it is installed (Cobbler's names: ipmilan,
//                                   drac5, ilo, wti, ...)
import { accessSync, constants as fsConstants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { BmcError } from './errors.js';
import { createFenceAgentDriver } from './drivers/fence-agent.js';
import { createIpmitoolDriver, IPMITOOL_DRIVER } from './drivers/ipmitool.js';
import { createRedfishDriver, REDFISH_DRIVER } from './drivers/redfish.js';
import type { BmcDriver, BmcTarget } from './types.js';

export type DriverFactory = (target: BmcTarget) => BmcDriver;

/** Finds an executable by name; returns its path or null. */
export type ExecutableFinder = (name: string) => string | null;

// Fence agents live in /usr/sbin on Debian, which is not on every user's PATH.
const SBIN_DIRECTORIES = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

export function findExecutableOnPath(name: string): string | null {
  const directories = [...(process.env['PATH'] ?? '').split(delimiter), ...SBIN_DIRECTORIES].filter((directory) => directory !== '');
  for (const directory of directories) {
    const candidate = join(directory, name);
    try {
      accessSync(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

const FENCE_AGENT_NAME = /^[a-z0-9][a-z0-9_]*$/;

export function normalisePowerType(type: string): string {
  return type.trim().toLowerCase().replace(/-/g, '_');
}

/** The driver name a target's power type resolves to, without creating it (for display and checks). */
export interface DriverResolution {
  driver: string;
  create: DriverFactory;
  /** Set when the type is a fence agent: its program, found on this server. */
  fenceAgent?: { name: string; executable: string };
}

export class DriverRegistry {
  private readonly factories = new Map<string, DriverResolution>();

  constructor(private readonly findExecutable: ExecutableFinder = findExecutableOnPath) {}

  /** Registers a driver under one or more power types (lower case). */
  register(types: readonly string[], driver: string, create: DriverFactory): this {
    for (const type of types) this.factories.set(normalisePowerType(type), { driver, create });
    return this;
  }

  /** Throws `unsupported` naming the type when neither a driver nor a fence agent matches. */
  resolve(target: BmcTarget): DriverResolution {
    const type = normalisePowerType(target.type);
    const registered = this.factories.get(type);
    if (registered) return registered;
    const agentName = type.startsWith('fence_') ? type : `fence_${type}`;
    const origin = { systemName: target.systemName, driver: agentName };
    if (!FENCE_AGENT_NAME.test(agentName)) {
      throw new BmcError('unsupported', origin, `power type ${JSON.stringify(target.type)} is not a driver name nor a fence agent name`);
    }
    const executable = this.findExecutable(agentName);
    if (!executable) {
      throw new BmcError(
        'unsupported',
        origin,
        `power type ${JSON.stringify(target.type)}: no driver of that name and no ${agentName} on PATH (known drivers: ${[...new Set([...this.factories.values()].map((entry) => entry.driver))].join(', ')}; fence agents come with the fence-agents package)`,
      );
    }
    return { driver: agentName, create: (fenceTarget) => createFenceAgentDriver(fenceTarget, agentName, executable), fenceAgent: { name: agentName, executable } };
  }

  createDriver(target: BmcTarget): BmcDriver {
    return this.resolve(target).create(target);
  }
}

export function createDefaultRegistry(findExecutable: ExecutableFinder = findExecutableOnPath): DriverRegistry {
  return new DriverRegistry(findExecutable)
    .register(['ipmi', 'ipmitool', 'ipmilanplus'], IPMITOOL_DRIVER, createIpmitoolDriver)
    .register(['redfish'], REDFISH_DRIVER, createRedfishDriver);
}
