import type { Kafka } from 'kafkajs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createKafkaProducer } from '../../services/platform/kafka/producer.js';
import { createPartitionedConsumer, type PartitionHandler } from '../../services/platform/kafka/consumer.js';
import { ensureTopics } from '../../services/platform/kafka/admin.js';
import type { Health } from '../../services/platform/runtime/component.js';
import { uniqueGroupId, uniquePrefix } from '../support/kafka.js';
import { eventually } from '../support/eventually.js';
import { testKafka, testLogger } from '../support/pipeline.js';

const STUCK_AFTER_MS = 1_500;

interface Gate {
  wait: Promise<void>;
  open(): void;
}
const gate = (): Gate => {
  let open = () => {};
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { wait, open };
};

describe('consumer liveness: health() tells a stuck consumer from a working one', () => {
  let kafka: Kafka;
  const producer = () => createKafkaProducer(kafka, { name: 'liveness' });
  const cleanups: Array<() => Promise<void>> = [];

  beforeAll(() => {
    kafka = testKafka('liveness');
  });
  afterEach(async () => {
    while (cleanups.length > 0) await cleanups.pop()!();
  });
  afterAll(async () => {
    while (cleanups.length > 0) await cleanups.pop()!();
  });

  async function setup(partitions: number, handler: PartitionHandler) {
    const topic = `${uniquePrefix()}liveness`;
    // The broker is shared with other test runs and may be restarting: retry like a deployment would.
    await eventually(async () => ensureTopics(kafka, [{ topic, partitions }]).then(() => true, () => false), (ok) => ok, 60_000, 1_000);
    const out = producer();
    await out.start();
    cleanups.push(() => out.stop());
    const consumer = createPartitionedConsumer(
      kafka,
      handler,
      { name: 'liveness', groupId: uniqueGroupId('liveness'), topics: [topic], stuckAfterMs: STUCK_AFTER_MS, tuning: { sessionTimeoutMs: 60_000 } },
      testLogger('liveness'),
    );
    await consumer.start();
    cleanups.push(() => consumer.stop());
    const send = (values: string[], partition = 0) =>
      out.send(values.map((value) => ({ topic, key: value, value: Buffer.from(value), partition })));
    return { consumer, send };
  }

  const next = (offset: string) => ({ offset: String(Number(offset) + 1) });

  it('reports a consumer whose handler never returns, while messages wait, as unhealthy and stuck', async () => {
    const release = gate();
    const handled: string[] = [];
    const { consumer, send } = await setup(1, {
      async handleBatch(batch) {
        for (const m of batch.messages) {
          // A handler that hangs on one record (a dead downstream, a lost promise): nothing after it moves.
          if (m.value?.toString() === 'hang') await release.wait;
          handled.push(m.value!.toString());
        }
        return next(batch.messages.at(-1)!.offset);
      },
    });
    cleanups.push(async () => release.open()); // runs before consumer.stop(), which waits for the batch

    // First it works and is healthy: lag 0 after a batch.
    await send(['a', 'b', 'c']);
    await eventually(async () => handled.length, (n) => n === 3, 30_000);
    const working = await eventually(async () => consumer.health(), (h) => h.details?.lag === 0, 10_000);
    expect(working.ok).toBe(true);

    // Then it hangs, and more arrives behind the hung record.
    await send(['hang', 'd', 'e', 'f']);
    const stuck: Health = await eventually(async () => consumer.health(), (h) => !h.ok, 30_000, 100);
    expect(stuck.ok).toBe(false);
    expect(stuck.details).toMatchObject({ stuck: true, running: true });
    expect(Number(stuck.details?.lag)).toBeGreaterThan(0);
    expect(consumer.lag()).toBeGreaterThan(0);
    expect(handled).toEqual(['a', 'b', 'c']);

    // Released, it catches up and is healthy again.
    release.open();
    await eventually(async () => handled.length, (n) => n === 7, 30_000);
    const recovered = await eventually(async () => consumer.health(), (h) => h.ok && h.details?.lag === 0, 30_000);
    expect(recovered.details).toMatchObject({ stuck: false });
  });

  it('reports a consumer stuck on its very first batch as unhealthy', async () => {
    const release = gate();
    const { consumer, send } = await setup(1, {
      async handleBatch(batch) {
        await release.wait;
        return next(batch.messages.at(-1)!.offset);
      },
    });
    cleanups.push(async () => release.open());
    await send(['x', 'y']);
    const stuck = await eventually(async () => consumer.health(), (h) => !h.ok, 30_000, 100);
    expect(stuck.details).toMatchObject({ stuck: true });
    expect(Number(stuck.details?.lag)).toBeGreaterThan(0);
  });

  it('reports one hung partition as stuck while messages keep arriving on another', async () => {
    const release = gate();
    const handled: string[] = [];
    const { consumer, send } = await setup(2, {
      async handleBatch(batch) {
        if (batch.partition === 0) await release.wait;
        for (const m of batch.messages) handled.push(m.value!.toString());
        return next(batch.messages.at(-1)!.offset);
      },
    });
    cleanups.push(async () => release.open());
    await send(['p0-a', 'p0-b'], 0);
    // Partition 1 keeps receiving; kafkajs fetches per broker, so the hung batch holds it back too.
    let feeding = true;
    const feeder = (async () => {
      for (let i = 0; feeding; i++) {
        await send([`p1-${i}`], 1);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    cleanups.push(async () => {
      feeding = false;
      await feeder;
    });
    const stuck = await eventually(async () => consumer.health(), (h) => !h.ok, 30_000, 100);
    expect(stuck.details).toMatchObject({ stuck: true });
    expect(handled.some((v) => v.startsWith('p0-'))).toBe(false);
  });

  it('keeps a consumer that makes progress healthy, through idle time longer than stuckAfterMs', async () => {
    const handled: string[] = [];
    const { consumer, send } = await setup(2, {
      async handleBatch(batch) {
        for (const m of batch.messages) handled.push(m.value!.toString());
        await new Promise((r) => setTimeout(r, 50)); // real work takes a little time
        return next(batch.messages.at(-1)!.offset);
      },
    });
    for (let round = 0; round < 3; round++) {
      await send(Array.from({ length: 20 }, (_, i) => `r${round}-${i}`), round % 2);
      await eventually(async () => handled.length, (n) => n === 20 * (round + 1), 30_000);
    }
    expect(await eventually(async () => consumer.health(), (h) => h.details?.lag === 0, 10_000)).toMatchObject({ ok: true });
    // Idle with nothing to read is not stuck, however long it lasts: watch health() until the
    // consumer has been without progress for longer than stuckAfterMs (its own clock says so).
    const idle = await eventually(
      async () => consumer.health(),
      (h) => !h.ok || Number(h.details?.msSinceProgress) > STUCK_AFTER_MS + 500,
      30_000,
      100,
      `msSinceProgress over ${STUCK_AFTER_MS + 500}`,
    );
    expect(idle).toMatchObject({ ok: true, details: { stuck: false, lag: 0 } });
    expect(Number(idle.details?.msSinceProgress)).toBeGreaterThan(STUCK_AFTER_MS);
  });
});
