import { Counter, Histogram, type Registry } from 'prom-client';
import type { RejectReason } from './errors.js';

export interface CollectorMetrics {
  accepted: Counter<'source'>;
  rejected: Counter<'source' | 'reason'>;
  requestDuration: Histogram<'route' | 'status_code'>;
  sinkDuration: Histogram<'outcome'>;
}

/** Label for requests refused before a write key resolved; never the raw key (unbounded, and a secret). */
export const UNKNOWN_SOURCE = 'unknown';

/**
 * The collector's metrics on the injected registry. Re-uses metrics already registered there, so
 * several apps (tests, benches) can share one registry.
 */
export function collectorMetrics(registry: Registry): CollectorMetrics {
  return {
    accepted: counter(registry, 'collector_events_accepted_total', 'Events written to the sink as touchpoints.', ['source']),
    rejected: counter(
      registry,
      'collector_events_rejected_total',
      'Events refused, by reason. Request-level refusals (auth, rate limit, unparsable body) count one per request.',
      ['source', 'reason'],
    ),
    requestDuration: histogram(registry, 'collector_request_duration_seconds', 'HTTP request duration.', ['route', 'status_code'], [
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
    ]),
    sinkDuration: histogram(registry, 'collector_sink_duration_seconds', 'Time for sink.send to resolve or fail.', ['outcome'], [
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
    ]),
  };
}

export function countRejected(metrics: CollectorMetrics, source: string, reason: RejectReason, count = 1): void {
  if (count > 0) metrics.rejected.inc({ source, reason }, count);
}

function counter<L extends string>(registry: Registry, name: string, help: string, labelNames: L[]): Counter<L> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Counter<L>;
  return new Counter({ name, help, labelNames, registers: [registry] });
}

function histogram<L extends string>(registry: Registry, name: string, help: string, labelNames: L[], buckets: number[]): Histogram<L> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Histogram<L>;
  return new Histogram({ name, help, labelNames, buckets, registers: [registry] });
}
