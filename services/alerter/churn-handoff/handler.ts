import type { KafkaMessage } from 'kafkajs';
import type { ChurnScore } from '../../../schemas/journey.js';
import type { Codec } from '../../../schemas/codec.js';
import type { CommitPoint, PartitionHandler } from '../../platform/kafka/consumer.js';
import type { OutgoingRecord } from '../../platform/kafka/producer.js';
import type { Logger } from '../../platform/logging/logger.js';
import { deadLetterRecord } from '../../platform/pipeline/dead-letter.js';
import { createWebhookQueue, type DropReason, type WebhookDelivery, type WebhookQueueOptions } from '../webhook-queue.js';
import { churnHandoffBody, churnIdempotencyKey } from './body.js';
import { createDeliveryLedger, type DeliveryLedger } from './delivery-ledger.js';

export interface ChurnHandoffCounters {
  sent(): void;
  /** Failed attempts that were followed by another attempt. */
  retried(n: number): void;
  /** Records dead-lettered instead of delivered: gave-up (retries spent), rejected (4xx), undecodable. */
  failed(reason: 'gave-up' | 'rejected' | 'undecodable'): void;
}

/** The webhook queue's settings; `maxQueue`: a full queue holds the consumer back (nothing is dropped). */
export interface ChurnHandoffHandlerOptions extends Pick<WebhookQueueOptions, 'post' | 'maxQueue' | 'maxAttempts' | 'baseDelayMs' | 'maxDelayMs' | 'timeoutMs' | 'sleep' | 'random'> {
  readonly codec: Codec<ChurnScore>;
  readonly now: () => number;
  readonly deadLetterTopic: string;
  /** Sends dead-letter records; resolves once they are on the topic. */
  readonly sendDeadLetters: (records: OutgoingRecord[]) => Promise<void>;
  readonly counters: ChurnHandoffCounters;
  readonly logger: Logger;
}

export interface ChurnHandoffHandler extends PartitionHandler {
  /** Deliveries waiting or in flight. */
  backlog(): number;
  /** True while a batch waits for room in the full queue (backpressure, not a hung consumer). */
  waitingForRoom(): boolean;
  /** Resolves when nothing is queued, in flight or being dead-lettered (tests). */
  idle(): Promise<void>;
  /** Gives queued deliveries one last attempt within `graceMs`; what is left stays uncommitted. */
  stopDelivering(graceMs: number): Promise<void>;
}

/** Where a delivery came from: settled in the ledger of the partition as it was when read. */
interface Origin {
  readonly ledger: DeliveryLedger;
  readonly topic: string;
  readonly message: KafkaMessage;
  failures: number;
}

/**
 * The churn hand-off's partition handler: every `churn-alerts` record becomes one webhook
 * delivery, in partition order (records are keyed by customer, so each customer's alerts arrive in
 * order). The handler never waits for a delivery, only for room in the bounded queue: a full queue
 * holds back this consumer alone, and nothing is dropped.
 *
 * At-least-once: the offset committed for a partition never passes a record that was neither
 * delivered (2xx) nor dead-lettered (retries spent, or refused with a 4xx); a restart, a crash or
 * a rebalance delivers the records after it again, and the receiver drops repeats by
 * `idempotencyKey`.
 */
export function createChurnHandoffHandler(options: ChurnHandoffHandlerOptions): ChurnHandoffHandler {
  const { codec, maxQueue, now, counters, logger } = options;
  const ledgers = new Map<string, DeliveryLedger>();
  const origins = new Map<WebhookDelivery, Origin>();
  const deadLettering = new Set<Promise<void>>();
  /** Woken whenever a delivery leaves the queue: a batch waiting for room looks again. */
  let wakers: Array<() => void> = [];
  let waitingBatches = 0;
  const wake = () => {
    const woken = wakers;
    wakers = [];
    for (const w of woken) w();
  };
  const leftQueue = () => new Promise<void>((resolve) => wakers.push(resolve));

  const deadLetter = (origin: { ledger: DeliveryLedger; topic: string; message: KafkaMessage }, reason: string) => {
    const sent = options
      .sendDeadLetters([deadLetterRecord(options.deadLetterTopic, { topic: origin.topic, stage: 'churn-handoff', message: origin.message }, reason, now())])
      .then(
        () => origin.ledger.settle(origin.message.offset),
        // Left unsettled: the commit point stops here and a restart reads the record again.
        (err: unknown) => logger.error({ err, offset: origin.message.offset }, 'dead-letter send failed; the record stays uncommitted'),
      )
      .finally(() => {
        deadLettering.delete(sent);
        wake();
      });
    deadLettering.add(sent);
  };

  const queue = createWebhookQueue({
    post: options.post,
    // The queue counts a delivery as in flight until its loop moves on, a moment after its hook
    // ran: one more than the gate below lets through, so the queue never drops for overflow.
    maxQueue: maxQueue + 1,
    maxAttempts: options.maxAttempts,
    baseDelayMs: options.baseDelayMs,
    maxDelayMs: options.maxDelayMs,
    timeoutMs: options.timeoutMs,
    sleep: options.sleep,
    random: options.random,
    logger,
    hooks: {
      delivered(delivery) {
        const origin = origins.get(delivery);
        origins.delete(delivery);
        if (!origin) return;
        counters.sent();
        if (origin.failures > 0) counters.retried(origin.failures);
        origin.ledger.settle(origin.message.offset);
        wake();
      },
      failed(delivery) {
        const origin = origins.get(delivery);
        if (origin) origin.failures++;
      },
      dropped(delivery, reason: DropReason) {
        const origin = origins.get(delivery);
        origins.delete(delivery);
        if (!origin) return;
        if (origin.failures > 1) counters.retried(origin.failures - 1);
        if (reason === 'gave-up' || reason === 'rejected') {
          counters.failed(reason);
          deadLetter(origin, `churn webhook ${reason === 'gave-up' ? `gave up after ${origin.failures} attempts` : 'rejected the body (4xx)'}`);
        } else {
          // 'shutdown' (or an overflow, which the room check rules out): not settled, read again after a restart.
          wake();
        }
      },
    },
  });

  const ledgerOf = (topic: string, partition: number): DeliveryLedger => {
    const k = `${topic}:${partition}`;
    let ledger = ledgers.get(k);
    if (!ledger) {
      ledger = createDeliveryLedger();
      ledgers.set(k, ledger);
    }
    return ledger;
  };
  const pointOf = (ledger: DeliveryLedger | undefined): CommitPoint | null => {
    const offset = ledger?.advance() ?? null;
    return offset === null ? null : { offset };
  };

  return {
    async onAssigned(tp) {
      // A fresh ledger: deliveries still queued from an earlier assignment settle in their own.
      ledgers.set(`${tp.topic}:${tp.partition}`, createDeliveryLedger());
    },
    async onRevoked(tp) {
      ledgers.delete(`${tp.topic}:${tp.partition}`);
    },
    async handleBatch(batch, control) {
      const ledger = ledgerOf(batch.topic, batch.partition);
      for (const message of batch.messages) {
        if (!ledger.track(message.offset)) continue;
        const origin = { ledger, topic: batch.topic, message, failures: 0 };
        let score: ChurnScore;
        try {
          if (!message.value) throw new Error('empty value');
          score = codec.decode(message.value);
        } catch (error) {
          counters.failed('undecodable');
          deadLetter(origin, `undecodable churn alert: ${error instanceof Error ? error.message : String(error)}`);
          continue;
        }
        // Backpressure: wait for room, committing what settles meanwhile so progress shows.
        // `origins` holds exactly the deliveries not yet delivered or dropped (this is the queue's only producer).
        while (origins.size >= maxQueue) {
          waitingBatches++;
          try {
            await leftQueue();
          } finally {
            waitingBatches--;
          }
          const point = pointOf(ledger);
          if (point) await control.progress(point);
        }
        const delivery: WebhookDelivery = { id: churnIdempotencyKey(score), body: JSON.stringify(churnHandoffBody(score)) };
        origins.set(delivery, origin);
        queue.enqueue(delivery);
      }
      return pointOf(ledger);
    },
    async onIdle(tp) {
      return pointOf(ledgers.get(`${tp.topic}:${tp.partition}`));
    },
    backlog: () => origins.size,
    waitingForRoom: () => waitingBatches > 0,
    async idle() {
      for (;;) {
        await queue.idle();
        if (deadLettering.size === 0) return;
        await Promise.all([...deadLettering]);
      }
    },
    async stopDelivering(graceMs) {
      await queue.stop(graceMs);
      await Promise.all([...deadLettering]);
    },
  };
}
