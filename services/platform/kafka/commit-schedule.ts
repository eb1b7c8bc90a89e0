import type { CommitPoint } from './consumer.js';

/**
 * When a partition's handled offsets are committed: at most once per `intervalMs`, the newest point
 * standing in for the ones before it. An offset commit is a round trip to the group coordinator
 * that the partition's next batch waits for; the handlers do not need it per batch for
 * correctness (stateful steps skip what their changelog marker says is applied, the writer rebuilds
 * an interrupted block from its intent), only to shorten what a restart reads again. A pending
 * point is lost with the process or the partition, which only means more to read again.
 *
 * Pure bookkeeping: the caller commits what it is handed, serialized per partition.
 */
export interface CommitSchedule {
  /** A handled batch's point: returned when it is due now (it is then committed), else kept. */
  offer(partition: string, point: CommitPoint | null): CommitPoint | null;
  /** The kept point when its interval has passed (an idle tick), else null. */
  due(partition: string): CommitPoint | null;
  /** The kept point, due or not (a stop), and forgets it. */
  take(partition: string): CommitPoint | null;
  /**
   * A point committed directly (a handler's intent record) replaces the kept one: committing the
   * older point after it would erase it.
   */
  committedDirectly(partition: string): void;
  /** The partition is gone (revoked, or restored after a crash): its kept point must never be committed. */
  forget(partition: string): void;
}

export function createCommitSchedule(intervalMs: number, now: () => number): CommitSchedule {
  const kept = new Map<string, CommitPoint>();
  const lastCommitAt = new Map<string, number>();
  const hand = (partition: string, point: CommitPoint): CommitPoint => {
    kept.delete(partition);
    lastCommitAt.set(partition, now());
    return point;
  };
  const isDue = (partition: string) => now() - (lastCommitAt.get(partition) ?? -Infinity) >= intervalMs;
  return {
    offer(partition, point) {
      if (point === null) return null;
      if (isDue(partition)) return hand(partition, point);
      kept.set(partition, point);
      return null;
    },
    due(partition) {
      const point = kept.get(partition);
      return point !== undefined && isDue(partition) ? hand(partition, point) : null;
    },
    take(partition) {
      const point = kept.get(partition);
      return point === undefined ? null : hand(partition, point);
    },
    committedDirectly(partition) {
      kept.delete(partition);
      lastCommitAt.set(partition, now());
    },
    forget(partition) {
      kept.delete(partition);
      lastCommitAt.delete(partition);
    },
  };
}
