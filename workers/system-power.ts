// The power service over this process's inventory: BMC targets from the systems table, records to events,
// rescues' power cycles to the guard's count.
import type { Inventory } from '../db/inventory.js';
import { createSystemPower, type SystemPower } from '../power/system-power.js';
import type { PowerClientOptions } from '../power/chain.js';
import type { PowerTarget } from '../db/repositories/systems.js';
import type { BmcTarget } from '../power/types.js';
import { consoleLog } from '../observability/console.js';
import { databaseErrorMessage } from '../db/errors.js';

export function createInventorySystemPower(inventory: Inventory, clientOptions?: Omit<PowerClientOptions, 'signal'>): SystemPower {
  return createSystemPower({
    loadTargets: async (systemName) => {
      const targets = await inventory.systems.powerTargets(systemName);
      // The machine's MACs pick its system on a BMC that serves several (blades, multi-node chassis).
      const macs = targets.length === 0 ? [] : (await inventory.systems.get(systemName)).interfaces.map((nic) => nic.mac);
      return targets.map((target) => bmcTargetOf(target, { macs }));
    },
    recordEvent: (event) => inventory.events.record({ kind: event.kind, objectType: 'system', objectName: event.systemName, actor: 'power', detail: event.detail }),
    // What the database said, not drizzle's "Failed query: <statement> params: ...".
    countPowerCycle: (cycle) => inventory.guard.countPowerCycle(cycle).catch((error: unknown) => Promise.reject(new Error(databaseErrorMessage(error)))),
    warn: (line) => consoleLog().warn(`power: ${line}`),
    ...(clientOptions ? { clientOptions } : {}),
  });
}

/** An inventory power setting as the drivers take it; `identity` picks the machine's system on a shared BMC. */
export function bmcTargetOf(target: PowerTarget, identity?: BmcTarget['identity']): BmcTarget {
  return {
    systemName: target.systemName,
    ...(identity ? { identity } : {}),
    type: target.type,
    address: target.address,
    options: target.options,
    ...(target.port !== undefined ? { port: target.port } : {}),
    ...(target.username !== undefined ? { username: target.username } : {}),
    ...(target.password !== undefined ? { password: target.password } : {}),
  };
}
