import type { Kafka } from 'kafkajs';

/** Total messages not yet committed by `groupId` on `topics` (high watermark − committed offset). */
export async function groupLag(kafka: Kafka, groupId: string, topics: string[]): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    let lag = 0;
    const committed = await admin.fetchOffsets({ groupId, topics });
    for (const t of committed) {
      const ends = await admin.fetchTopicOffsets(t.topic);
      for (const end of ends) {
        const c = t.partitions.find((p) => p.partition === end.partition);
        const done = c && Number(c.offset) >= 0 ? Number(c.offset) : Number(end.low);
        lag += Math.max(0, Number(end.high) - done);
      }
    }
    return lag;
  } finally {
    await admin.disconnect();
  }
}

/** Waits until every group has committed everything on its topics, twice in a row (outputs feed later groups). */
export async function waitForQuiescence(kafka: Kafka, groups: Array<{ groupId: string; topics: string[] }>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let quietRounds = 0;
  while (quietRounds < 2) {
    const lags = await Promise.all(groups.map(async (g) => [g.groupId, await groupLag(kafka, g.groupId, g.topics)] as const));
    const total = lags.reduce((s, [, l]) => s + l, 0);
    if (Date.now() > deadline) throw new Error(`pipeline did not drain in time; lag by group: ${JSON.stringify(Object.fromEntries(lags))}`);
    quietRounds = total === 0 ? quietRounds + 1 : 0;
    await new Promise((r) => setTimeout(r, 1_000));
  }
}
