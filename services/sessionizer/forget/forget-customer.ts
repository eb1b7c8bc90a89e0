import type { MergeBarrier } from '../../platform/streams/merge-barrier.js';
import type { MergeLedger } from '../../platform/streams/merge-ledger.js';
import type { SessionizerPartition } from '../core/partition.js';
import type { StagesPartition } from '../stages/processor.js';
import type { AttributionPartition } from '../attribution/attribution-partition.js';

/** The per-partition state of the journey step that can name a customer. */
export interface CustomerStores {
  sessions: SessionizerPartition;
  stages: StagesPartition;
  forwards: MergeLedger;
  barrier: MergeBarrier;
  /** The touches kept for attribution (null when attribution is off). */
  attribution: AttributionPartition | null;
}

/**
 * A `forget` record (README: Privacy): every trace of `customerId` in this partition goes, with no
 * output. Its sessions, journey and attribution touches are removed the way a merge exports them (which marks the key
 * changed: its value is now null, so the next flush writes a tombstone), its forward and import
 * entries and any merge wait (held records dropped unprocessed) are tombstoned too. Replays
 * cannot bring it back: the router drops the customer's touchpoints from the forget markers on.
 */
export function forgetCustomer(customerId: string, stores: CustomerStores): void {
  removeCustomerState(customerId, stores);
  stores.forwards.forget(customerId);
  stores.barrier.forget(customerId);
}

/**
 * Removes the customer's own value (sessions, dedup ids, account, bound flag, journey, attribution
 * touches) the way a merge exports it: the key is marked changed with nothing left, so the next
 * flush writes its tombstone. Entries of other keys that name it (merge ledgers) stay.
 */
export function removeCustomerState(customerId: string, stores: Pick<CustomerStores, 'sessions' | 'stages' | 'attribution'>): void {
  stores.sessions.exportCustomer(customerId);
  stores.stages.remove(customerId); // kept encoded, it leaves without being decoded
  stores.attribution?.exportCustomer(customerId);
}
