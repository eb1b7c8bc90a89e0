import { describe, expect, it } from 'vitest';
import { stopAfterEach } from '../support/cleanup.js';
import { committedBy } from '../support/drain.js';
import { eventually } from '../support/eventually.js';
import { uniqueGroupId, uniquePrefix, uniqueTopics } from '../support/kafka.js';
import { createTestTopics, testKafka } from '../support/pipeline.js';
import { produceTouchpoints, sessionizerGroups, sessionizerProcessEnv, tp } from '../support/journey-fixtures.js';
import { startServiceProcess, waitForOutput } from '../support/processes.js';

describe('static group membership (KAFKA_GROUP_INSTANCE_ID)', () => {
  const cleanup = stopAfterEach();
  const kafka = testKafka('static-membership');

  it('a service restarted after kill -9 takes its place back at once, long before its old session could expire', async () => {
    const prefix = uniquePrefix();
    const topics = uniqueTopics(prefix);
    await createTestTopics(kafka, topics, 2);
    const groupId = uniqueGroupId('static');
    const [router] = sessionizerGroups(groupId, topics);
    const start = async () => {
      const svc = cleanup.process(
        startServiceProcess(
          'services/sessionizer/main.ts',
          sessionizerProcessEnv(
            { prefix, groupId },
            {
              // A dead member's session lasts 10 minutes and a rebalance waits 10 minutes for members
              // to rejoin: a dynamic member restarted after a kill -9 waits that long; a static one
              // takes over.
              KAFKA_SESSION_TIMEOUT_MS: '600000',
              KAFKA_REBALANCE_TIMEOUT_MS: '600000',
              KAFKA_HEARTBEAT_INTERVAL_MS: '1000',
              KAFKA_GROUP_INSTANCE_ID: 'static-it-1',
            },
          ),
        ),
      );
      await waitForOutput(svc, 'health at');
      return svc;
    };
    const groupMembers = async () => {
      const admin = kafka.admin();
      await admin.connect();
      try {
        const { groups } = await admin.describeGroups([router!.groupId]);
        return { state: groups[0]!.state, members: groups[0]!.members.map((m) => m.memberId) };
      } finally {
        await admin.disconnect();
      }
    };
    const t0 = Date.now() - 60_000;
    const first = await start();
    await produceTouchpoints(kafka, topics, [tp({ messageId: 's1', userId: 'static-user', anonymousId: null, timestamp: t0 })]);
    await eventually(() => committedBy(kafka, router!), (n) => n >= 1, 60_000, 100, 'the first instance routed s1');
    const before = await groupMembers();
    expect(before).toMatchObject({ state: 'Stable', members: [expect.any(String)] });

    first.child.kill('SIGKILL');
    await first.exited;
    const second = await start();
    await produceTouchpoints(kafka, topics, [tp({ messageId: 's2', userId: 'static-user', anonymousId: null, timestamp: t0 + 1_000 })]);
    // A dynamic member would wait in a rebalance for the dead member for 10 minutes; the deadline
    // here is far below that.
    await eventually(() => committedBy(kafka, router!), (n) => n >= 2, 60_000, 100, 'the restarted instance routed s2');
    const after = await groupMembers();
    expect(after.state).toBe('Stable');
    expect(after.members).toHaveLength(1);
    expect(after.members[0]).not.toBe(before.members[0]);
    second.child.kill('SIGTERM');
    await second.exited;
  });
});
