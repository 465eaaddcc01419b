// The rescue environment's phone-home, as the server receives it. Its token is public on the provisioning
// network (it is in the iPXE script), so the token alone proves little: the first valid call wins and every
// later one is refused and recorded; the MAC must be the one the token is bound to; and the call must come
// from the address the rescue is known to boot from, where one is known:
//   1. label rescued.phone-home-from on the system: an address, or "any" (NAT in front of the server);
//   2. else the inventory IP of the interface the token is bound to (the DHCP reservation);
//   3. else the first address that fetched this rescue's iPXE script (HTTP), noted on the handshake.
// Without any of them the call is accepted from anywhere (once).
import { isIP } from 'node:net';
import type { Inventory } from '../db/inventory.js';
import type { HandshakeRecord } from '../db/repositories/rescues.js';
import { InventoryError } from '../inventory/errors.js';
import type { PhoneHome } from '../workflows/rescue-types.js';
import { hostKeyFingerprint } from './handshake.js';

/** System label that says where the phone-home comes from: an IP address, or "any" to accept any source. */
export const PHONE_HOME_SOURCE_LABEL = 'rescued.phone-home-from';

export interface PhoneHomeCall {
  /** The token in the URL path. */
  token: string;
  /** The token in the body, if the environment sent one there too. */
  bodyToken?: string | undefined;
  mac: string;
  /** The address the rescue environment reports (where SSH goes). */
  ip: string;
  sshHostKey: string;
  sshPort: number;
  /** The TCP source address of the call, as the server saw it. */
  source: string;
}

export class PhoneHomeRefusedError extends Error {
  override readonly name = 'PhoneHomeRefusedError';
  constructor(
    /** 403: this caller may not phone home with this token; 409: the token was already used. */
    readonly status: 403 | 409,
    message: string,
  ) {
    super(message);
  }
}

/** `::ffff:10.0.0.5` and `10.0.0.5` are the same IPv4 source. */
export function normalizeAddress(address: string): string {
  const trimmed = address.trim().toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(trimmed);
  return mapped ? mapped[1]! : trimmed;
}

export interface ExpectedSource {
  address: string;
  /** Why this address, for the refusal message. */
  why: string;
}

export function createPhoneHomeReceiver(dependencies: { inventory: Inventory; signal: (workflowId: string, call: PhoneHome) => Promise<void>; now?: () => number }) {
  const { inventory, signal } = dependencies;
  const now = dependencies.now ?? Date.now;

  async function expectedSource(handshake: HandshakeRecord): Promise<ExpectedSource | undefined> {
    let system;
    try {
      system = await inventory.systems.get(handshake.system);
    } catch (error) {
      if (error instanceof InventoryError && error.kind === 'not-found') return undefined;
      throw error;
    }
    const label = system.labels[PHONE_HOME_SOURCE_LABEL];
    if (label !== undefined && label.trim().toLowerCase() === 'any') return undefined;
    if (label !== undefined && isIP(label.trim()) !== 0) return { address: normalizeAddress(label), why: `label ${PHONE_HOME_SOURCE_LABEL} of ${system.name} says` };
    const nic = system.interfaces.find((n) => n.mac === handshake.mac);
    if (nic?.ip) return { address: normalizeAddress(nic.ip), why: `the inventory IP of ${system.name}'s interface ${nic.name}` };
    if (handshake.bootScriptFetchedFrom !== null) return { address: normalizeAddress(handshake.bootScriptFetchedFrom), why: `the address that fetched ${system.name}'s rescue boot script` };
    return undefined;
  }

  async function refuse(handshake: HandshakeRecord, call: PhoneHomeCall, status: 403 | 409, reason: string): Promise<never> {
    await inventory.events.record({
      kind: 'rescue.phone-home-refused',
      objectType: 'system',
      objectName: handshake.system,
      actor: `machine ${normalizeAddress(call.source)}`,
      detail: { reason, source: normalizeAddress(call.source), ip: call.ip, mac: call.mac, hostKey: hostKeyFingerprint(call.sshHostKey), workflowId: handshake.workflowId },
    });
    throw new PhoneHomeRefusedError(status, `phone-home refused: ${reason}`);
  }

  return {
    /** Accepts the first valid phone-home of a rescue and signals its workflow; refuses (and records) every other. */
    async receive(call: PhoneHomeCall): Promise<{ system: string }> {
      const handshake = await inventory.rescues.handshakeForToken(call.token);
      if (handshake === undefined) throw new PhoneHomeRefusedError(403, 'phone-home refused: unknown token (no rescue waits for it: it never existed or its rescue has ended)');
      const source = normalizeAddress(call.source);
      if (call.bodyToken !== undefined && call.bodyToken !== call.token) return refuse(handshake, call, 403, 'the token in the body differs from the one in the URL');
      if (handshake.phonedHomeAt !== null) {
        return refuse(handshake, call, 409, `this rescue's token was already used at ${handshake.phonedHomeAt.toISOString()} from ${handshake.phoneHomeSource ?? 'an unknown address'}; a phone-home is accepted once`);
      }
      if (handshake.expiresAt.getTime() <= now()) return refuse(handshake, call, 403, `token expired at ${handshake.expiresAt.toISOString()}`);
      if (call.mac !== handshake.mac) return refuse(handshake, call, 403, `token is bound to another MAC (got ${call.mac})`);
      const expected = await expectedSource(handshake);
      if (expected !== undefined && expected.address !== source) {
        return refuse(handshake, call, 403, `the call came from ${source}, but ${expected.why} ${expected.address} (label ${PHONE_HOME_SOURCE_LABEL}=ADDRESS|any changes this)`);
      }
      const phonedHome = { ip: call.ip, hostKey: call.sshHostKey.trim(), sshPort: call.sshPort, source };
      if (!(await inventory.rescues.claimPhoneHome(handshake.id, phonedHome))) {
        return refuse(handshake, call, 409, "this rescue's token was used by another call a moment ago; a phone-home is accepted once");
      }
      const fingerprint = hostKeyFingerprint(phonedHome.hostKey);
      try {
        await signal(handshake.workflowId, { handshakeId: handshake.id, ip: call.ip, sshPort: call.sshPort, hostKeyFingerprint: fingerprint });
      } catch (error) {
        // Not delivered: the environment's retry must be able to succeed.
        await inventory.rescues.releasePhoneHome(handshake.id, phonedHome);
        throw error;
      }
      await inventory.events.record({ kind: 'rescue.phoned-home', objectType: 'system', objectName: handshake.system, actor: 'machine', detail: { ip: call.ip, source, hostKey: fingerprint } });
      return { system: handshake.system };
    },
  };
}

export type PhoneHomeReceiver = ReturnType<typeof createPhoneHomeReceiver>;
