// What Alertmanager sends its webhook receivers (payload version 4, prometheus/alertmanager's
// notify/webhook), for one firing NodeDown alert about a machine.
export function alertmanagerDelivery(system: string, now = new Date()): Record<string, unknown> {
  const labels = { alertname: 'NodeDown', instance: `${system}:9100`, job: 'node', severity: 'critical' };
  return {
    version: '4',
    groupKey: `{}:{alertname="NodeDown"}`,
    truncatedAlerts: 0,
    status: 'firing',
    receiver: 'rescued',
    groupLabels: { alertname: 'NodeDown' },
    commonLabels: labels,
    commonAnnotations: { summary: `${system} stopped answering` },
    externalURL: 'http://127.0.0.1:9093',
    alerts: [
      {
        status: 'firing',
        labels,
        annotations: { summary: `${system} stopped answering` },
        startsAt: now.toISOString(),
        endsAt: '0001-01-01T00:00:00Z',
        generatorURL: 'http://127.0.0.1:9090/graph?g0.expr=up%3D%3D0',
        fingerprint: `demo${system}`.replace(/[^a-z0-9]/gi, ''),
      },
    ],
  };
}
