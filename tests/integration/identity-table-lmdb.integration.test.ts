import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { topicCodecs } from '../../schemas/topics.js';
import { forgetRecords } from '../../services/writer/forget/forget-records.js';
import { createIdentityTable, routerMarkerKey, routerMarkerValue } from '../../services/sessionizer/identity-table.js';
import { stopAfterEach } from '../support/cleanup.js';
import { uniqueTopics } from '../support/kafka.js';
import { createTestTopics, testKafka, testLogger } from '../support/pipeline.js';

describe('the identity table on the lmdb store, on the real broker', () => {
  const cleanup = stopAfterEach();
  const stateDir = mkdtempSync(join(tmpdir(), 'identity-table-'));
  afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

  it('keeps links, router markers and forget markers across restarts, and applies a deletion that came while it was stopped', async () => {
    const kafka = testKafka('identity-table-lmdb');
    const topics = uniqueTopics();
    await createTestTopics(kafka, topics, 2);
    const producer = kafka.producer();
    await producer.connect();
    const send = (records: Array<{ key: string; value: string | null }>) =>
      producer.send({ topic: topics.identityLinks, messages: records.map((r) => ({ key: r.key, value: r.value === null ? null : Buffer.from(r.value) })) });
    try {
      // What routers wrote: Alice's three ids, Bob's two, and a router marker.
      await send([
        { key: 'a:laptop', value: 'u:alice' },
        { key: 'u:alice', value: '#' },
        { key: 'a:phone', value: 'u:alice' },
        { key: 'e:alice', value: 'u:alice' },
        { key: 'a:tablet', value: 'u:bob' },
        { key: 'u:bob', value: '#' },
        { key: routerMarkerKey(1), value: routerMarkerValue(41n, 1_000) },
      ]);
      const open = () => cleanup.started(createIdentityTable({ kafka, topic: topics.identityLinks, logger: testLogger('identity-table'), stateDir, store: { kind: 'lmdb', cacheIds: 1_000 } }));
      const first = open();
      await first.start();
      expect(first.graph.resolve('a:phone')).toBe('u:alice');
      expect(first.appliedOffset(routerMarkerKey(1))).toBe(41n);
      await first.stop();

      // Meanwhile: a deletion of Alice (forget markers, then a tombstone per id, as the writer sends
      // them) and a later marker.
      const deletion = forgetRecords(topics, topicCodecs.identifiedTouchpoints(), ['u:alice', 'a:laptop', 'a:phone', 'e:alice'], { deletionId: 'd1', at: 5_000, suppress: false });
      await send(deletion.identity.map((r) => ({ key: String(r.key), value: r.value === null ? null : r.value.toString() })));
      await send([{ key: routerMarkerKey(1), value: routerMarkerValue(57n, 2_000) }]);

      const second = open();
      await second.start();
      const loaded = second.health();
      expect(second.graph.resolve('a:tablet')).toBe('u:bob');
      for (const id of ['a:laptop', 'a:phone', 'e:alice']) expect(second.graph.resolve(id)).toBe(id);
      expect(second.forgotten.drops(['a:phone'], 4_000)).toBe(true);
      expect(second.forgotten.drops(['a:tablet'], 4_000)).toBe(false);
      expect(second.appliedOffset(routerMarkerKey(1))).toBe(57n);
      expect(second.appliedWatermark(routerMarkerKey(1))).toBe(2_000);
      expect(loaded.details).toEqual({ ids: 2, pendingLinks: 0 });
      await second.stop();

      // A third start finds everything in the store, the forget markers included, and nothing to read.
      const third = open();
      await third.start();
      expect(third.forgotten.drops(['u:alice'], 4_000)).toBe(true);
      expect(third.graph.resolve('a:tablet')).toBe('u:bob');
      expect(third.appliedOffset(routerMarkerKey(1))).toBe(57n);
      await third.stop();
    } finally {
      await producer.disconnect();
    }
  }, 120_000);
});
