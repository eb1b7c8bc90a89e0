/**
 * How much state one customer may hold in the sessions part of the journey step (README: Known
 * limits). A customer's state is one changelog record and one merge transfer, and both must fit in
 * one produce request, so the bounds are by bytes; the counts below follow from the fixed sizes.
 */
export interface CustomerBounds {
  /** Recent messageIds kept for de-duplication (16 bytes each); the earliest remembered go first. */
  maxRecentIds: number;
  /** Events kept one by one in open sessions (the rest are folded into the sessions' summaries early). */
  maxOpenEvents: number;
  /** The encoded sessions part may not exceed this; over it, the customer is trimmed (trimToFit). */
  maxStateBytes: number;
}

/** Bytes of one remembered messageId in memory and in the changelog (hash and time, two doubles). */
export const RECENT_ID_BYTES = 16;

export const DEFAULT_CUSTOMER_BOUNDS: Readonly<CustomerBounds> = {
  maxRecentIds: (64 * 1024) / RECENT_ID_BYTES,
  maxOpenEvents: 512,
  maxStateBytes: 256 * 1024,
};

/** Which bound a customer reached (a metric label). */
export type BoundKind = 'dedup_ids' | 'open_events' | 'state_bytes';

/**
 * Told when a customer reaches a bound: `n` ids evicted, events folded early, or (state_bytes)
 * bytes trimmed. `first` is true the first time this customer reached any bound (it is flagged).
 */
export type OnBound = (kind: BoundKind, customerId: string, n: number, first: boolean) => void;
