import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Kafka } from 'kafkajs';
import { makeTouchpoint } from '../../schemas/test-touchpoint.js';
import { topicCodecs } from '../../schemas/topics.js';
import { createKafkaProducer } from '../../services/platform/kafka/producer.js';
import { journeyRoutes } from '../../services/writer/routes.js';
import { createWriterService } from '../../services/writer/service.js';
import { freshDatabase, type TestDatabase } from '../support/clickhouse.js';
import { stopAfterEach } from '../support/cleanup.js';
import { waitForDrained } from '../support/drain.js';
import { eventually } from '../support/eventually.js';
import { uniqueGroupId, uniqueTopics } from '../support/kafka.js';
import { createTestTopics, freshRegistry, testKafka, testLogger } from '../support/pipeline.js';

describe('one event end to end (Kafka → writer → ClickHouse → query)', () => {
  let db: TestDatabase;
  let kafka: Kafka;
  const cleanup = stopAfterEach();
  beforeAll(async () => {
    db = await freshDatabase('thin');
    kafka = testKafka('thin-path');
  });
  afterAll(async () => db.drop());

  it('a touchpoint produced to Kafka is returned by a ClickHouse query, with a parameterized query', async () => {
    const topics = uniqueTopics();
    await createTestTopics(kafka, topics);
    const producer = cleanup.started(createKafkaProducer(kafka, { name: 'thin' }));
    await producer.start();
    const routes = journeyRoutes(topics, db.database);
    const groupId = uniqueGroupId('thin');
    const writer = cleanup.started(createWriterService({
      kafka,
      clickhouse: db.ch,
      topics,
      routes,
      groupId,
      maxBufferRows: 1000,
      maxRowsPerInsert: 1000,
      flushIntervalMs: 50,
      registry: freshRegistry(),
      logger: testLogger('thin'),
    }));
    await writer.start();
    const tp = makeTouchpoint({ messageId: 'thin-1', userId: 'user-42', event: 'Order Completed', revenue: 99.5 });
    await producer.send([
      {
        topic: topics.customerTouchpoints,
        key: 'u:user-42',
        value: topicCodecs.customerTouchpoints().encode({
          kind: 'touchpoint',
          customerId: 'u:user-42',
          touchpoint: { customerId: 'u:user-42', accountId: null, sessionId: 's-1', late: false, touchpoint: tp },
          mergeInto: null,
          mergedFrom: null,
          state: null,
        }),
      },
    ]);
    const query = async () => {
      const rs = await db.ch.client.query({
        query: `SELECT message_id, customer_id, event, revenue, toUnixTimestamp64Milli(ts) AS ts_ms
                FROM ${db.database}.touchpoints WHERE customer_id = {customer:String}`,
        query_params: { customer: 'u:user-42' },
        format: 'JSONEachRow',
      });
      return rs.json<{ message_id: string; customer_id: string; event: string; revenue: number; ts_ms: string }>();
    };
    await eventually(query, (r) => r.length > 0);
    // Once the writer has committed the record, nothing more of it can arrive: the rows are final.
    await waitForDrained(kafka, [{ groupId, topics: routes.map((r) => r.topic) }]);
    const rows = await query();
    // Int64 is a string over HTTP and a number from chdb: compare as numbers so both modes pass.
    expect(rows.map((r) => ({ ...r, ts_ms: Number(r.ts_ms) }))).toEqual([
      { message_id: 'thin-1', customer_id: 'u:user-42', event: 'Order Completed', revenue: 99.5, ts_ms: tp.timestamp },
    ]);
  });
});
