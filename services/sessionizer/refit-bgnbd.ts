import type { ClickHouseClient } from '@clickhouse/client';
import { fitBgNbd, type BgNbdFit } from './stages/churn/bgnbd.js';
import { observationsFromRows, summariesByCustomer, type FitInput, type PurchaseDaysRow } from './stages/churn/fit-input.js';

/** The purchase events of the default stage rules. */
export const DEFAULT_PURCHASE_EVENTS: readonly string[] = ['Order Completed', 'Contract Signed', 'Subscription Renewed'];

/** Below this many customers with a purchase, the four parameters are not worth fitting. */
export const MIN_CUSTOMERS_TO_FIT = 10;

/**
 * Per customer id: first and last purchase, the distinct UTC purchase days (ts is UTC), and the
 * observation end: the newest touchpoint of any kind. Late and duplicated touchpoints count: they
 * carry their event time, and a duplicate adds no day.
 */
const PURCHASE_DAYS_SQL = `
  SELECT customer_id,
         toUnixTimestamp64Milli(min(ts)) AS first_purchase,
         toUnixTimestamp64Milli(max(ts)) AS last_purchase,
         groupUniqArray(toString(toDate(ts))) AS purchase_days,
         (SELECT toUnixTimestamp64Milli(max(ts)) FROM {db:Identifier}.touchpoints) AS observed_until
  FROM {db:Identifier}.touchpoints
  WHERE event IN {events:Array(String)}
  GROUP BY customer_id`;

export interface RefitOptions {
  database: string;
  /** Event names that are purchases. */
  events: readonly string[];
  /** Length of one model time unit in days (t_x, T and α are in these units). */
  timeUnitDays: number;
  /** A customer id as it is now (the identity table's resolve); the ids as written when absent. */
  resolve?: (customerId: string) => string;
}

export interface Refit {
  fit: BgNbdFit;
  input: FitInput;
}

/** BG/NBD observations (x, t_x, T) of every customer with a purchase in the `touchpoints` table. */
export async function readPurchaseObservations(client: ClickHouseClient, o: RefitOptions): Promise<FitInput> {
  const rs = await client.query({ query: PURCHASE_DAYS_SQL, query_params: { db: o.database, events: [...o.events] }, format: 'JSONEachRow' });
  const rows = await rs.json<PurchaseDaysRow>();
  return observationsFromRows(summariesByCustomer(rows, o.resolve ?? ((id) => id)), o.timeUnitDays);
}

/**
 * The BG/NBD refit from ClickHouse, shared by `npm run fit-churn` (which writes the parameters the
 * churn scoring uses) and `npm run verify --bgnbd` (which compares them with a simulator's).
 */
export async function refitBgNbd(client: ClickHouseClient, o: RefitOptions): Promise<Refit> {
  const input = await readPurchaseObservations(client, o);
  if (input.observations.length < MIN_CUSTOMERS_TO_FIT) throw new Error(`only ${input.observations.length} customers with purchases: too few to fit`);
  return { fit: fitBgNbd(input.observations), input };
}
