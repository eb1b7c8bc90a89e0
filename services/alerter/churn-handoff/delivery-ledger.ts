/**
 * Which offset of one partition may be committed while its records are delivered out of the
 * handler's hands: the commit point never passes a record that is not settled (delivered, or
 * dead-lettered after its retries), so a restart reads every undelivered record again.
 *
 * Pure bookkeeping over offsets (decimal strings, as kafkajs gives them).
 */
export interface DeliveryLedger {
  /**
   * A record handed on for delivery. False when the offset is not past the newest tracked one: the
   * record was handed on already (its batch is read again after a failed commit), so it is skipped.
   */
  track(offset: string): boolean;
  /** The record at `offset` needs nothing more (delivered, dead-lettered, or nothing to deliver). */
  settle(offset: string): void;
  /** The next offset to commit when it moved since the last call, else null. */
  advance(): string | null;
  /** Records tracked and not yet passed by the commit point. */
  outstanding(): number;
}

export function createDeliveryLedger(): DeliveryLedger {
  /** Tracked offsets in order, oldest first; the head is the oldest unsettled one once advanced. */
  const order: bigint[] = [];
  const settled = new Set<bigint>();
  let head = 0;
  let next: bigint | null = null;
  let reported: bigint | null = null;
  return {
    track(offset) {
      const o = BigInt(offset);
      const last = order[order.length - 1];
      if (last !== undefined && o <= last) return false;
      order.push(o);
      return true;
    },
    settle(offset) {
      settled.add(BigInt(offset));
    },
    advance() {
      while (head < order.length && settled.has(order[head]!)) {
        settled.delete(order[head]!);
        next = order[head]! + 1n;
        head++;
      }
      // Keep the array from growing without bound on a long-lived partition.
      if (head > 1024 && head * 2 > order.length) {
        order.splice(0, head);
        head = 0;
      }
      if (next === null || next === reported) return null;
      reported = next;
      return next.toString();
    },
    outstanding: () => order.length - head,
  };
}
