import { MAX_REQUEST_BYTES, recordBytes, type OutgoingRecord, type RecordProducer } from '../platform/kafka/producer.js';

/** How far one input partition's routing has come, and what becomes durable with it. */
export interface RoutedPoint {
  partition: number;
  /** The newest input offset handled (routed or dropped). */
  last: bigint;
  /** The partition's event-time watermark up to `last`, or null before its first touchpoint. */
  watermark: number | null;
  /** The first input offset routed since the partition's previous point. */
  first: bigint;
  /** The partition's RecentMessages position at `last`: the ids before it become durable. */
  seenThrough: number;
}

/** Link entries (id → parent) that routing wrote, and their size in an append (at most, as recordBytes counts). */
export interface LinkEntries {
  entries: Map<string, string>;
  bytes: number;
}

/** One link entry's bytes in an append, at most: recordBytes with the value's UTF-8 bounded by 3 bytes a code unit. */
export const linkEntryBytes = (id: string, parent: string): number => 3 * (id.length + parent.length) + 64;
/** A marker's bytes in an append, at most (key `@router-applied:<p>`, value `<offset>@<ms>`). */
const MARKER_BYTES = 256;

/** Work queued by one call: a round takes whole units, in order, so a point always goes with its links. */
interface Unit {
  records: OutgoingRecord[];
  recordBytes: number;
  links: LinkEntries;
  point: RoutedPoint | null;
  /** Its place in the queue's order (see `flushed`). */
  seq: number;
}

export interface RouterPipelineDeps {
  /** Where routed records go (identified-touchpoints, dead letters). */
  outputs: RecordProducer;
  /** Where links and markers go: one send is one atomic append to the identity table's partition. */
  table: RecordProducer;
  /** The append of one round: link entries (id → parent), then each point's applied-offset marker. */
  appendOf(links: Map<string, string>, points: RoutedPoint[]): OutgoingRecord[];
  /** A round's points are durable (outputs acknowledged, then links and markers). */
  onDurable(points: RoutedPoint[]): void;
  /**
   * A round failed: every point queued or in flight is dropped with its links (their partitions
   * must route again from their last durable point; the router keeps each decision's links for
   * that replay, so they go with the partition's own marker again, never with another's).
   */
  onFailed(error: unknown): void;
}

/**
 * The router's path to durability, pipelined: routing does not wait for the broker. Each round
 * takes what is queued since the previous one, sends the routed records and, once they are
 * acknowledged, the link entries with every partition's applied-offset marker in one append. One
 * round is in flight at a time; what is routed meanwhile waits for the next, so at low rates a
 * round is one batch (two round trips, as before) and at high rates one round carries many.
 *
 * Invariants, per input partition, as with one batch per round: a marker is written only after
 * the outputs of every offset up to it are acknowledged, and in the same append as the links their
 * routing decided (never links of offsets past it, nor of a partition it does not mark); rounds go
 * in order and a failed round stops everything queued behind it, so the outputs that reach the
 * broker are always a prefix of the routing order. An append stays one request (MAX_REQUEST_BYTES):
 * a round takes whole units only while their links and markers fit, the rest waits for the next.
 */
export function createRouterPipeline(deps: RouterPipelineDeps) {
  let queue: Unit[] = [];
  let outputBytes = 0;
  let enqueued = 0;
  /** Every unit up to this seq has been through a round (durable, or dropped by a failure). */
  let done = 0;
  let waiters: Array<{ target: number; resolve: () => void }> = [];
  let running = false;

  const release = () => {
    const ready = waiters.filter((w) => w.target <= done);
    waiters = waiters.filter((w) => w.target > done);
    for (const w of ready) w.resolve();
  };

  /** The units of the next round: at least one, then as many as the append has room for. */
  const take = (): Unit[] => {
    const partitions = new Set<number>();
    let bytes = 0;
    let count = 0;
    for (const unit of queue) {
      const fresh = unit.point !== null && !partitions.has(unit.point.partition);
      const extra = unit.links.bytes + (fresh ? MARKER_BYTES : 0);
      if (count > 0 && bytes + extra > MAX_REQUEST_BYTES) break;
      bytes += extra;
      if (unit.point) partitions.add(unit.point.partition);
      count++;
    }
    const taken = queue.slice(0, count);
    queue = queue.slice(count);
    for (const unit of taken) outputBytes -= unit.recordBytes;
    return taken;
  };

  const round = async (): Promise<void> => {
    const units = take();
    const out: OutgoingRecord[] = [];
    const links = new Map<string, string>();
    const points = new Map<number, RoutedPoint>();
    for (const unit of units) {
      for (const r of unit.records) out.push(r);
      for (const [id, parent] of unit.links.entries) links.set(id, parent);
      if (unit.point) {
        const before = points.get(unit.point.partition);
        points.set(unit.point.partition, before ? { ...unit.point, first: before.first } : unit.point);
      }
    }
    const roundPoints = [...points.values()];
    try {
      if (out.length > 0) await deps.outputs.send(out);
      // Links come only with a point (a routed touchpoint); a unit without one (an idle tick's watermarks) has none.
      if (roundPoints.length > 0) await deps.table.send(deps.appendOf(links, roundPoints));
      deps.onDurable(roundPoints);
      done = units.at(-1)!.seq;
    } catch (error) {
      queue = [];
      outputBytes = 0;
      deps.onFailed(error);
      done = enqueued;
    }
    release();
  };

  const kick = () => {
    if (running) return;
    running = true;
    void (async () => {
      await null; // what the caller queues in the same turn goes in this round
      while (queue.length > 0) await round();
      running = false;
    })();
  };

  return {
    /**
     * Queues routed records, the link entries their routing wrote and, unless null, the
     * partition's new point (a round merges it with an earlier point of the same partition).
     */
    enqueue(records: OutgoingRecord[], links: LinkEntries, point: RoutedPoint | null): void {
      if (records.length === 0 && links.entries.size === 0 && point === null) return;
      let bytes = 0;
      for (const r of records) bytes += recordBytes(r);
      outputBytes += bytes;
      queue.push({ records, recordBytes: bytes, links, point, seq: ++enqueued });
      kick();
    },
    /** Resolves once what is queued now has been through a round (durable, or failed: see onFailed). */
    flushed(): Promise<void> {
      const target = enqueued;
      if (done >= target) return Promise.resolve();
      return new Promise<void>((resolve) => waiters.push({ target, resolve }));
    },
    /** Bytes of routed records waiting for a round (the router waits for one above its bound). */
    queuedBytes: () => outputBytes,
  };
}
