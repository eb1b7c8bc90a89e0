import { defineConfig } from 'vitest/config';

// Two projects: `unit` (pure logic, no I/O, beside the code as *.test.ts) and `integration`
// (real Kafka broker + real ClickHouse engine, tests/**/*.integration.test.ts). The integration
// project's global setup decides where Kafka and ClickHouse come from (tests/support/global-setup.ts).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['services/**/*.test.ts', 'schemas/**/*.test.ts', 'tests/unit/**/*.test.ts'],
          exclude: ['**/*.integration.test.ts', 'node_modules/**'],
          testTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['tests/**/*.integration.test.ts'],
          globalSetup: ['tests/support/global-setup.ts'],
          testTimeout: 180_000,
          hookTimeout: 180_000,
          // One process owns an embedded ClickHouse data dir, and the broker is shared: run files one at a time.
          pool: 'forks',
          poolOptions: { forks: { singleFork: true } },
        },
      },
    ],
  },
});
