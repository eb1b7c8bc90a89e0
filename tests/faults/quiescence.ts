import type { Kafka } from 'kafkajs';

/** Total messages not yet committed by `groupId` on `topics` (high watermark − committed offset). */
export async function groupLag(kafka: Kafka, groupId: string, topics: string[]): Promise<number> {
  return (await groupPosition(kafka, groupId, topics)).lag;
}

/** What a group has committed on its topics (summed over partitions) and what it still lags. */
export async function groupPosition(kafka: Kafka, groupId: string, topics: string[]): Promise<{ committed: number; lag: number }> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    let lag = 0;
    let committedSum = 0;
    const committed = await admin.fetchOffsets({ groupId, topics });
    for (const t of committed) {
      const ends = await admin.fetchTopicOffsets(t.topic);
      for (const end of ends) {
        const c = t.partitions.find((p) => p.partition === end.partition);
        const done = c && Number(c.offset) >= 0 ? Number(c.offset) : Number(end.low);
        lag += Math.max(0, Number(end.high) - done);
        committedSum += done;
      }
    }
    return { committed: committedSum, lag };
  } finally {
    await admin.disconnect();
  }
}

/**
 * Waits until every group processes again after a fault: it commits past where it stood when this
 * was called, or has nothing left to do. Admin calls that fail (the broker still starting) are retried.
 */
export async function waitForProgress(kafka: Kafka, groups: Array<{ groupId: string; topics: string[] }>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const position = async (g: { groupId: string; topics: string[] }) => {
    for (;;) {
      try {
        return await groupPosition(kafka, g.groupId, g.topics);
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  };
  const before = await Promise.all(groups.map(position));
  const pending = new Set(groups.map((_, i) => i));
  while (pending.size > 0) {
    for (const i of [...pending]) {
      const now = await position(groups[i]!);
      if (now.committed > before[i]!.committed || now.lag === 0) pending.delete(i);
    }
    if (pending.size === 0) return;
    if (Date.now() > deadline) throw new Error(`no progress after ${timeoutMs} ms: ${[...pending].map((i) => groups[i]!.groupId).join(', ')}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * Waits until every group has committed everything on its topics, twice in a row (outputs feed later
 * groups). A lag that cannot be read (a busy broker answering "not the leader" for a moment) counts
 * as not quiet and is read again, until the deadline.
 */
export async function waitForQuiescence(kafka: Kafka, groups: Array<{ groupId: string; topics: string[] }>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let quietRounds = 0;
  const lagOrError = (g: { groupId: string; topics: string[] }) => groupLag(kafka, g.groupId, g.topics).catch((error: Error) => `unreadable: ${error.message}`);
  while (quietRounds < 2) {
    const lags = await Promise.all(groups.map(async (g) => [g.groupId, await lagOrError(g)] as const));
    const total = lags.reduce((s, [, l]) => s + (typeof l === 'number' ? l : Infinity), 0);
    if (Date.now() > deadline) throw new Error(`pipeline did not drain in time; lag by group: ${JSON.stringify(Object.fromEntries(lags))}`);
    quietRounds = total === 0 ? quietRounds + 1 : 0;
    await new Promise((r) => setTimeout(r, 1_000));
  }
}
