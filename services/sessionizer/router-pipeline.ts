import { recordBytes, type OutgoingRecord, type RecordProducer } from '../platform/kafka/producer.js';

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
   * A round failed: every point queued or in flight is dropped (their partitions must route again
   * from their last durable point). Their link entries stay in memory and go first in the next
   * round's append (see `carried`).
   */
  onFailed(error: unknown): void;
}

/**
 * The router's path to durability, pipelined: routing does not wait for the broker. Each round
 * takes everything queued since the previous one, sends the routed records and, once they are
 * acknowledged, the link entries with every partition's applied-offset marker in one append. One
 * round is in flight at a time; what is routed meanwhile waits for the next, so at low rates a
 * round is one batch (two round trips, as before) and at high rates one round carries many.
 *
 * Invariants, per input partition, as with one batch per round: a marker is written only after
 * the outputs of every offset up to it are acknowledged, and in the same append as the links their
 * routing decided; rounds go in order and a failed round stops everything queued behind it, so the
 * outputs that reach the broker are always a prefix of the routing order.
 */
export function createRouterPipeline(deps: RouterPipelineDeps) {
  let outputs: OutgoingRecord[] = [];
  let outputBytes = 0;
  let links = new Map<string, string>();
  let points = new Map<number, RoutedPoint>();
  /**
   * Link entries of failed rounds. The in-memory graph holds them, so routing again would not find
   * them new; they go first in the next append (a later value of the same id wins).
   */
  let carried = new Map<string, string>();
  let running = false;
  /** Resolves when the round that takes what is queued now has ended (either way). */
  let next: { promise: Promise<void>; resolve: () => void } | null = null;
  let current: Promise<void> | null = null;

  const hasQueued = () => outputs.length > 0 || points.size > 0;

  const round = async (): Promise<void> => {
    const out = outputs;
    const roundLinks = links;
    const roundPoints = [...points.values()];
    const done = next;
    outputs = [];
    outputBytes = 0;
    links = new Map();
    points = new Map();
    next = null;
    try {
      if (out.length > 0) await deps.outputs.send(out);
      if (roundPoints.length > 0) {
        const append = new Map([...carried, ...roundLinks]);
        await deps.table.send(deps.appendOf(append, roundPoints));
        carried = new Map();
      } else for (const [id, parent] of roundLinks) carried.set(id, parent);
      deps.onDurable(roundPoints);
    } catch (error) {
      carried = new Map([...carried, ...roundLinks, ...links]);
      outputs = [];
      outputBytes = 0;
      links = new Map();
      points = new Map();
      // Set by `flushed` while the round was in flight (the narrowing above does not see that).
      const queued = next as { resolve: () => void } | null;
      next = null;
      deps.onFailed(error);
      queued?.resolve();
    } finally {
      done?.resolve();
    }
  };

  const kick = () => {
    if (running) return;
    running = true;
    void (async () => {
      await null; // what the caller queues in the same turn goes in this round
      while (hasQueued()) {
        current = round();
        await current;
      }
      current = null;
      running = false;
    })();
  };

  return {
    /**
     * Queues routed records, the link entries their routing wrote and, unless null, the
     * partition's new point (merged with a point of the same partition still queued).
     */
    enqueue(records: OutgoingRecord[], linkEntries: Map<string, string>, point: RoutedPoint | null): void {
      for (const r of records) {
        outputs.push(r);
        outputBytes += recordBytes(r);
      }
      for (const [id, parent] of linkEntries) links.set(id, parent);
      if (point) {
        const queued = points.get(point.partition);
        points.set(point.partition, queued ? { ...point, first: queued.first } : point);
      }
      if (hasQueued()) kick();
    },
    /** Resolves once what is queued now has been through a round (durable, or failed: see onFailed). */
    flushed(): Promise<void> {
      if (hasQueued()) {
        if (!next) {
          let resolve!: () => void;
          const promise = new Promise<void>((r) => (resolve = r));
          next = { promise, resolve };
        }
        return next.promise;
      }
      return current ?? Promise.resolve();
    },
    /** Bytes of routed records waiting for a round (the router waits for one above its bound). */
    queuedBytes: () => outputBytes,
  };
}
