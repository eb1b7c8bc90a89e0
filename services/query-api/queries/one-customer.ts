/**
 * Appended to the queries that read one customer's rows (the profile, the timeline, the identity
 * resolution): they touch a few granules, which one thread reads as fast as many, and a query's
 * threads are most of its cost at that size. Measured on the embedded engine at 10 M touchpoints:
 * CPU per query roughly halved (a timeline page 29.5 → 14.8 ms, a trivial query 5.0 → 2.3 ms) with
 * no slower answers. A SETTINGS clause, not client settings: the embedded connection applies those
 * to the whole session (runner.ts).
 */
export const ONE_CUSTOMER_SETTINGS = 'SETTINGS max_threads = 1';
