import { z } from 'zod';
import { STAGES } from '../../schemas/journey.js';

/**
 * Response shapes, for the OpenAPI document. The integration tests parse every endpoint's real
 * answer with these (strict objects), so the document cannot drift from the code.
 */
const stage = z.enum(STAGES);
const rate = z.number().nullable().meta({ description: 'A ratio in 0..1; null when its denominator is 0' });
const isoTime = z.string().meta({ description: 'ISO-8601 UTC' });
const filters = z.strictObject({
  site: z.string().optional(),
  channel: z.string().optional(),
  campaign: z.string().optional(),
  device: z.string().optional(),
  segment: z.string().optional(),
});

export const FunnelResponse = z.strictObject({
  from: isoTime,
  to: isoTime,
  filters,
  stages: z.array(
    z.strictObject({
      stage,
      entries: z.number().meta({ description: 'Customers who entered the stage' }),
      conversions: z.number().meta({ description: 'Customers who converted out of the stage into a later one' }),
      dropoffs: z.number().meta({ description: "Customers whose conversion window at the stage expired" }),
      conversionRate: rate,
      shareOfTop: rate,
    }),
  ),
  overallConversionRate: rate,
});

const outcomes = {
  entries: z.number(),
  conversions: z.number(),
  dropoffs: z.number(),
  dropoffRate: rate,
};
const breakdownValue = z.strictObject({
  value: z.string().nullable(),
  ...outcomes,
  excessDropoffs: z.number().meta({ description: "Drop-offs beyond the step's average rate applied to this value's outcomes" }),
});
export const DropoffResponse = z.strictObject({
  from: isoTime,
  to: isoTime,
  filters,
  steps: z.array(
    z.strictObject({
      stage,
      ...outcomes,
      breakdown: z.strictObject({
        channel: z.array(breakdownValue),
        device_type: z.array(breakdownValue),
        campaign: z.array(breakdownValue),
      }),
      explanation: z
        .strictObject({
          dimension: z.enum(['channel', 'device_type', 'campaign']),
          value: z.string().nullable(),
          excessDropoffs: z.number(),
          dropoffRate: rate,
          stepDropoffRate: rate,
        })
        .nullable(),
    }),
  ),
});

const seconds = z.number().nullable();
export const TimeToConvertResponse = z.strictObject({
  from: isoTime,
  to: isoTime,
  fromStage: stage.nullable(),
  filters,
  conversions: z.number(),
  quantiles: z.strictObject({ p50: seconds, p75: seconds, p90: seconds, p95: seconds, p99: seconds }),
  histogram: z.array(
    z.strictObject({ label: z.string(), fromSeconds: z.number(), toSeconds: z.number().nullable(), conversions: z.number() }),
  ),
});

export const CurrentStagesResponse = z.strictObject({
  site: z.string().nullable(),
  customers: z.number(),
  stages: z.array(z.strictObject({ stage, customers: z.number(), share: rate })),
});

export const StageFlowResponse = z.strictObject({
  from: isoTime,
  to: isoTime,
  site: z.string().nullable(),
  links: z.array(
    z.strictObject({
      source: z.string().meta({ description: "A stage, or 'new' for a customer's first stage" }),
      target: stage,
      transitions: z.number(),
      customers: z.number(),
    }),
  ),
});

export const CohortsResponse = z.strictObject({
  weeks: z.number(),
  site: z.string().nullable(),
  cohorts: z.array(
    z.strictObject({
      cohort: z.string().meta({ description: 'Monday (YYYY-MM-DD) of the week of first purchase' }),
      customers: z.number(),
      retention: z.array(
        z.strictObject({
          week: z.number(),
          active: z.number(),
          purchasing: z.number(),
          activeRate: rate,
          purchasingRate: rate,
        }),
      ),
    }),
  ),
});

/** One customer's churn risk, as the churn list and the customer profile give it. */
const churnRisk = (customerId: z.ZodType<string>) =>
  z.strictObject({
    customerId,
    score: z.number(),
    pAlive: z.number(),
    reasons: z.array(z.string()),
    nextAction: z.string(),
    stage: stage.nullable(),
    crossedThreshold: z.boolean(),
    at: isoTime,
  });

export const ChurnResponse = z.strictObject({
  minScore: z.number(),
  site: z.string().nullable(),
  atRisk: z.number(),
  customers: z.array(
    churnRisk(z.string()),
  ),
});

export const AlertsResponse = z.strictObject({
  from: isoTime,
  to: isoTime,
  firing: z.number(),
  alerts: z.array(
    z.strictObject({
      alertId: z.string(),
      monitor: z.string(),
      status: z.enum(['firing', 'resolved']),
      since: isoTime,
      at: isoTime,
      resolvedAt: isoTime.nullable(),
      site: z.string(),
      step: z.string(),
      baselineRate: z.number(),
      observedRate: z.number(),
      dropPct: z.number(),
      statistic: z.number(),
      breakdownHint: z.string().nullable(),
      dashboardUrl: z.string(),
    }),
  ),
});

export const ConversionOverTimeResponse = z.strictObject({
  from: isoTime,
  to: isoTime,
  bucket: z.enum(['minute', 'hour']),
  bucketMs: z.number(),
  filters,
  series: z.array(
    z.strictObject({
      stage,
      conversions: z.number(),
      dropoffs: z.number(),
      rate,
      points: z.array(
        z.strictObject({ t: z.number().meta({ description: 'Bucket start, epoch ms' }), conversions: z.number(), dropoffs: z.number(), rate }),
      ),
    }),
  ),
});

const linkedIds = z.array(z.string()).meta({ description: 'Every id found linked to the customer (customer ids, u:<userId>, a:<anonymousId>), sorted as the identity graph ranks them; the first is customerId' });
const customerId = z.string().meta({ description: 'The stitched customer id the requested id resolves to' });
const rowCustomerId = z.string().meta({ description: 'The (possibly absorbed) customer id this row is stored under' });

export const CustomerProfileResponse = z.strictObject({
  customerId,
  linkedIds,
  linkedIdsComplete: z.boolean().meta({ description: 'False when the bounded id resolution stopped early (more than 100 ids or 4 hops)' }),
  stage: z
    .strictObject({
      current: stage,
      enteredAt: isoTime,
      previous: stage.nullable(),
      furthest: stage.nullable().meta({ description: 'Highest stage of the current journey' }),
      journeyNumber: z.number(),
      customerId: rowCustomerId,
    })
    .nullable(),
  transitions: z
    .array(
      z.strictObject({
        transitionId: z.string(),
        customerId: rowCustomerId,
        from: stage.nullable(),
        to: stage,
        at: isoTime,
        cause: z.string(),
        site: z.string(),
        channel: z.string(),
        journeyNumber: z.number(),
      }),
    )
    .meta({ description: 'Stage transitions of every linked id, oldest first (the newest 100)' }),
  sessions: z
    .array(
      z.strictObject({
        sessionId: z.string(),
        customerId: rowCustomerId,
        status: z.enum(['opened', 'updated', 'closed']),
        site: z.string(),
        startedAt: isoTime,
        endedAt: isoTime,
        eventCount: z.number(),
        channels: z.array(z.string()),
        entryEvent: z.string(),
        exitEvent: z.string(),
        entryUrl: z.string().nullable(),
        exitUrl: z.string().nullable(),
        furthestStage: stage.nullable(),
        converted: z.boolean(),
      }),
    )
    .meta({ description: 'The 10 most recently started sessions of every linked id, newest first' }),
  churn: churnRisk(rowCustomerId)
    .nullable()
    .meta({ description: 'The newest churn score of any linked id' }),
  account: z.strictObject({ accountId: z.string() }).nullable().meta({ description: 'B2B account (group call) of the newest touchpoint that has one' }),
});

export const CustomerTimelineResponse = z.strictObject({
  customerId,
  linkedIds,
  limit: z.number(),
  touchpoints: z.array(
    z.strictObject({
      messageId: z.string(),
      customerId: rowCustomerId,
      sessionId: z.string(),
      type: z.string(),
      event: z.string(),
      anonymousId: z.string().nullable(),
      userId: z.string().nullable(),
      accountId: z.string().nullable(),
      site: z.string(),
      channel: z.string(),
      at: isoTime,
      url: z.string().nullable(),
      path: z.string().nullable(),
      campaign: z.string().nullable(),
      deviceType: z.string(),
      revenue: z.number().nullable(),
      late: z.boolean(),
      properties: z.string().meta({ description: 'The event properties as sent (JSON text)' }),
    }),
  ),
  nextCursor: z.string().nullable().meta({ description: 'Pass as cursor for the next page; null on the last page' }),
});

export const ErrorResponse = z.strictObject({
  error: z.strictObject({
    code: z.enum(['bad_request', 'unauthorized', 'forbidden', 'not_found', 'upstream_unavailable', 'internal']),
    message: z.string(),
  }),
});

export type ErrorCode = z.infer<typeof ErrorResponse>['error']['code'];
/** The body of every error answer: `{ error: { code, message } }`. */
export const errorBody = (code: ErrorCode, message: string): z.infer<typeof ErrorResponse> => ({ error: { code, message } });

const credit = z.strictObject({
  key: z.string().meta({ description: "Channel, or campaign ('(none)' = touches without one)" }),
  conversions: z.number().meta({ description: 'Conversions credited (fractional)' }),
  share: z.number().meta({ description: 'conversions / all attributed conversions of the model' }),
  revenue: z.number().nullable().meta({ description: 'Revenue credited (heuristic models); null when none' }),
});

export const AttributionResponse = z.strictObject({
  from: isoTime,
  to: isoTime,
  site: z.string().nullable(),
  breakdown: z.enum(['channel', 'campaign']),
  models: z.array(
    z.strictObject({
      model: z.enum(['markov', 'first_touch', 'last_touch', 'linear', 'position_based', 'time_decay']),
      source: z.enum(['stored_run', 'query_time', 'journey_step']).meta({
        description:
          'journey_step (heuristic models): the credit the journey step wrote per conversion to the attribution table, corrections included; ' +
          'stored_run (markov): a run of npm run attribution over exactly this site and period; query_time (markov): computed from touchpoints for this request',
      }),
      runId: z.string().nullable(),
      computedAt: isoTime.nullable(),
      conversions: z.number().meta({ description: 'Conversions in the period with at least one touch (credited)' }),
      unattributedConversions: z.number().meta({ description: 'Conversions without a touch to credit (heuristics: none in the lookback; markov: none in the period)' }),
      truncated: z.boolean().meta({ description: 'markov at query time: the 100,000 distinct paths bound was reached, part of the period is left out' }),
      rows: z.array(credit),
    }),
  ),
});

const pathStat = z.strictObject({
  path: z.string().meta({ description: 'Channels in order, "search > email > direct" (repeats folded)' }),
  journeys: z.number(),
  conversions: z.number(),
  dropoffs: z.number().meta({ description: 'Journeys on the path that had not converted by the end of the period' }),
  conversionRate: z.number(),
});

export const PathsResponse = z.strictObject({
  from: isoTime,
  to: isoTime,
  site: z.string().nullable(),
  journeys: z.number(),
  conversions: z.number(),
  unattributedConversions: z.number(),
  distinctPaths: z.number(),
  toConversion: z.array(pathStat),
  toDropoff: z.array(pathStat),
});

export const DeletionResponse = z.strictObject({
  deletionId: z.string(),
  status: z.enum(['pending', 'done', 'not_found']).meta({ description: 'pending until every table, state store and the suppression list are done; not_found: no id linked to the request (nothing was deleted)' }),
  requestedBy: z.string(),
  requestedAt: isoTime,
  idKind: z.enum(['userId', 'anonymousId', 'email', 'customerId']),
  suppress: z.boolean(),
  ids: z.number().meta({ description: 'Linked ids found (0 until resolved)' }),
  deletedRows: z.record(z.string(), z.number()).meta({ description: 'Rows each table lost (row versions not yet merged count too)' }),
  finishedAt: isoTime.nullable(),
});
