// What monitoring sends us, as zod schemas, and the one shape every alert takes once received.
// Alertmanager's webhook payload version 4 (prometheus/alertmanager notify/webhook: Message{Data, Version,
// GroupKey, TruncatedAlerts}; template.Data: Receiver, Status, Alerts, GroupLabels, CommonLabels,
// CommonAnnotations, ExternalURL; template.Alert: Status, Labels, Annotations, StartsAt, EndsAt,
// GeneratorURL, Fingerprint), its API v2 alert list (GettableAlert, for the poller), and our generic JSON.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { ownRecord } from '../inventory/own-record.js';

const labelSet = ownRecord(z.string(), z.string());
const alertStatus = z.enum(['firing', 'resolved']);
/**
 * A time as Alertmanager sends it (Go's RFC 3339, nanoseconds at most: "2026-11-29T11:00:00.123456789Z", 35
 * characters). Bounded because startsAt is recorded and indexed with the fingerprint: a value of kilobytes
 * would make the database refuse the record, and a refused record is answered 503, which the sender retries.
 */
const alertTime = z.string().max(64, { message: 'an RFC 3339 time, as Alertmanager sends it: at most 64 characters' });

export const alertmanagerAlert = z.object({
  status: alertStatus,
  labels: labelSet,
  annotations: labelSet.default({}),
  startsAt: alertTime,
  endsAt: alertTime.default(''),
  generatorURL: z.string().default(''),
  fingerprint: z.string().min(1).max(128),
});

export const alertmanagerWebhook = z.object({
  version: z.literal('4', { message: 'only version "4" of the Alertmanager webhook payload is understood' }),
  groupKey: z.string(),
  truncatedAlerts: z.number().int().min(0).default(0),
  status: alertStatus,
  receiver: z.string(),
  groupLabels: labelSet.default({}),
  commonLabels: labelSet.default({}),
  commonAnnotations: labelSet.default({}),
  externalURL: z.string().default(''),
  alerts: z.array(alertmanagerAlert).max(10_000),
  /** Added by newer Alertmanager releases. */
  notification_reason: z.string().optional(),
});
export type AlertmanagerWebhook = z.infer<typeof alertmanagerWebhook>;

/** GET /api/v2/alerts: a GettableAlert, as much of it as we read. */
export const alertmanagerApiAlert = z.object({
  labels: labelSet,
  annotations: labelSet.default({}),
  startsAt: alertTime,
  endsAt: alertTime.default(''),
  fingerprint: z.string().min(1).max(128),
  status: z.object({ state: z.enum(['unprocessed', 'active', 'suppressed']) }),
});
export const alertmanagerApiAlerts = z.array(alertmanagerApiAlert);

export const genericAlert = z
  .strictObject({
    system: z.string().min(1).max(253).optional(),
    hostname: z.string().min(1).max(253).optional(),
    mac: z.string().min(1).max(64).optional(),
    ip: z.string().min(1).max(64).optional(),
    reason: z.string().min(1).max(1000),
    status: alertStatus.default('firing'),
    id: z.string().min(1).max(200).optional(),
  })
  .refine((alert) => alert.system ?? alert.hostname ?? alert.mac ?? alert.ip, { message: 'name the machine with system, hostname, mac or ip' });
export type GenericAlert = z.infer<typeof genericAlert>;

export type AlertReceiver = 'alertmanager' | 'generic' | 'poller';

/** An alert as every receiver hands it on. */
export interface ReceivedAlert {
  fingerprint: string;
  status: 'firing' | 'resolved';
  alertName: string | null;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string | null;
  /** In words, for the rescue's reason: "NodeDown: web01 is not answering". */
  summary: string;
}

function summaryOf(labels: Record<string, string>, annotations: Record<string, string>): string {
  const name = labels.alertname ?? 'alert';
  const text = annotations.summary ?? annotations.description ?? annotations.message;
  return (text ? `${name}: ${text}` : name).slice(0, 500);
}

export function fromAlertmanagerWebhook(payload: AlertmanagerWebhook): ReceivedAlert[] {
  return payload.alerts.map((alert) => ({
    fingerprint: alert.fingerprint,
    status: alert.status,
    alertName: alert.labels.alertname ?? null,
    labels: alert.labels,
    annotations: alert.annotations,
    startsAt: alert.startsAt,
    summary: summaryOf(alert.labels, alert.annotations),
  }));
}

export function fromAlertmanagerApi(alerts: z.infer<typeof alertmanagerApiAlerts>): ReceivedAlert[] {
  return alerts
    .filter((alert) => alert.status.state === 'active')
    .map((alert) => ({
      fingerprint: alert.fingerprint,
      status: 'firing' as const,
      alertName: alert.labels.alertname ?? null,
      labels: alert.labels,
      annotations: alert.annotations,
      startsAt: alert.startsAt,
      summary: summaryOf(alert.labels, alert.annotations),
    }));
}

/**
 * The fields of a generic alert that name its machine, in the order they are tried. Fixed: RESCUED_ALERT_LABELS
 * is about Prometheus labels, and these are the generic receiver's own fields.
 */
export const GENERIC_MACHINE_FIELDS = ['system', 'hostname', 'mac', 'ip'] as const;

export function fromGenericAlert(alert: GenericAlert): ReceivedAlert {
  const labels: Record<string, string> = {};
  for (const key of GENERIC_MACHINE_FIELDS) if (alert[key] !== undefined) labels[key] = alert[key]!;
  // Without an id, the machine is the alert: its resolution ("back up") seldom repeats the firing reason.
  const fingerprint = alert.id ?? `generic-${createHash('sha256').update(JSON.stringify(labels)).digest('hex').slice(0, 16)}`;
  return { fingerprint, status: alert.status, alertName: null, labels, annotations: { summary: alert.reason }, startsAt: null, summary: alert.reason.slice(0, 500) };
}
