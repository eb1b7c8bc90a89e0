import { encodeCursor, type TimelineCursor } from '../cursor.js';
import { NotFoundError } from '../params.js';
import type { QueryRunner } from '../runner.js';
import { resolveCustomer } from './customer-identity.js';
import { ONE_CUSTOMER_SETTINGS } from './one-customer.js';
import { iso } from './window.js';

export interface TimelineRow {
  message_id: string;
  customer_id: string;
  session_id: string;
  type: string;
  event: string;
  anonymous_id: string | null;
  user_id: string | null;
  account_id: string | null;
  site: string;
  channel: string;
  ts_ms: string | number;
  url: string | null;
  path: string | null;
  utm_campaign: string | null;
  device_type: string;
  revenue: number | null;
  late: boolean | number;
  properties: string;
}

export interface TimelineTouchpoint {
  messageId: string;
  customerId: string;
  sessionId: string;
  type: string;
  event: string;
  anonymousId: string | null;
  userId: string | null;
  accountId: string | null;
  site: string;
  channel: string;
  at: string;
  url: string | null;
  path: string | null;
  campaign: string | null;
  deviceType: string;
  revenue: number | null;
  late: boolean;
  properties: string;
}

export interface TimelinePage {
  customerId: string;
  linkedIds: string[];
  limit: number;
  touchpoints: TimelineTouchpoint[];
  /** Pass as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
}

/**
 * One page from rows read with limit + 1: the extra row only says that another page exists, and the
 * cursor is the last row served (the next page starts strictly after it).
 */
export function shapeTimelinePage(customerId: string, linkedIds: string[], limit: number, rows: TimelineRow[]): TimelinePage {
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return {
    customerId,
    linkedIds,
    limit,
    touchpoints: page.map((r) => ({
      messageId: r.message_id,
      customerId: r.customer_id,
      sessionId: r.session_id,
      type: r.type,
      event: r.event,
      anonymousId: r.anonymous_id,
      userId: r.user_id,
      accountId: r.account_id,
      site: r.site,
      channel: r.channel,
      at: iso(Number(r.ts_ms)),
      url: r.url,
      path: r.path,
      campaign: r.utm_campaign,
      deviceType: r.device_type,
      revenue: r.revenue,
      late: Boolean(r.late),
      properties: r.properties,
    })),
    nextCursor: rows.length > limit && last ? encodeCursor({ tsMs: Number(last.ts_ms), messageId: last.message_id }) : null,
  };
}

// Keyset pagination on (ts, message_id), the tail of touchpoints_by_customer's sort key (customer_id,
// ts, message_id; migration 032). LIMIT 1 BY (ts, message_id) instead of FINAL: a replayed touchpoint (same message id and time)
// is served once, and every page key is unique, so "strictly after the cursor" can neither repeat
// nor skip a row. The ts >= bound lets the primary index skip what earlier pages read.
// optimize_move_to_prewhere = 0: the primary key already narrows the read to the customer's
// granules from the cursor on, where (nearly) every row passes the filter, so a PREWHERE pass over
// ts and message_id first is a second pass for nothing (~10-15% of the page's engine CPU at 10 M
// touchpoints, docs/performance.md).
export const TIMELINE_SQL = `SELECT message_id, customer_id, session_id, type, event, anonymous_id, user_id, account_id, site, channel,
  toUnixTimestamp64Milli(ts) AS ts_ms, url, path, utm_campaign, device_type, revenue, late, properties
FROM {db}.touchpoints_by_customer
WHERE customer_id IN {ids:Array(String)}
  AND ts >= fromUnixTimestamp64Milli({afterMs:Int64}, 'UTC')
  AND (toUnixTimestamp64Milli(ts), message_id) > ({afterMs:Int64}, {afterId:String})
ORDER BY ts, message_id
LIMIT 1 BY ts, message_id
LIMIT {rows:UInt32}
${ONE_CUSTOMER_SETTINGS}, optimize_move_to_prewhere = 0`;

/** Before every touchpoint: ts >= 1970 and any message id > ''. */
const START: TimelineCursor = { tsMs: 0, messageId: '' };

export async function customerTimeline(db: QueryRunner, id: string, limit: number, after: TimelineCursor | undefined): Promise<TimelinePage> {
  const endpoint = 'customer-timeline';
  const resolved = await resolveCustomer(db, endpoint, id);
  if (!resolved.seenInTouchpoints) throw new NotFoundError(`no touchpoints for customer id ${JSON.stringify(id)}`);
  const from = after ?? START;
  const rows = await db.rows<TimelineRow>(endpoint, TIMELINE_SQL, {
    ids: resolved.linkedIds,
    afterMs: from.tsMs,
    afterId: from.messageId,
    rows: limit + 1,
  });
  return shapeTimelinePage(resolved.customerId, resolved.linkedIds, limit, rows);
}
