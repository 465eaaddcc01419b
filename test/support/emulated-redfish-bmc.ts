// A SIMULATED machine's BMC that costs next to nothing: the Redfish emulator (lab/bmc/mini-redfish.ts, generic
// DMTF personality) in this process, one per machine on its own port as real BMCs have their own addresses,
// reached by rescued's real Redfish driver (power type "redfish"). Its resets become the chassis events a
// simulated machine (test/support/simulated-machine.ts) watches, with the boot override in force at that
// moment; a one-time ("Once") override is consumed by the boot it applied to, as a BMC does (DSP2046,
// BootSourceOverrideEnabled). For benches at hundreds of machines, where an ipmi_sim per machine (and a node
// process per chassis command) would measure the BMC simulator rather than rescued.
import { randomBytes } from 'node:crypto';
import { startMiniRedfish, type EmulatedSystem, type MiniRedfishBmc } from '../../lab/bmc/mini-redfish.js';
import { GENERIC } from '../../lab/bmc/redfish/personalities.js';
import type { ChassisEvent } from '../../lab/bmc/ipmi-sim.js';
import type { ChassisEventSource } from './simulated-machine.js';

export interface EmulatedRedfishBmc extends ChassisEventSource {
  url: string;
  username: string;
  password: string;
  /** The Id of its one system under /redfish/v1/Systems. */
  systemId: string;
  emulator: MiniRedfishBmc;
  stop(): Promise<void>;
}

/** What each ResetType does to a running machine (the restarts do nothing to one that is off). */
const ACTIONS: Record<string, { action: ChassisEvent['action']; needsPower: boolean }> = {
  On: { action: 'power-on', needsPower: false },
  ForceOn: { action: 'power-on', needsPower: false },
  ForceOff: { action: 'power-off', needsPower: false },
  GracefulShutdown: { action: 'power-off', needsPower: false },
  ForceRestart: { action: 'reset', needsPower: true },
  GracefulRestart: { action: 'reset', needsPower: true },
  PowerCycle: { action: 'reset', needsPower: true },
};

/** A Redfish BMC whose one system (powered on) is `systemId`. */
export async function startEmulatedRedfishBmc(systemId: string): Promise<EmulatedRedfishBmc> {
  const username = 'admin';
  const password = randomBytes(8).toString('hex');
  const events: ChassisEvent[] = [];
  const onReset = (system: EmulatedSystem, resetType: string): void => {
    const effect = ACTIONS[resetType];
    if (effect === undefined || (effect.needsPower && system.power !== 'On')) return;
    if (effect.action === 'power-on' && system.power === 'On') return;
    if (effect.action === 'power-off') {
      if (system.power === 'On') events.push({ at: new Date().toISOString(), action: 'power-off' });
      return;
    }
    const override = system.boot.enabled !== 'Disabled' ? system.boot.target : 'None';
    if (system.boot.enabled === 'Once') system.boot.enabled = 'Disabled';
    events.push({ at: new Date().toISOString(), action: effect.action, bootDevice: override === 'Pxe' ? 'pxe' : override === 'Hdd' ? 'disk' : 'default' });
  };
  const seed = { id: systemId, uuid: randomBytes(16).toString('hex').replace(/^(.{8})(.{4})(.{4})(.{4})/, '$1-$2-$3-$4-'), serial: systemId, macs: [] };
  const emulator = await startMiniRedfish({ username, password, personality: { ...GENERIC, systems: [seed] }, onReset });
  emulator.power = 'On';
  return {
    url: emulator.url,
    username,
    password,
    systemId,
    emulator,
    readEvents: () => events,
    stop: () => emulator.stop(),
  };
}
