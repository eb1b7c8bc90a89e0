import { Histogram, type Registry } from 'prom-client';

export type QueryTimer = (endpoint: string) => (outcome: 'ok' | 'error') => void;

const NAME = 'query_api_clickhouse_query_duration_seconds';

/** ClickHouse query duration by endpoint and outcome, registered once per registry. */
export function createQueryTimer(registry: Registry): QueryTimer {
  const histogram =
    (registry.getSingleMetric(NAME) as Histogram<'endpoint' | 'outcome'> | undefined) ??
    new Histogram({
      name: NAME,
      help: 'Duration of the ClickHouse queries behind each query-api endpoint',
      labelNames: ['endpoint', 'outcome'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    });
  return (endpoint) => {
    const end = histogram.startTimer({ endpoint });
    return (outcome) => void end({ outcome });
  };
}
