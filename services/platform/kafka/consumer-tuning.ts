import { ConfigError } from '../config/env.js';

/**
 * How a consumer-group member keeps its place. The session timeout is the recovery time after a
 * crash (a kill -9 sends no LeaveGroup: the coordinator waits this long before it hands the dead
 * member's partitions to the others or to its restarted self); a stopping member leaves at once.
 * Too short, and a member whose event loop is blocked longer than this (a huge synchronous batch,
 * a GC pause on a starved machine) is dropped and rebalances; the consumer heartbeats on a timer
 * while a batch or a restore runs, so only a blocked event loop counts.
 */
export interface GroupTiming {
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  rebalanceTimeoutMs: number;
}

export const defaultGroupTiming: GroupTiming = { sessionTimeoutMs: 6_000, heartbeatIntervalMs: 500, rebalanceTimeoutMs: 30_000 };

/** The timing from a parsed config (commonEnv); heartbeats must fit three times into a session. */
export function groupTiming(config: { KAFKA_SESSION_TIMEOUT_MS: number; KAFKA_HEARTBEAT_INTERVAL_MS: number; KAFKA_REBALANCE_TIMEOUT_MS: number }): GroupTiming {
  if (config.KAFKA_HEARTBEAT_INTERVAL_MS * 3 > config.KAFKA_SESSION_TIMEOUT_MS) {
    throw new ConfigError([
      `KAFKA_HEARTBEAT_INTERVAL_MS: must be at most a third of KAFKA_SESSION_TIMEOUT_MS (${config.KAFKA_SESSION_TIMEOUT_MS}) (got ${config.KAFKA_HEARTBEAT_INTERVAL_MS})`,
    ]);
  }
  return {
    sessionTimeoutMs: config.KAFKA_SESSION_TIMEOUT_MS,
    heartbeatIntervalMs: config.KAFKA_HEARTBEAT_INTERVAL_MS,
    rebalanceTimeoutMs: config.KAFKA_REBALANCE_TIMEOUT_MS,
  };
}
