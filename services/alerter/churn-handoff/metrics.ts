import { Counter, Gauge, type Registry } from 'prom-client';
import type { ChurnHandoffCounters } from './handler.js';

/** The churn hand-off's Prometheus metrics, beside the alerter's own webhook metrics. No customer ids in labels. */
export function createChurnHandoffMetrics(registry: Registry, queueDepth: () => number): ChurnHandoffCounters {
  const registers = [registry];
  const sent = new Counter({ name: 'alerter_churn_webhook_sent_total', help: 'Churn alerts the webhook acknowledged with 2xx', registers });
  const retried = new Counter({ name: 'alerter_churn_webhook_retried_total', help: 'Failed churn webhook attempts that were tried again', registers });
  const failed = new Counter({
    name: 'alerter_churn_webhook_failed_total',
    help: 'Churn alerts dead-lettered instead of delivered (gave-up: retries spent, rejected: 4xx, undecodable)',
    labelNames: ['reason'],
    registers,
  });
  new Gauge({
    name: 'alerter_churn_webhook_queue_depth',
    help: 'Churn webhook deliveries waiting or in flight',
    registers,
    collect() {
      this.set(queueDepth());
    },
  });
  return {
    sent: () => sent.inc(),
    retried: (n) => retried.inc(n),
    failed: (reason) => failed.inc({ reason }),
  };
}
