import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, commonEnv, parseEnv } from '../config/env.js';
import { defaultGroupTiming, groupTiming } from './group-timing.js';

const Env = z.object(commonEnv);

describe('groupTiming', () => {
  it('defaults to fast recovery: a crashed member is dropped after 6 s', () => {
    expect(groupTiming(parseEnv(Env, {}))).toEqual(defaultGroupTiming);
    expect(defaultGroupTiming.sessionTimeoutMs).toBe(6_000);
  });

  it('takes the three settings from the environment', () => {
    const env = { KAFKA_SESSION_TIMEOUT_MS: '30000', KAFKA_HEARTBEAT_INTERVAL_MS: '3000', KAFKA_REBALANCE_TIMEOUT_MS: '60000' };
    expect(groupTiming(parseEnv(Env, env))).toEqual({ sessionTimeoutMs: 30_000, heartbeatIntervalMs: 3_000, rebalanceTimeoutMs: 60_000 });
  });

  it('refuses heartbeats that do not fit three times into a session, naming the variable', () => {
    const config = parseEnv(Env, { KAFKA_SESSION_TIMEOUT_MS: '6000', KAFKA_HEARTBEAT_INTERVAL_MS: '2500' });
    expect(() => groupTiming(config)).toThrow(ConfigError);
    expect(() => groupTiming(config)).toThrow(/KAFKA_HEARTBEAT_INTERVAL_MS/);
  });

  it('refuses a session timeout below one second', () => {
    expect(() => parseEnv(Env, { KAFKA_SESSION_TIMEOUT_MS: '500' })).toThrow(/KAFKA_SESSION_TIMEOUT_MS/);
  });
});
