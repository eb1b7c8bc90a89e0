import { MAX_REQUEST_BYTES, recordBytes, type OutgoingRecord, type RecordProducer } from './producer.js';

/** Starts a one-shot timer; returns its cancel. Injected so tests drive time by hand. */
export type StartTimer = (fire: () => void, ms: number) => () => void;

export interface LingeringProducerOptions {
  /**
   * How long the first send of a batch waits for company before the batch goes (Kafka's
   * linger.ms). 0 still gathers the sends of one event-loop turn.
   */
  lingerMs: number;
  /**
   * A batch goes at once when the waiting records reach this many bytes (recordBytes), without
   * waiting out the linger. Default MAX_REQUEST_BYTES, so one batch is one produce request.
   */
  maxBatchBytes?: number;
  startTimer?: StartTimer;
}

export interface BatchingStats {
  /** Sends handed in (calls of `send` with records). */
  sends: number;
  /** Batches handed to the wrapped producer: sends / flushes is how many callers share a produce. */
  flushes: number;
  records: number;
}

const realTimer: StartTimer = (fire, ms) => {
  const timer = setTimeout(fire, ms);
  return () => clearTimeout(timer);
};

interface Waiting {
  records: OutgoingRecord[];
  bytes: number;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * Gathers the sends of many concurrent callers into one send of the wrapped producer, as Kafka's
 * Java producer does with linger.ms and batch.size. kafkajs' idempotent producer holds a lock per
 * broker for a whole produce round trip, so callers that each send and wait get about one request
 * in flight between them; gathered, one round trip carries all of their records.
 *
 * - A batch goes when the linger since its first send has passed, or at once when its records
 *   reach `maxBatchBytes`.
 * - One batch is in flight at a time; sends that arrive meanwhile wait (and gather) for the next.
 *   Batches go in the order their sends arrived, and a send's records stay together and in their
 *   order, so per-key order is what it would be with the callers sending one after another.
 * - A batch takes whole sends, oldest first, up to `maxBatchBytes` (a single larger send goes
 *   alone and the wrapped producer splits it into requests).
 * - `send` resolves only when the wrapped producer acknowledged the batch holding its records, and
 *   rejects with that batch's error if it failed: a failed batch fails every caller in it, also
 *   callers whose records were fine, and a batch the wrapped producer split into several requests
 *   may have been partly written when it fails (the callers' retries repeat those records).
 *
 * Not for stateful steps that need one send = one atomic append (changelog and applied-offset
 * marker together, a transfer with its records): how sends map to produce requests is not part of
 * this contract, a send's outcome depends on other callers' records, and every send waits out the
 * linger. It suits independent callers that each only need "the broker has my records", such as
 * the collector's HTTP requests.
 */
export function createLingeringProducer(
  producer: RecordProducer,
  options: LingeringProducerOptions,
): RecordProducer & { batching(): BatchingStats } {
  const maxBatchBytes = options.maxBatchBytes ?? MAX_REQUEST_BYTES;
  const startTimer = options.startTimer ?? realTimer;
  const waiting: Waiting[] = [];
  let waitingBytes = 0;
  /** The waiting sends may go: the linger has passed or they reached the byte budget. */
  let due = false;
  let cancelTimer: (() => void) | null = null;
  let flushing = false;
  const stats: BatchingStats = { sends: 0, flushes: 0, records: 0 };

  function pump(): void {
    if (flushing || !due || waiting.length === 0) return;
    const batch: Waiting[] = [];
    let bytes = 0;
    while (waiting.length > 0 && (batch.length === 0 || bytes + waiting[0]!.bytes <= maxBatchBytes)) {
      const next = waiting.shift()!;
      batch.push(next);
      bytes += next.bytes;
    }
    waitingBytes -= bytes;
    // Sends left behind (over the budget) were due already: they go right after this batch.
    due = waiting.length > 0;
    if (cancelTimer !== null) {
      cancelTimer();
      cancelTimer = null;
    }
    flushing = true;
    stats.flushes++;
    void flush(batch).finally(() => {
      flushing = false;
      pump();
    });
  }

  async function flush(batch: Waiting[]): Promise<void> {
    const records = batch.length === 1 ? batch[0]!.records : batch.flatMap((w) => w.records);
    stats.records += records.length;
    try {
      await producer.send(records);
    } catch (error) {
      for (const w of batch) w.reject(error);
      return;
    }
    for (const w of batch) w.resolve();
  }

  return {
    send(records) {
      if (records.length === 0) return Promise.resolve();
      stats.sends++;
      let bytes = 0;
      for (const r of records) bytes += recordBytes(r);
      const sent = new Promise<void>((resolve, reject) => waiting.push({ records, bytes, resolve, reject }));
      waitingBytes += bytes;
      if (waitingBytes >= maxBatchBytes) due = true;
      else if (!due && cancelTimer === null) {
        cancelTimer = startTimer(() => {
          cancelTimer = null;
          due = true;
          pump();
        }, options.lingerMs);
      }
      pump();
      return sent;
    },
    batching: () => ({ ...stats }),
  };
}
