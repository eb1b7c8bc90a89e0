import type { z } from 'zod';
import {
  ATTRIBUTION_MODELS,
  AlertsQuery,
  AttributionQuery,
  BUCKETS,
  BadRequestError,
  ChurnQuery,
  CohortsQuery,
  ConversionOverTimeQuery,
  CurrentStagesQuery,
  DropoffQuery,
  FunnelQuery,
  PathsQuery,
  StageFlowQuery,
  TimeToConvertQuery,
  resolveWindow,
  type Window,
} from './params.js';
import * as R from './responses.js';
import type { QueryRunner } from './runner.js';
import type { Scope } from './api-keys.js';
import { alerts } from './queries/alerts.js';
import { attribution } from './queries/attribution.js';
import { paths } from './queries/paths.js';
import { churn } from './queries/churn.js';
import { cohorts } from './queries/cohorts.js';
import { conversionOverTime } from './queries/conversion-over-time.js';
import { dropoff } from './queries/dropoff.js';
import { funnel } from './queries/funnel.js';
import { currentStages, stageFlow } from './queries/stages.js';
import { timeToConvert } from './queries/time-to-convert.js';
import type { DimensionFilter } from './filters.js';

export interface EndpointContext {
  db: QueryRunner;
  now: () => number;
}

export interface Endpoint<Q extends z.ZodType = z.ZodType, P extends z.ZodType = z.ZodType> {
  /** Fastify route; path parameters as `:name`. */
  path: string;
  /** For paths with parameters: the OpenAPI operationId (the others derive it from the path). */
  operationId?: string;
  /** The key scope it needs when keys are configured: `profiles` if it names customers, else `dashboard`. */
  scope: Scope;
  summary: string;
  description: string;
  /** Path parameters, validated like the query (400 naming the parameter). */
  params?: P;
  query: Q;
  response: z.ZodType;
  /** When set, the endpoint answers 404 (with this description in the OpenAPI document). */
  notFound?: string;
  handle(query: z.output<Q>, ctx: EndpointContext, params: z.output<P>): Promise<unknown>;
}

export const endpoint = <Q extends z.ZodType, P extends z.ZodType = z.ZodType>(e: Endpoint<Q, P>): Endpoint => e as unknown as Endpoint;

const dims = (q: DimensionFilter): DimensionFilter => {
  const out: DimensionFilter = {};
  for (const k of ['site', 'channel', 'campaign', 'device', 'segment'] as const) if (q[k] !== undefined) out[k] = q[k];
  return out;
};

/** Finest bucket by default, as long as the series stays readable. */
const AUTO_MINUTE_MAX_MS = 6 * 3_600_000;
const MAX_POINTS = 2_000;

function bucketFor(requested: 'minute' | 'hour' | undefined, w: Window): 'minute' | 'hour' {
  const bucket = requested ?? (w.toMs - w.fromMs <= AUTO_MINUTE_MAX_MS ? 'minute' : 'hour');
  if ((w.toMs - w.fromMs) / BUCKETS[bucket] > MAX_POINTS) {
    throw new BadRequestError(`bucket: more than ${MAX_POINTS} ${bucket}s in the window; use a coarser bucket or a shorter window`);
  }
  return bucket;
}

export const ENDPOINTS: Endpoint[] = [
  endpoint({
    path: '/api/funnel',
    scope: 'dashboard',
    summary: 'Funnel: customers entering each stage and converting to the next',
    description: 'Unique customers per stage over the window (default: last 24 h), with conversion rates to the next stage.',
    query: FunnelQuery,
    response: R.FunnelResponse,
    handle: (q, { db, now }) => funnel(db, resolveWindow(q, now()), dims(q)),
  }),
  endpoint({
    path: '/api/dropoff',
    scope: 'dashboard',
    summary: 'Drop-off per step, broken down by channel, device type and campaign',
    description:
      'For each stage (or the one given): conversions and drop-offs decided in the window, and the dimension value that lost the most customers beyond the step average.',
    query: DropoffQuery,
    response: R.DropoffResponse,
    handle: (q, { db, now }) => dropoff(db, resolveWindow(q, now()), dims(q), q.stage),
  }),
  endpoint({
    path: '/api/time-to-convert',
    scope: 'dashboard',
    summary: 'Time to convert out of a stage: quantiles and histogram',
    description: 'Seconds from entering fromStage (all stages when absent) to converting, for conversions in the window.',
    query: TimeToConvertQuery,
    response: R.TimeToConvertResponse,
    handle: (q, { db, now }) => timeToConvert(db, resolveWindow(q, now()), dims(q), q.fromStage),
  }),
  endpoint({
    path: '/api/stages/current',
    scope: 'dashboard',
    summary: 'Current stage distribution',
    description: "How many customers are in each stage now (each customer's latest stage), as of the last refresh of the counts (every 10 s).",
    query: CurrentStagesQuery,
    response: R.CurrentStagesResponse,
    handle: (q, { db }) => currentStages(db, q.site),
  }),
  endpoint({
    path: '/api/stage-flow',
    scope: 'dashboard',
    summary: 'Stage-to-stage transitions, for a Sankey diagram',
    description: "Transitions in the window by source and target stage; source 'new' is a customer's first stage.",
    query: StageFlowQuery,
    response: R.StageFlowResponse,
    handle: (q, { db, now }) => stageFlow(db, resolveWindow(q, now()), q.site),
  }),
  endpoint({
    path: '/api/cohorts',
    scope: 'dashboard',
    summary: 'Weekly cohort retention',
    description:
      'Cohort = ISO week (Monday) of first purchase; for each following week, the share of the cohort active (any touchpoint) and purchasing. As of the last refresh of the cohort table (every 5 minutes).',
    query: CohortsQuery,
    response: R.CohortsResponse,
    handle: (q, { db, now }) => cohorts(db, now(), q.weeks ?? 8, q.site),
  }),
  endpoint({
    path: '/api/churn',
    scope: 'profiles',
    summary: 'Churn-risk list',
    description: 'Customers by latest churn score (highest first) with reasons and the next best action, as of the last refresh of the ranking (every 30 s).',
    query: ChurnQuery,
    response: R.ChurnResponse,
    handle: (q, { db }) => churn(db, q.limit ?? 20, q.minScore ?? 0.5, q.site),
  }),
  endpoint({
    path: '/api/alerts',
    scope: 'dashboard',
    summary: 'Funnel alerts overlapping the window',
    description: 'Alerts firing at any time in the window (default: last 24 h), newest first; at most 500.',
    query: AlertsQuery,
    response: R.AlertsResponse,
    handle: (q, { db, now }) => alerts(db, resolveWindow(q, now()), q.status, q.site),
  }),
  endpoint({
    path: '/api/conversion-over-time',
    scope: 'dashboard',
    summary: 'Conversion rate series per step',
    description:
      'Per bucket: conversions, drop-offs and rate = conversions / (conversions + drop-offs) of each step (or the given stage).',
    query: ConversionOverTimeQuery,
    response: R.ConversionOverTimeResponse,
    handle: (q, { db, now }) => {
      const w = resolveWindow(q, now());
      const bucket = bucketFor(q.bucket, w);
      return conversionOverTime(db, w, dims(q), bucket, BUCKETS[bucket], q.stage);
    },
  }),
  endpoint({
    path: '/api/attribution',
    scope: 'dashboard',
    summary: 'Attribution: conversions credited per channel or campaign, by model',
    description:
      'Conversions (Order Completed, Contract Signed) in the window (default: last 24 h) widened to whole UTC hours (the response\'s from and to say which), credited to touches (channels other than web and other). ' +
      'Heuristic models (first_touch, last_touch, linear, position_based 40/20/40, time_decay with a 7-day half-life) are read from attribution_hourly, a snapshot of the attribution table refreshed every 5 minutes, ' +
      "where the journey step credits each conversion as it happens to the stitched customer's touches of its site within 30 days before it (both edges inclusive), " +
      'and corrects it when a late touch or an identity merge adds touches. ' +
      'markov (channels only): the newest stored run of npm run attribution for exactly this site and period, else computed at query time from the window\'s journey paths (README: Attribution).',
    query: AttributionQuery,
    response: R.AttributionResponse,
    handle: (q, { db, now }) => {
      const breakdown = q.breakdown ?? 'channel';
      if (q.model === 'markov' && breakdown === 'campaign') throw new BadRequestError('breakdown: the markov model credits channels only');
      const models = q.model !== undefined ? [q.model] : ATTRIBUTION_MODELS.filter((m) => breakdown === 'channel' || m !== 'markov');
      return attribution(db, resolveWindow(q, now()), q.site, models, breakdown);
    },
  }),
  endpoint({
    path: '/api/paths',
    scope: 'dashboard',
    summary: 'Most common channel paths to conversion and to drop-off',
    description:
      "Journey paths in the window (default: last 24 h): a stitched customer's touches up to each conversion, and after the last one up to the window's end (a drop-off). " +
      'The limit most frequent of each kind, with counts and conversion rates; computed over the 100,000 most frequent distinct paths.',
    query: PathsQuery,
    response: R.PathsResponse,
    handle: (q, { db, now }) => paths(db, resolveWindow(q, now()), q.site, q.limit ?? 20),
  }),
];
