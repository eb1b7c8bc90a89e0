import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A broker of the fault run's own (its port, a fresh data directory), started with infra/kafka's
 * script. Hard restarts then hit only this run, and the broker's restart time reflects this run's
 * partitions, not every topic earlier test runs left on the shared development broker.
 */
export interface DedicatedBroker {
  brokers: string;
  /** SIGKILL, then start again and wait until it serves (a hard broker crash and restart). */
  hardRestart(): void;
  /** Kill it and delete its data. */
  destroy(): void;
}

export function startDedicatedBroker(port: number): DedicatedBroker {
  const dataDir = mkdtempSync(join(tmpdir(), `journey-broker-${port}-`));
  // Log recovery after an unclean shutdown takes longer than a clean start: wait up to 5 minutes.
  const env = { ...process.env, KAFKA_PORT: String(port), DATA_DIR: dataDir, KAFKA_WAIT_SECONDS: '300' };
  const run = (command: string) => execFileSync('bash', ['infra/kafka/broker.sh', command], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  run('up');
  return {
    brokers: `127.0.0.1:${port}`,
    hardRestart() {
      run('kill');
      run('up');
    },
    destroy() {
      run('kill');
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
