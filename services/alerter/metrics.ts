import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** The alerter's Prometheus metrics. Labels carry monitor ids (a handful), never sites or customers. */
export function createAlerterMetrics(registry: Registry, webhookQueueDepth: () => number) {
  const registers = [registry];
  return {
    alerts: new Counter({ name: 'alerter_alerts_total', help: 'Alerts published, by monitor and status (firing, resolved)', labelNames: ['monitor', 'status'], registers }),
    suppressed: new Counter({
      name: 'alerter_alerts_suppressed_total',
      help: 'Firing alerts held back (not published, not paged) because a site-wide alert covering them was firing, by monitor',
      labelNames: ['monitor'],
      registers,
    }),
    verdicts: new Counter({
      name: 'alerter_verdicts_total',
      help: 'Site-wide verdicts per evaluated window (normal, anomalous, insufficient, warmingUp, duplicate)',
      labelNames: ['monitor', 'verdict'],
      registers,
    }),
    windows: new Counter({ name: 'alerter_windows_evaluated_total', help: 'Monitor windows evaluated (all sites of a monitor count once)', labelNames: ['monitor'], registers }),
    skipped: new Counter({ name: 'alerter_windows_skipped_total', help: 'Closed windows never evaluated because they were older than the catch-up horizon', labelNames: ['monitor'], registers }),
    roundSeconds: new Histogram({
      name: 'alerter_evaluation_duration_seconds',
      help: 'Duration of an evaluation round (queries, detector, publishing, snapshot)',
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    }),
    roundFailures: new Counter({ name: 'alerter_evaluation_failures_total', help: 'Evaluation rounds that failed (retried next round)', registers }),
    snapshotFailures: new Counter({ name: 'alerter_snapshot_failures_total', help: 'State snapshots that could not be written to the changelog', registers }),
    lagSeconds: new Gauge({ name: 'alerter_evaluation_lag_seconds', help: 'now minus the end of the newest evaluated window', registers }),
    webhookDelivered: new Counter({ name: 'alerter_webhook_delivered_total', help: 'Webhook deliveries acknowledged with 2xx', registers }),
    webhookFailures: new Counter({ name: 'alerter_webhook_failures_total', help: 'Failed webhook attempts (each retry counts)', registers }),
    webhookDropped: new Counter({
      name: 'alerter_webhook_dropped_total',
      help: 'Webhook deliveries abandoned (overflow, gave-up, rejected, shutdown); the alert is still on the topic and in ClickHouse',
      labelNames: ['reason'],
      registers,
    }),
    webhookQueue: new Gauge({
      name: 'alerter_webhook_queue_depth',
      help: 'Webhook deliveries waiting or in flight',
      registers,
      collect() {
        this.set(webhookQueueDepth());
      },
    }),
  };
}
export type AlerterMetrics = ReturnType<typeof createAlerterMetrics>;
