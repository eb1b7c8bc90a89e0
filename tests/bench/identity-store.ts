import { execFileSync } from 'node:child_process';

/**
 * `state.identity`: the identity graph of `links` identity-links entries in each store
 * (SESSIONIZER_IDENTITY_STORE), each in a process of its own (identity-store-child.ts): heap, RSS
 * (anonymous and file-backed), entries applied per second as the table's reader applies them,
 * lookups per second, and a restart (lmdb: the store reopened; memory: every entry applied again,
 * without reading them, so a lower bound).
 */
export function runIdentityStoreBench(links: number, log: (line: string) => void): unknown {
  const run = (mode: 'memory' | 'lmdb') => {
    const out = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', 'tests/bench/identity-store-child.ts', mode, String(links)], { encoding: 'utf8', maxBuffer: 1 << 20 });
    const result = JSON.parse(out.trim().split('\n').at(-1)!) as Record<string, unknown>;
    log(`state.identity: ${JSON.stringify(result)}`);
    return result;
  };
  return { links, memory: run('memory'), lmdb: run('lmdb') };
}
