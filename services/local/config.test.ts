import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { AlerterEnv } from '../alerter/config.js';
import { CollectorEnv } from '../collector/config.js';
import { parseEnv } from '../platform/config/env.js';
import { QueryApiEnv } from '../query-api/config.js';
import { SessionizerEnv } from '../sessionizer/config.js';
import { SimulatorEnv } from '../simulator/config.js';
import { WriterEnv } from '../writer/config.js';
import { LocalEnv } from './config.js';

const SERVICES: Record<string, z.ZodObject> = {
  collector: CollectorEnv,
  sessionizer: SessionizerEnv,
  writer: WriterEnv,
  'query-api': QueryApiEnv,
  alerter: AlerterEnv,
  simulator: SimulatorEnv,
};

/**
 * Where `npm start` differs from a service alone, on purpose: it starts its own broker when none is
 * given, its demo traffic is the simulator with journeys compressed in time, and the demo shows
 * attribution (off by default for the sessionizer alone, for its cost).
 */
const LOCAL_DEFAULTS = { KAFKA_BROKERS: undefined, SIMULATOR_CONFIG_FILE: 'services/local/demo-simulator.yaml', ATTRIBUTION_ENABLED: true };

/** One setting per service, each off its default. */
const SET: NodeJS.ProcessEnv = {
  COLLECTOR_MAX_IN_FLIGHT_EVENTS: '150',
  COLLECTOR_SEND_TIMEOUT_MS: '2500',
  COLLECTOR_SOURCES_FILE: 'elsewhere/sources.yaml',
  SESSION_GAP_MINUTES: '45',
  WRITER_FLUSH_INTERVAL_MS: '60000',
  QUERY_API_CORS_ORIGINS: 'https://a.example,https://b.example',
  ALERTER_LATENESS_MS: '1000',
  SIMULATOR_RATE: '17',
  KAFKA_SESSION_TIMEOUT_MS: '9000',
};

describe('npm start reads every service setting as that service does alone', () => {
  for (const [service, schema] of Object.entries(SERVICES)) {
    it(`${service}: every setting has the service's own default`, () => {
      const local = parseEnv(LocalEnv, {}) as Record<string, unknown>;
      const alone = parseEnv(schema, {}) as Record<string, unknown>;
      const expected = Object.fromEntries(Object.keys(schema.shape).map((k) => [k, k in LOCAL_DEFAULTS ? LOCAL_DEFAULTS[k as keyof typeof LOCAL_DEFAULTS] : alone[k]]));
      expect(Object.fromEntries(Object.keys(schema.shape).map((k) => [k, local[k]]))).toEqual(expected);
    });

    it(`${service}: a variable set for npm start means what it means to the service alone`, () => {
      const local = parseEnv(LocalEnv, SET) as Record<string, unknown>;
      const alone = parseEnv(schema, SET) as Record<string, unknown>;
      for (const k of Object.keys(schema.shape)) if (k in SET) expect([k, local[k]]).toEqual([k, alone[k]]);
    });
  }

  it('names a bad service setting given to npm start, as the service would', () => {
    expect(() => parseEnv(LocalEnv, { WRITER_FLUSH_INTERVAL_MS: 'soon' })).toThrow(/WRITER_FLUSH_INTERVAL_MS: expected an integer/);
    expect(() => parseEnv(LocalEnv, { KAFKA_BROKERS: 'not a broker list' })).toThrow(/KAFKA_BROKERS: expected a comma-separated list of host:port/);
  });

  it('leaves KAFKA_BROKERS unset when not given (npm start then starts the local broker)', () => {
    expect(parseEnv(LocalEnv, {}).KAFKA_BROKERS).toBeUndefined();
    expect(parseEnv(LocalEnv, { KAFKA_BROKERS: '127.0.0.1:1,127.0.0.1:2' }).KAFKA_BROKERS).toEqual(['127.0.0.1:1', '127.0.0.1:2']);
  });
});
