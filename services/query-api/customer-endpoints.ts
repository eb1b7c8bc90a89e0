import { decodeCursor } from './cursor.js';
import { endpoint, type Endpoint } from './endpoints.js';
import { CustomerPath, CustomerProfileQuery, CustomerTimelineQuery } from './params.js';
import { CustomerProfileResponse, CustomerTimelineResponse } from './responses.js';
import { customerProfile } from './queries/customer-profile.js';
import { customerTimeline } from './queries/customer-timeline.js';

const RESOLUTION =
  'Any linked id resolves to the stitched customer: ids that appear together on a touchpoint (customer_id, u:<user_id>, a:<anonymous_id>) are linked, ' +
  'followed for up to 4 hops and 100 ids, and the customer id is the least customer id those rows carry (u: < e: < a:, as the identity graph picks roots). ' +
  'Ids linked only by an alias or an e-mail hash are found only once a touchpoint was stored under them, and links whose touchpoints have passed the TTL are not found.';

/** Customer-level endpoints: one person's journey, for a CRM or the site's own backend while the customer is there. */
export const CUSTOMER_ENDPOINTS: Endpoint[] = [
  endpoint({
    path: '/api/customers/:id',
    scope: 'profiles',
    operationId: 'customerProfile',
    summary: 'Customer profile: stage, history, sessions, churn risk and next action, account, linked ids',
    description: `${RESOLUTION} Rows of every linked id are included (closed sessions and old transitions of an absorbed id stay under it); each row names the id it is stored under.`,
    params: CustomerPath,
    query: CustomerProfileQuery,
    response: CustomerProfileResponse,
    notFound: 'No table knows any id linked to this one',
    handle: (_q, { db }, p) => customerProfile(db, p.id),
  }),
  endpoint({
    path: '/api/customers/:id/timeline',
    scope: 'profiles',
    operationId: 'customerTimeline',
    summary: "Customer timeline: every linked id's touchpoints in event-time order, paginated",
    description: `${RESOLUTION} Ordered by (time, messageId), oldest first; pass nextCursor as cursor for the next page (keyset: pages never repeat or skip a touchpoint).`,
    params: CustomerPath,
    query: CustomerTimelineQuery,
    response: CustomerTimelineResponse,
    notFound: 'No touchpoint names any id linked to this one',
    handle: (q, { db }, p) => customerTimeline(db, p.id, q.limit ?? 50, q.cursor === undefined ? undefined : decodeCursor(q.cursor)),
  }),
];
