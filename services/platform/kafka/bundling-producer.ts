import { partitionOfKey } from './partition-of-key.js';
import type { OutgoingRecord, RecordProducer } from './producer.js';
import { bundleHeaders, encodeBundle, memberBytes, type BundleMember } from './record-bundle.js';

export interface BundlingProducerOptions {
  /** Topics whose records travel in bundles (never a compacted topic: see record-bundle.ts). */
  bundled: ReadonlySet<string>;
  /** A bundled topic's partition count, to place keyed records as the producer's partitioner would. */
  partitionsOf(topic: string): Promise<number>;
  /**
   * A bundle is cut at this many bytes of members (default 256 KiB): a consumer's fetch of one
   * partition (1 MiB by default) then holds several, and one member larger than this goes alone.
   */
  maxBundleBytes?: number;
}

export interface BundlingStats {
  /** Records handed in for bundled topics, and the bundles they went in. */
  members: number;
  bundles: number;
}

const DEFAULT_MAX_BUNDLE_BYTES = 256 * 1024;

/**
 * Wraps a producer: each send's records for a bundled topic are grouped by partition (explicit, or
 * the key's partition by the partitioner kafkajs would use) and go as bundles, one Kafka record per
 * partition per send (more when over `maxBundleBytes`), members in the order they were given.
 * Records for other topics, records with headers and keyless records without a partition pass
 * through unchanged. What a send resolves or rejects with is the wrapped producer's.
 */
export function createBundlingProducer(inner: RecordProducer, options: BundlingProducerOptions): RecordProducer & { bundling(): BundlingStats } {
  const maxBundleBytes = options.maxBundleBytes ?? DEFAULT_MAX_BUNDLE_BYTES;
  const stats: BundlingStats = { members: 0, bundles: 0 };

  const bundlable = (r: OutgoingRecord) => options.bundled.has(r.topic) && r.headers === undefined && (r.partition !== undefined || r.key !== null);

  return {
    async send(records) {
      let counts: Map<string, number> | undefined;
      for (const r of records) {
        if (!bundlable(r) || r.partition !== undefined || counts?.has(r.topic)) continue;
        counts ??= new Map();
        counts.set(r.topic, await options.partitionsOf(r.topic));
      }
      const out: OutgoingRecord[] = [];
      /** Per `topic` → partition: members waiting, and their bytes. */
      const groups = new Map<string, Map<number, { members: BundleMember[]; bytes: number }>>();
      const cut = (topic: string, partition: number, members: BundleMember[]) => {
        out.push({ topic, partition, key: null, value: encodeBundle(members), headers: bundleHeaders() });
        stats.bundles++;
      };
      for (const r of records) {
        if (!bundlable(r)) {
          out.push(r);
          continue;
        }
        const partition = r.partition ?? partitionOfKey(r.topic, r.key!, counts!.get(r.topic)!);
        let byPartition = groups.get(r.topic);
        if (!byPartition) groups.set(r.topic, (byPartition = new Map()));
        let group = byPartition.get(partition);
        if (!group) byPartition.set(partition, (group = { members: [], bytes: 0 }));
        const member = { key: r.key, value: r.value };
        const bytes = memberBytes(member);
        if (group.members.length > 0 && group.bytes + bytes > maxBundleBytes) {
          cut(r.topic, partition, group.members);
          group.members = [];
          group.bytes = 0;
        }
        group.members.push(member);
        group.bytes += bytes;
        stats.members++;
      }
      for (const [topic, byPartition] of groups) for (const [partition, group] of byPartition) if (group.members.length > 0) cut(topic, partition, group.members);
      return inner.send(out);
    },
    bundling: () => ({ ...stats }),
  };
}
