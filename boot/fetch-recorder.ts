// Records every boot file a machine fetched, attributed to a system: by the MAC in the request (per-MAC
// configs, iPXE URLs carry it), else by the client's IP in the inventory, else by the system that last
// fetched its per-MAC file from the same address (pxelinux fetching its kernel, or machines behind NAT).
import type { Inventory } from '../db/inventory.js';
import { isMac, normalizeMac } from '../inventory/mac.js';

const ATTRIBUTION_WINDOW_MS = 10 * 60 * 1000;
/** Addresses remembered for attribution: the least recently seen are forgotten first (anyone can send fetches). */
export const DEFAULT_REMEMBERED_ADDRESSES = 4096;

export interface FetchReport {
  protocol: 'tftp' | 'http';
  clientAddress: string;
  file: string;
  bytes: number;
  outcome: string;
  /** When the request itself names the machine. */
  mac?: string | undefined;
}

/** The MAC a boot file name carries: pxelinux.cfg/01-52-54-..., grub.cfg-01-52-54-... */
export function macInBootFileName(file: string): string | undefined {
  const match = /01-([0-9a-f]{2}(?:-[0-9a-f]{2}){5})(?:$|[^0-9a-f])/i.exec(file);
  return match && isMac(match[1]!) ? normalizeMac(match[1]!) : undefined;
}

export function createFetchRecorder(inventory: Inventory, now: () => number = Date.now, maxAddresses = DEFAULT_REMEMBERED_ADDRESSES) {
  // A Map iterates in insertion order: deleting before setting keeps the most recent last, so the first key
  // is the least recently seen one.
  const recentByAddress = new Map<string, { systemId: number; mac: string; at: number }>();
  const remember = (address: string, entry: { systemId: number; mac: string; at: number }) => {
    recentByAddress.delete(address);
    recentByAddress.set(address, entry);
    while (recentByAddress.size > maxAddresses) recentByAddress.delete(recentByAddress.keys().next().value!);
  };

  async function attribute(report: FetchReport): Promise<{ systemId: number | null; mac: string | null }> {
    const mac = report.mac !== undefined && isMac(report.mac) ? normalizeMac(report.mac) : macInBootFileName(report.file);
    if (mac !== undefined) {
      const systemId = await inventory.boot.systemIdByMac(mac);
      if (systemId !== undefined) remember(report.clientAddress, { systemId, mac, at: now() });
      return { systemId: systemId ?? null, mac };
    }
    const byIp = await inventory.boot.systemIdByIp(report.clientAddress);
    if (byIp !== undefined) return { systemId: byIp, mac: null };
    const recent = recentByAddress.get(report.clientAddress);
    if (recent !== undefined && now() - recent.at < ATTRIBUTION_WINDOW_MS) return { systemId: recent.systemId, mac: recent.mac };
    if (recent !== undefined) recentByAddress.delete(report.clientAddress);
    return { systemId: null, mac: null };
  }

  return {
    /** How many client addresses are remembered for attribution now (bounded by maxAddresses). */
    rememberedAddresses: () => recentByAddress.size,
    async record(report: FetchReport): Promise<void> {
      const { systemId, mac } = await attribute(report);
      await inventory.boot.recordFetch({ systemId, mac, clientAddress: report.clientAddress, protocol: report.protocol, file: report.file, bytes: report.bytes, outcome: report.outcome });
    },
  };
}

export type FetchRecorder = ReturnType<typeof createFetchRecorder>;
