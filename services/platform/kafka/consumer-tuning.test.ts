import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, commonEnv, parseEnv } from '../config/env.js';
import { defaultConsumerTuning, consumerTuning } from './consumer-tuning.js';

const Env = z.object(commonEnv);

describe('consumerTuning', () => {
  it('defaults to fast recovery: a crashed member is dropped after 6 s', () => {
    expect(consumerTuning(parseEnv(Env, {}))).toEqual(defaultConsumerTuning);
    expect(defaultConsumerTuning.sessionTimeoutMs).toBe(6_000);
  });

  it('takes the group timing from the environment', () => {
    const env = { KAFKA_SESSION_TIMEOUT_MS: '30000', KAFKA_HEARTBEAT_INTERVAL_MS: '3000', KAFKA_REBALANCE_TIMEOUT_MS: '60000' };
    expect(consumerTuning(parseEnv(Env, env))).toMatchObject({ sessionTimeoutMs: 30_000, heartbeatIntervalMs: 3_000, rebalanceTimeoutMs: 60_000 });
  });

  it('refuses heartbeats that do not fit three times into a session, naming the variable', () => {
    const config = parseEnv(Env, { KAFKA_SESSION_TIMEOUT_MS: '6000', KAFKA_HEARTBEAT_INTERVAL_MS: '2500' });
    expect(() => consumerTuning(config)).toThrow(ConfigError);
    expect(() => consumerTuning(config)).toThrow(/KAFKA_HEARTBEAT_INTERVAL_MS/);
  });

  it('takes fetch sizes from the environment', () => {
    const env = { KAFKA_FETCH_MIN_BYTES: '1', KAFKA_FETCH_MAX_WAIT_MS: '10' };
    expect(consumerTuning(parseEnv(Env, env))).toMatchObject({ fetchMinBytes: 1, fetchMaxWaitMs: 10 });
  });

  it('refuses a session timeout below one second', () => {
    expect(() => parseEnv(Env, { KAFKA_SESSION_TIMEOUT_MS: '500' })).toThrow(/KAFKA_SESSION_TIMEOUT_MS/);
  });
});
