import { ConfigError } from '../config/env.js';

/**
 * How a consumer keeps its place in its group and how it fetches.
 *
 * Group timing: the session timeout is the recovery time after a crash (a kill -9 sends no
 * LeaveGroup: the coordinator waits this long before it hands the dead member's partitions to the
 * others or to its restarted self); a stopping member leaves at once. Too short, and a member whose
 * event loop is blocked longer than this (a huge synchronous batch, a GC pause on a starved
 * machine) is dropped and rebalances; the consumer heartbeats on a timer while a batch or a
 * restore runs, so only a blocked event loop counts.
 *
 * Fetching: the broker answers a fetch once it has `fetchMinBytes` for this consumer or after
 * `fetchMaxWaitMs`. Every batch costs produce round trips and a commit, whatever its size, so a
 * consumer that is keeping up should take a few milliseconds' worth of records at a time rather
 * than each record alone; the wait is the latency this adds per hop when traffic is light.
 */
export interface ConsumerTuning {
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  rebalanceTimeoutMs: number;
  fetchMinBytes: number;
  fetchMaxWaitMs: number;
  /** Static membership (static-membership.ts): a restarted instance takes its place back at once. */
  groupInstanceId?: string;
}

export const defaultConsumerTuning: ConsumerTuning = {
  sessionTimeoutMs: 6_000,
  heartbeatIntervalMs: 500,
  rebalanceTimeoutMs: 30_000,
  fetchMinBytes: 64 * 1024,
  fetchMaxWaitMs: 50,
};

/** The tuning from a parsed config (commonEnv); heartbeats must fit three times into a session. */
export function consumerTuning(config: {
  KAFKA_SESSION_TIMEOUT_MS: number;
  KAFKA_HEARTBEAT_INTERVAL_MS: number;
  KAFKA_REBALANCE_TIMEOUT_MS: number;
  KAFKA_FETCH_MIN_BYTES: number;
  KAFKA_FETCH_MAX_WAIT_MS: number;
  KAFKA_GROUP_INSTANCE_ID?: string;
}): ConsumerTuning {
  if (config.KAFKA_HEARTBEAT_INTERVAL_MS * 3 > config.KAFKA_SESSION_TIMEOUT_MS) {
    throw new ConfigError([
      `KAFKA_HEARTBEAT_INTERVAL_MS: must be at most a third of KAFKA_SESSION_TIMEOUT_MS (${config.KAFKA_SESSION_TIMEOUT_MS}) (got ${config.KAFKA_HEARTBEAT_INTERVAL_MS})`,
    ]);
  }
  return {
    sessionTimeoutMs: config.KAFKA_SESSION_TIMEOUT_MS,
    heartbeatIntervalMs: config.KAFKA_HEARTBEAT_INTERVAL_MS,
    rebalanceTimeoutMs: config.KAFKA_REBALANCE_TIMEOUT_MS,
    fetchMinBytes: config.KAFKA_FETCH_MIN_BYTES,
    fetchMaxWaitMs: config.KAFKA_FETCH_MAX_WAIT_MS,
    groupInstanceId: config.KAFKA_GROUP_INSTANCE_ID,
  };
}
