// What keeps the tables that machines, rescues and monitoring write to from growing without bound: boot
// fetches, events and received alerts older than their retention, rescue handshakes (with their encrypted private keys) whose rescue
// never cleaned up, and install tokens long closed or expired. A retention of 0 keeps those rows forever.
import type { Inventory } from './inventory.js';

export interface RetentionPolicy {
  /** Boot fetches older than this are deleted (RESCUED_BOOT_FETCH_RETENTION_DAYS); 0: never. */
  bootFetchRetentionMs: number;
  /** Events older than this are deleted (RESCUED_EVENT_RETENTION_DAYS); 0: never. */
  eventRetentionMs: number;
  /**
   * Received alerts older than this are deleted (RESCUED_ALERT_RETENTION_DAYS); 0: never. The poller knows an
   * alert it already took in by its record: one still firing after this long is taken in once more.
   */
  alertRetentionMs: number;
}

/** Closed or expired install tokens are of no use to anyone after this. */
const INSTALL_TOKEN_AFTERLIFE_MS = 24 * 3600_000;

export interface PruneReport {
  bootFetches: number;
  events: number;
  alerts: number;
  handshakes: number;
  installTokens: number;
}

export async function pruneExpiredRecords(inventory: Inventory, policy: RetentionPolicy, now: number = Date.now()): Promise<PruneReport> {
  return {
    bootFetches: policy.bootFetchRetentionMs > 0 ? await inventory.boot.pruneFetches(new Date(now - policy.bootFetchRetentionMs)) : 0,
    events: policy.eventRetentionMs > 0 ? await inventory.events.prune(new Date(now - policy.eventRetentionMs)) : 0,
    alerts: policy.alertRetentionMs > 0 ? await inventory.alerts.prune(new Date(now - policy.alertRetentionMs)) : 0,
    // A handshake past its expiry can no longer be used; its rescue's cleanup should have deleted it.
    handshakes: await inventory.rescues.pruneHandshakes(new Date(now)),
    installTokens: await inventory.installTokens.prune(new Date(now - INSTALL_TOKEN_AFTERLIFE_MS)),
  };
}
