import type { Kafka } from 'kafkajs';
import { Counter, Histogram, type Registry } from 'prom-client';
import { topicCodecs, type Topics } from '../../../schemas/topics.js';
import type { ClickHouse } from '../../platform/clickhouse/client.js';
import type { RecordProducer } from '../../platform/kafka/producer.js';
import type { Logger } from '../../platform/logging/logger.js';
import { deletionsTable, type PendingDeletion } from '../../platform/privacy/deletions-table.js';
import type { ForgottenIds } from '../../platform/privacy/forgotten-ids.js';
import { forgottenIdHash } from '../../platform/privacy/forgotten-ids.js';
import type { Component, Health } from '../../platform/runtime/component.js';
import { eraseCustomerRows } from './erase-rows.js';
import { forgetRecords } from './forget-records.js';
import { groupHasPassed, topicEnds } from './group-progress.js';
import { readLinkAdjacency, resolveLinkedIds } from './resolve-ids.js';

export interface DeletionExecutorDeps {
  kafka: Kafka;
  clickhouse: ClickHouse;
  topics: Topics;
  producer: RecordProducer;
  /** The writer's own set: rows of these ids are dropped before they are buffered (forget/row-filter.ts). */
  forgotten: ForgottenIds;
  /** Consumer groups whose progress a deletion waits for before it erases (see execute). */
  groups: { router: string; journey: string; writer: string };
  writerTopics: string[];
  pollMs: number;
  /** How long one deletion waits for the pipeline to pass its records before it erases anyway (and says so). */
  settleTimeoutMs: number;
  registry: Registry;
  logger: Logger;
  now: () => number;
}

/**
 * Executes deletion requests (README: Privacy), one at a time, from the `deletions` table, polled
 * every `pollMs`. A request stays pending until every step is done, and every step is idempotent,
 * so a crash anywhere (kill -9 included) is finished by the next executor:
 * 1. resolve the linked ids (identity-links and touchpoints rows) and record them (version 2);
 * 2. add them to the writer's forgotten set, and publish them (forget-records.ts): suppression list,
 *    forget markers + link tombstones for the routers, `forget` records for the journey step;
 * 3. wait until the router, the journey step and the writer have passed what was sent before, so
 *    nothing of the customer is still on its way into ClickHouse (bounded by settleTimeoutMs);
 * 4. erase their rows from every table (erase-rows.ts) and record the outcome (version 3).
 */
export function createDeletionExecutor(deps: DeletionExecutorDeps): Component & { runOnce(): Promise<number> } {
  const log = deps.logger.child({ component: 'deletions' });
  const table = deletionsTable(deps.clickhouse);
  const recordCodec = topicCodecs.identifiedTouchpoints();
  const finished = new Counter({ name: 'writer_deletions_total', help: 'Deletion requests finished, by status', labelNames: ['status'], registers: [deps.registry] });
  const seconds = new Histogram({ name: 'writer_deletion_seconds', help: 'From request to finished, per deletion', buckets: [1, 5, 15, 60, 300, 1800], registers: [deps.registry] });
  const unsettled = new Counter({ name: 'writer_deletion_settle_timeouts_total', help: 'Deletions that erased before the pipeline was seen to pass their records', registers: [deps.registry] });
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> = Promise.resolve();
  let stopped = true;
  let lastError: string | null = null;

  const settle = async (topic: string, group: string, ends: Map<number, bigint>, deadline: number): Promise<boolean> => {
    while (!(await groupHasPassed(deps.kafka, group, topic, ends))) {
      if (stopped) throw new Error('stopping');
      if (deps.now() > deadline) {
        log.warn({ group, topic, ends: Object.fromEntries([...ends].map(([p, o]) => [p, o.toString()])) }, 'deletion: a group did not pass the deletion in time');
        return false;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    return true;
  };

  const execute = async (pending: PendingDeletion): Promise<void> => {
    let ids = pending.ids;
    if (ids.length === 0) {
      const adjacency = await readLinkAdjacency(deps.kafka, deps.topics.identityLinks);
      ids = await resolveLinkedIds({ ch: deps.clickhouse, adjacency }, pending.requestedId);
      if (ids.length === 0) {
        await table.finished(pending, { status: 'not_found', ids: [], deletedRows: {}, at: deps.now() });
        finished.inc({ status: 'not_found' });
        log.info({ deletionId: pending.deletionId }, 'deletion: no id linked to the request; nothing to delete');
        return;
      }
      await table.resolved(pending, ids);
    }
    const at = deps.now();
    const entry = { deletionId: pending.deletionId, at, suppress: pending.suppress };
    for (const id of ids) deps.forgotten.add(forgottenIdHash(id), entry);
    const records = forgetRecords(deps.topics, recordCodec, ids, entry);
    await deps.producer.send(records.suppression);
    await deps.producer.send(records.identity);
    const deadline = at + deps.settleTimeoutMs;
    let settled = await settle(deps.topics.touchpoints, deps.groups.router, await topicEnds(deps.kafka, deps.topics.touchpoints), deadline);
    // The router's history lane too (an import under way: docs/history-lane.md).
    settled = (await settle(deps.topics.touchpointsHistory, deps.groups.router, await topicEnds(deps.kafka, deps.topics.touchpointsHistory), deadline)) && settled;
    await deps.producer.send(records.journey);
    settled = (await settle(deps.topics.identifiedTouchpoints, deps.groups.journey, await topicEnds(deps.kafka, deps.topics.identifiedTouchpoints), deadline)) && settled;
    for (const topic of deps.writerTopics) settled = (await settle(topic, deps.groups.writer, await topicEnds(deps.kafka, topic), deadline)) && settled;
    if (!settled) {
      unsettled.inc();
      log.warn({ deletionId: pending.deletionId, settleTimeoutMs: deps.settleTimeoutMs }, 'deletion: the pipeline did not pass the deletion in time; erasing now (rows still in flight are dropped by the writer)');
    }
    const deletedRows = await eraseCustomerRows(deps.clickhouse, ids);
    await table.finished(pending, { status: 'done', ids, deletedRows, at: deps.now() });
    finished.inc({ status: 'done' });
    seconds.observe((deps.now() - pending.requestedAt) / 1000);
    log.info({ deletionId: pending.deletionId, ids: ids.length, deletedRows }, 'deletion done');
  };

  let leftoversRemoved = false;
  const runOnce = async (): Promise<number> => {
    if (!leftoversRemoved) {
      const n = await table.removeFinishedPendingVersions();
      if (n > 0) log.warn({ deletions: n }, 'deletion: removed the pending versions (raw ids) a crash had left beside finished deletions');
      leftoversRemoved = true;
    }
    const pending = await table.pending();
    for (const d of pending) {
      if (stopped) break;
      await execute(d);
    }
    return pending.length;
  };

  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = runOnce()
        .then(() => (lastError = null))
        .catch((err: unknown) => {
          lastError = (err as Error).message;
          if (!stopped) log.error({ err }, 'deletion round failed; retrying at the next round');
        })
        .finally(schedule);
    }, deps.pollMs);
  };

  return {
    name: 'deletions',
    runOnce,
    async start() {
      stopped = false;
      schedule();
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
    health(): Health {
      return { ok: true, details: { lastError } };
    },
  };
}
