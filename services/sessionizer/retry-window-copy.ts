import type { LocalStateLog } from '../platform/streams/local-state-log.js';

/**
 * The router's retry window of one input partition (core/recent-messages.ts), mirrored in a local
 * state log so a restart does not read the last `capacity` touchpoints of the partition again
 * (200,000 per partition by default: seconds of fetching and decoding per partition).
 *
 * Entries: one per routed batch, key = the batch's first offset, value = its ids' hashes as
 * float64s; the log's offset is the input offset after the last batch. Batches that fell out of the
 * window are tombstoned, so the copy stays about `capacity` ids.
 *
 * Invariant: a copy is used only if it ends at or before where the partition resumes: an id of a
 * touchpoint that will be routed again must not count as seen, or it would be dropped.
 */
export class RetryWindowCopy {
  private frames: Array<{ key: string; count: number }> = [];
  private total = 0;

  constructor(
    private readonly log: LocalStateLog,
    private readonly capacity: number,
  ) {}

  /** The ids the copy holds (oldest first) and the input offset it ends at, or null when it cannot be used before `resumeAt`. */
  load(resumeAt: bigint): { hashes: number[]; end: bigint } | null {
    this.frames = [];
    this.total = 0;
    const loaded = this.log.load();
    if (!loaded) return null;
    if (loaded.nextOffset > resumeAt) {
      this.log.rewrite([], resumeAt); // ahead of where routing resumes: of no use
      return null;
    }
    const batches = [...loaded.entries].sort(([a], [b]) => (BigInt(a) < BigInt(b) ? -1 : 1));
    const hashes: number[] = [];
    for (const [key, value] of batches) {
      const count = value.length / 8;
      for (let i = 0; i < count; i++) hashes.push(value.readDoubleBE(i * 8));
      this.frames.push({ key, count });
      this.total += count;
    }
    return { hashes: hashes.slice(-this.capacity), end: loaded.nextOffset };
  }

  /** After a restore: the whole window as one batch ending at `resumeAt`. */
  reset(hashes: number[], resumeAt: bigint): void {
    const key = (resumeAt - 1n).toString();
    this.log.rewrite([[key, encodeHashes(hashes)]], resumeAt);
    this.frames = [{ key, count: hashes.length }];
    this.total = hashes.length;
  }

  /** A routed batch's ids, once its outputs and marker are durable. */
  append(firstOffset: bigint, hashes: number[], nextOffset: bigint): void {
    const tombstones: Array<{ key: string; value: null }> = [];
    while (this.frames.length > 0 && this.total + hashes.length > this.capacity) {
      const oldest = this.frames.shift()!;
      this.total -= oldest.count;
      tombstones.push({ key: oldest.key, value: null });
    }
    const key = firstOffset.toString();
    this.frames.push({ key, count: hashes.length });
    this.total += hashes.length;
    this.log.append([...tombstones, { key, value: encodeHashes(hashes) }], nextOffset);
  }

  close(): void {
    this.log.close();
  }
}

function encodeHashes(hashes: number[]): Buffer {
  const out = Buffer.allocUnsafe(hashes.length * 8);
  hashes.forEach((h, i) => out.writeDoubleBE(h, i * 8));
  return out;
}
