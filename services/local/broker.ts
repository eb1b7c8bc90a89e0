import { execFileSync } from 'node:child_process';

/** Starts (or reuses) the local broker via infra/kafka/broker.sh and returns its address. */
export function ensureLocalBroker(dataDir: string, env: NodeJS.ProcessEnv): string[] {
  const out = execFileSync('bash', ['infra/kafka/broker.sh', 'up'], {
    encoding: 'utf8',
    env: { ...env, DATA_DIR: dataDir },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const brokers = /KAFKA_BROKERS=(\S+)/.exec(out)?.[1];
  if (!brokers) throw new Error('infra/kafka/broker.sh up did not print KAFKA_BROKERS');
  return brokers.split(',');
}
