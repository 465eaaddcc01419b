// The poller: every RESCUED_ALERTMANAGER_POLL seconds it asks Alertmanager's API v2 for the alerts that are
// active, not silenced and not inhibited (with the configured filter matchers), and hands those it has not
// received yet (by fingerprint and start time, whatever was decided for them) to the same intake as the
// webhooks. So a lost webhook, or a group cut short by max_alerts (truncatedAlerts), is caught up.
import { alertReceiptKey, type AlertRepository } from '../db/repositories/alerts.js';
import type { AlertIntake, AlertOutcome } from './alert-intake.js';
import { alertmanagerApiAlerts, fromAlertmanagerApi } from './alert-payloads.js';
import { urlHasCredentials } from './alertmanager-settings.js';
import { withoutUrlCredentials } from '../secrets/redact.js';

export interface PollerOptions {
  /** Alertmanager's base URL, without credentials (fetch refuses a URL that holds them). */
  url: string;
  /** The pause between the end of one poll and the start of the next. */
  intervalMs: number;
  /** Alertmanager matchers, e.g. severity="critical", each sent as a filter parameter. */
  filter: string[];
  intake: AlertIntake;
  alerts: AlertRepository;
  log?: (line: string) => void;
  timeoutMs?: number;
}

export class AlertmanagerPollError extends Error {
  override readonly name = 'AlertmanagerPollError';
}

export function alertmanagerAlertsUrl(base: string, filter: string[]): string {
  if (urlHasCredentials(base)) {
    throw new AlertmanagerPollError(`the Alertmanager URL ${withoutUrlCredentials(base)} holds credentials (user:password@), which fetch refuses: give the URL without them`);
  }
  const url = new URL(`${base.replace(/\/+$/, '')}/api/v2/alerts`);
  url.searchParams.set('active', 'true');
  url.searchParams.set('silenced', 'false');
  url.searchParams.set('inhibited', 'false');
  for (const matcher of filter) url.searchParams.append('filter', matcher);
  return url.toString();
}

/** One poll: the new alerts' outcomes. Throws AlertmanagerPollError when Alertmanager cannot be read. */
export async function pollAlertmanagerOnce(options: PollerOptions): Promise<AlertOutcome[]> {
  const shown = withoutUrlCredentials(options.url);
  const url = alertmanagerAlertsUrl(options.url, options.filter);
  let body: unknown;
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(options.timeoutMs ?? 10_000), headers: { accept: 'application/json' } });
    if (!response.ok) throw new AlertmanagerPollError(`Alertmanager at ${shown} answered ${response.status}: ${withoutUrlCredentials((await response.text()).slice(0, 200))}`);
    body = await response.json();
  } catch (error) {
    if (error instanceof AlertmanagerPollError) throw error;
    throw new AlertmanagerPollError(`cannot read alerts from Alertmanager at ${shown}: ${withoutUrlCredentials((error as Error).message)}`);
  }
  const parsed = alertmanagerApiAlerts.safeParse(body);
  if (!parsed.success) throw new AlertmanagerPollError(`Alertmanager at ${shown} sent alerts we cannot read: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  const active = fromAlertmanagerApi(parsed.data);
  const seen = await options.alerts.alreadyReceived(active.map((a) => ({ fingerprint: a.fingerprint, startsAt: a.startsAt })));
  const fresh = active.filter((a) => !seen.has(alertReceiptKey(a.fingerprint, a.startsAt)));
  if (fresh.length === 0) return [];
  return options.intake.receive({ receiver: 'poller', deliveredBy: shown, alerts: fresh });
}

/**
 * Polls until stopped; a failed poll is logged and the next one tries again. One poll at a time: the next
 * starts intervalMs after the previous one ended (two polls at once would both hand on an alert neither has
 * recorded yet). The stopper waits for the poll in flight.
 */
export function startAlertmanagerPoller(options: PollerOptions): () => Promise<void> {
  const log = (line: string) => options.log?.(withoutUrlCredentials(line));
  const shown = withoutUrlCredentials(options.url);
  let running: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const poll = () => {
    timer = undefined;
    running = pollAlertmanagerOnce(options)
      .then(
        (outcomes) => {
          if (outcomes.length > 0) log(`poller: ${outcomes.length} alert(s) from ${shown} not received by webhook: ${outcomes.map((o) => `${o.system ?? '?'} ${o.decision}`).join(', ')}`);
        },
        (error: Error) => log(`poller: ${error.message}`),
      )
      .finally(() => {
        if (!stopped) timer = setTimeout(poll, options.intervalMs);
      });
  };
  poll();
  return async () => {
    stopped = true;
    if (timer !== undefined) clearTimeout(timer);
    await running;
  };
}
