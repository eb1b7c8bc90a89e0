import { z } from 'zod';
import { EVENTS } from '../../../schemas/event-names.js';

/**
 * The simulator's configuration. Everything has a default, so `parseSimulatorConfig({})` is a
 * complete, realistic setup: two sites and three personas. All probabilities are in [0, 1];
 * weights are relative (they need not sum to 1).
 */

export const SIM_CHANNELS = ['search', 'social', 'email', 'ads', 'referral', 'store', 'support', 'direct'] as const;
export type SimChannel = (typeof SIM_CHANNELS)[number];
export const SIM_DEVICE_TYPES = ['desktop', 'mobile', 'tablet'] as const;
export type SimDeviceType = (typeof SIM_DEVICE_TYPES)[number];
export const SITE_KINDS = ['ecommerce', 'saas'] as const;
export type SiteKind = (typeof SITE_KINDS)[number];
/** Source ids, as the collector's source config and the tracking-volume monitor name them. */
export const SOURCE_KINDS = ['web', 'ios', 'android', 'server'] as const;
export type SourceKind = (typeof SOURCE_KINDS)[number];

/** Incident steps between stages, in the alerter's `from→to` notation. */
export const STAGE_STEPS = [
  'awareness→consideration',
  'consideration→purchase',
  'purchase→retention',
  'retention→advocacy',
] as const;
export type StageStep = (typeof STAGE_STEPS)[number];

/** Incident steps between consecutive funnel events of each site kind (the consideration steps). */
export const EVENT_STEPS = {
  ecommerce: [
    `${EVENTS.productViewed}→${EVENTS.productAdded}`,
    `${EVENTS.productAdded}→${EVENTS.checkoutStarted}`,
    `${EVENTS.checkoutStarted}→${EVENTS.orderCompleted}`,
  ],
  saas: [`${EVENTS.demoRequested}→${EVENTS.trialStarted}`, `${EVENTS.trialStarted}→${EVENTS.contractSigned}`],
} as const satisfies Record<SiteKind, readonly string[]>;

/** Where non-buyers leave consideration when a persona does not say (see considerationExitWeights). */
export const DEFAULT_EXIT_WEIGHTS: Record<SiteKind, readonly number[]> = { ecommerce: [0.55, 0.3, 0.15], saas: [0.6, 0.4] };

const probability = z.number().min(0).max(1);
const weight = z.number().min(0).finite();
const durationMs = z.number().int().min(0);
const positiveMs = z.number().int().positive();

/** An object of named weights; a missing name weighs 0, and some weight must be positive. */
function weightsOf<const K extends string>(names: readonly K[], defaults: Partial<Record<K, number>>) {
  const shape = Object.fromEntries(names.map((n) => [n, weight.default(defaults[n] ?? 0)])) as Record<
    K,
    z.ZodDefault<typeof weight>
  >;
  return z
    .object(shape)
    .refine((w) => Object.values<number>(w as Record<string, number>).some((v) => v > 0), 'some weight must be positive');
}
const weightList = (length: { min: number; max: number }) =>
  z
    .array(weight)
    .min(length.min)
    .max(length.max)
    .refine((w) => w.some((v) => v > 0), 'some weight must be positive');

const Range = z
  .object({ min: durationMs, max: durationMs })
  .refine((r) => r.min <= r.max, 'min must not exceed max');

export const Transitions = z.object({
  /** P(consideration | awareness); 1 − this is the awareness drop-off. */
  awarenessToConsideration: probability,
  considerationToPurchase: probability,
  purchaseToRetention: probability,
  retentionToAdvocacy: probability,
});
export type Transitions = z.infer<typeof Transitions>;

export const PersonaConfig = z.object({
  /** Becomes `traits.persona` / `context.traits.persona`, the pipeline's `segment` dimension. */
  name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'persona names are lower-case words joined by -'),
  weight,
  /** The id of the site this persona's people use. */
  site: z.string().min(1),
  transitions: Transitions,
  /**
   * Where considering people who will not buy leave, one weight per consideration step of the site
   * kind: ecommerce [after viewing products, after Product Added, after Checkout Started];
   * saas [after Demo Requested, after Trial Started]. Default: DEFAULT_EXIT_WEIGHTS of the site kind.
   */
  considerationExitWeights: weightList({ min: 2, max: 3 }).optional(),
  channels: weightsOf(SIM_CHANNELS, { search: 0.35, social: 0.2, ads: 0.2, email: 0.1, referral: 0.05, direct: 0.1 }).prefault({}),
  devices: weightsOf(SIM_DEVICE_TYPES, { desktop: 0.5, mobile: 0.4, tablet: 0.1 }).prefault({}),
  /** Weights for a person using 1, 2 or 3 devices (each device is one anonymousId). */
  devicesPerPerson: weightList({ min: 1, max: 3 }).default([0.6, 0.3, 0.1]),
  /** Share of mobile/tablet devices that use the native app (ios/android source) rather than the mobile web. */
  appShare: probability.default(0.3),
  /**
   * P(an anonymous visitor identifies during the first visit: sign-up, newsletter). Everyone else
   * stays anonymous until they must identify: at checkout (ecommerce) or the demo form (saas).
   */
  identifyRate: probability.default(0.25),
  /** P(an `alias` previousId=anonymousId → userId follows the first identify). */
  aliasRate: probability.default(0.05),
  /** Mean number of extra pages in a visit (Poisson). */
  pagesPerVisit: z.number().min(0).max(50).default(2),
  /** Mean number of products viewed when considering (1 + Poisson of mean − 1). */
  productsPerVisit: z.number().min(1).max(20).default(2),
  searchRate: probability.default(0.4),
  compareRate: probability.default(0.15),
  /** P(a retained customer opens a support ticket). */
  complaintRate: probability.default(0.08),
  /** P(a customer who stops progressing shows churn signals: payment failure, cancellation page, cancel). */
  lapseRate: probability.default(0.3),
  /** P(an advocate refers someone: Referral Sent, then a new person starting with Referral Accepted). */
  referralRate: probability.default(0.25),
  /** What an advocate does first: a 4–5 star review, a 9–10 NPS, or a share. */
  advocacyActions: weightsOf(['review', 'nps', 'share'] as const, { review: 0.45, nps: 0.35, share: 0.2 }).prefault({}),
  /**
   * Feedback from retained customers who do not become advocates, drawn from the low part of the
   * distributions (ratings 1–3, NPS 0–8); advocates draw from the high part (4–5, 9–10).
   */
  feedback: z
    .object({
      reviewRate: probability.default(0.3),
      npsRate: probability.default(0.3),
      /** Weights of ratings 1..5. */
      ratingWeights: weightList({ min: 5, max: 5 }).default([0.06, 0.06, 0.13, 0.35, 0.4]),
      /** Weights of scores 0..10. */
      npsWeights: weightList({ min: 11, max: 11 }).default([0.02, 0.02, 0.03, 0.03, 0.04, 0.06, 0.08, 0.12, 0.18, 0.2, 0.22]),
    })
    .prefault({}),
  /** Weights for accounts of 1, 2, … people (saas sites; the first person is the champion). */
  committeeSizeWeights: weightList({ min: 1, max: 8 }).default([1]),
});
export type PersonaConfig = z.infer<typeof PersonaConfig>;

export const SiteConfig = z.object({
  /** Host name; pages are `https://<id><path>`. */
  id: z.string().regex(/^[a-z0-9.-]+$/, 'a site id is a host name'),
  kind: z.enum(SITE_KINDS),
  /** Write key per source. `web` is required; calls for a missing app/server source go through `web`. */
  writeKeys: z.object({
    web: z.string().min(1),
    ios: z.string().min(1).optional(),
    android: z.string().min(1).optional(),
    server: z.string().min(1).optional(),
  }),
});
export type SiteConfig = z.infer<typeof SiteConfig>;

/** Times are ms after the simulator's startTime (simulated time). */
export const ConversionDropIncident = z.object({
  kind: z.literal('conversion-drop'),
  at: durationMs,
  /** Until at + durationMs; forever when absent. */
  durationMs: positiveMs.optional(),
  /** A stage step ('consideration→purchase') or an event step ('Product Added→Checkout Started'); `->` works too. */
  step: z.string().transform((s) => s.replace(/\s*(?:->|→)\s*/, '→')),
  /** Relative drop of the step's conversion, in percent: 40 means 40% fewer people make the step. */
  dropPct: z.number().min(0).max(100),
  /** Only this site; every site when absent. */
  site: z.string().optional(),
});
export const TrackingStoppedIncident = z
  .object({
    kind: z.literal('tracking-stopped'),
    at: durationMs,
    durationMs: positiveMs,
    site: z.string().optional(),
    /** A source kind (web, ios, android, server); with `site`, only that site's source. */
    source: z.enum(SOURCE_KINDS).optional(),
  })
  .refine((i) => i.site !== undefined || i.source !== undefined, 'tracking-stopped needs a site or a source');
export const Incident = z.discriminatedUnion('kind', [ConversionDropIncident, TrackingStoppedIncident]);
export type Incident = z.infer<typeof Incident>;

/**
 * Purchases after a customer's first follow a BG/NBD process (Fader, Hardie & Lee 2005), the model
 * the churn scoring fits (`npm run fit-churn`): each customer gets a purchase rate λ ~ Gamma(r, α)
 * per time unit and a drop-out probability p ~ Beta(a, b); after each repeat purchase they drop out
 * with probability p, otherwise the next one follows an Exp(λ) wait. One population for every
 * persona, so a refit of the whole history has these parameters to recover.
 */
export const RepeatPurchases = z.object({
  /** Gamma shape of the purchase rate. */
  r: z.number().positive().default(0.75),
  /** Gamma rate (inverse scale) of the purchase rate, in time units: mean rate r / α purchases per unit. */
  alpha: z.number().positive().default(4),
  a: z.number().positive().default(0.8),
  b: z.number().positive().default(2.5),
  /** Length of one time unit in days (λ and α are per unit): the fit's FIT_TIME_UNIT_DAYS. */
  timeUnitDays: z.number().positive().max(365).default(7),
  /**
   * A customer's purchases are simulated up to this long after their first: BG/NBD has no end of its
   * own (a customer with p near 0 buys forever), a bounded run must end, and a live run would hold
   * every customer's journey in memory until then. Live runs last hours, so the default is short;
   * history mode (`npm run simulate`) raises it to at least --days, so the whole history is BG/NBD.
   */
  horizonDays: z.number().positive().max(36_500).default(7),
});
export type RepeatPurchases = z.infer<typeof RepeatPurchases>;

const DEFAULT_SITES: z.input<typeof SiteConfig>[] = [
  {
    id: 'shop.example',
    kind: 'ecommerce',
    writeKeys: { web: 'wk_shop_web', ios: 'wk_shop_ios', android: 'wk_shop_android', server: 'wk_shop_server' },
  },
  { id: 'app.example', kind: 'saas', writeKeys: { web: 'wk_app_web', server: 'wk_app_server' } },
];

const DEFAULT_PERSONAS: z.input<typeof PersonaConfig>[] = [
  {
    name: 'online-first',
    weight: 0.5,
    site: 'shop.example',
    transitions: { awarenessToConsideration: 0.55, considerationToPurchase: 0.3, purchaseToRetention: 0.5, retentionToAdvocacy: 0.35 },
    considerationExitWeights: [0.55, 0.3, 0.15],
    channels: { search: 0.3, social: 0.25, ads: 0.2, email: 0.07, referral: 0.05, direct: 0.11, store: 0.01, support: 0.01 },
    devices: { mobile: 0.65, desktop: 0.25, tablet: 0.1 },
    devicesPerPerson: [0.4, 0.4, 0.2],
    appShare: 0.45,
    identifyRate: 0.3,
    pagesPerVisit: 2.5,
    productsPerVisit: 3,
    searchRate: 0.65,
    compareRate: 0.25,
    complaintRate: 0.05,
    lapseRate: 0.3,
    referralRate: 0.3,
    advocacyActions: { review: 0.4, nps: 0.2, share: 0.4 },
  },
  {
    name: 'store-first',
    weight: 0.3,
    site: 'shop.example',
    transitions: { awarenessToConsideration: 0.45, considerationToPurchase: 0.4, purchaseToRetention: 0.6, retentionToAdvocacy: 0.25 },
    considerationExitWeights: [0.5, 0.3, 0.2],
    channels: { store: 0.35, email: 0.25, direct: 0.15, search: 0.1, ads: 0.05, social: 0.02, referral: 0.03, support: 0.05 },
    devices: { desktop: 0.7, mobile: 0.2, tablet: 0.1 },
    devicesPerPerson: [0.75, 0.2, 0.05],
    appShare: 0.1,
    identifyRate: 0.5,
    pagesPerVisit: 1.5,
    productsPerVisit: 1.5,
    searchRate: 0.2,
    compareRate: 0.1,
    complaintRate: 0.1,
    lapseRate: 0.35,
    referralRate: 0.15,
    advocacyActions: { review: 0.5, nps: 0.45, share: 0.05 },
  },
  {
    name: 'b2b-committee',
    weight: 0.2,
    site: 'app.example',
    transitions: { awarenessToConsideration: 0.35, considerationToPurchase: 0.3, purchaseToRetention: 0.75, retentionToAdvocacy: 0.3 },
    considerationExitWeights: [0.6, 0.4],
    channels: { search: 0.3, ads: 0.2, email: 0.2, referral: 0.1, social: 0.1, direct: 0.1 },
    devices: { desktop: 0.85, mobile: 0.1, tablet: 0.05 },
    devicesPerPerson: [0.6, 0.3, 0.1],
    appShare: 0,
    identifyRate: 0.2,
    aliasRate: 0.1,
    pagesPerVisit: 3,
    productsPerVisit: 2,
    searchRate: 0.1,
    compareRate: 0.4,
    complaintRate: 0.12,
    lapseRate: 0.25,
    referralRate: 0.2,
    advocacyActions: { review: 0.35, nps: 0.5, share: 0.15 },
    feedback: { reviewRate: 0.2, npsRate: 0.5 },
    committeeSizeWeights: [0, 0.3, 0.35, 0.25, 0.1],
  },
];

export const SimulatorConfig = z
  .object({
    /** The only entropy: same seed + same config ⇒ the same calls (messageIds are `m-<seed>-<n>`). */
    seed: z.number().int().min(0).max(0xffffffff).default(42),
    arrival: z
      .object({
        /** Target mean rate of calls per simulated second (new people arrive as a Poisson process). */
        callsPerSecond: z.number().positive().default(200),
        /** 0 = flat; 0.3 = arrivals swing ±30% over the UTC day (sinusoid). */
        dailyAmplitude: z.number().min(0).max(1).default(0),
        peakHourUtc: z.number().min(0).max(24).default(20),
      })
      .prefault({}),
    timing: z
      .object({
        /** Mean gap between calls of one visit (exponential, at least 500 ms). */
        pageGapMs: positiveMs.default(20_000),
        /** Mean gap between visits (exponential, at least 1 minute). Compressed: real journeys span days. */
        sessionGapMs: positiveMs.default(10 * 60_000),
        /** P(consideration starts in the same visit as awareness). */
        sameVisitRate: probability.default(0.5),
      })
      .prefault({}),
    delivery: z
      .object({
        /** P(a call is held back and arrives long after its timestamp: offline devices, stuck queues). */
        lateRate: probability.default(0.01),
        lateDelayMs: Range.default({ min: 5 * 60_000, max: 60 * 60_000 }),
        /** P(a call is held back a little, so it arrives after later calls). */
        outOfOrderRate: probability.default(0.02),
        outOfOrderWindowMs: positiveMs.default(10_000),
        /** P(a call is sent twice with the same messageId: SDK retries). */
        duplicateRate: probability.default(0.01),
        duplicateDelayMs: Range.default({ min: 500, max: 30_000 }),
      })
      .prefault({})
      .refine((d) => d.lateRate + d.outOfOrderRate <= 1, 'lateRate + outOfOrderRate must not exceed 1'),
    repeatPurchases: RepeatPurchases.prefault({}),
    sites: z.array(SiteConfig).min(1).prefault(DEFAULT_SITES),
    personas: z.array(PersonaConfig).min(1).prefault(DEFAULT_PERSONAS),
    incidents: z.array(Incident).default([]),
  })
  .superRefine((c, ctx) => {
    const sites = new Map(c.sites.map((s) => [s.id, s]));
    if (sites.size !== c.sites.length) ctx.addIssue({ code: 'custom', path: ['sites'], message: 'site ids must be unique' });
    if (new Set(c.personas.map((p) => p.name)).size !== c.personas.length)
      ctx.addIssue({ code: 'custom', path: ['personas'], message: 'persona names must be unique' });
    if (!c.personas.some((p) => p.weight > 0))
      ctx.addIssue({ code: 'custom', path: ['personas'], message: 'some persona weight must be positive' });
    c.personas.forEach((p, i) => {
      const site = sites.get(p.site);
      if (site === undefined) {
        ctx.addIssue({ code: 'custom', path: ['personas', i, 'site'], message: `unknown site '${p.site}'` });
        return;
      }
      const steps = EVENT_STEPS[site.kind].length;
      if (p.considerationExitWeights !== undefined && p.considerationExitWeights.length !== steps)
        ctx.addIssue({
          code: 'custom',
          path: ['personas', i, 'considerationExitWeights'],
          message: `a ${site.kind} site has ${steps} consideration exit points`,
        });
    });
    c.incidents.forEach((incident, i) => {
      if (incident.site !== undefined && !sites.has(incident.site))
        ctx.addIssue({ code: 'custom', path: ['incidents', i, 'site'], message: `unknown site '${incident.site}'` });
      if (incident.kind !== 'conversion-drop') return;
      if (!isKnownStep(incident.step)) {
        ctx.addIssue({ code: 'custom', path: ['incidents', i, 'step'], message: `unknown step '${incident.step}'` });
        return;
      }
      const kind = incident.site === undefined ? undefined : sites.get(incident.site)?.kind;
      const isStageStep = (STAGE_STEPS as readonly string[]).includes(incident.step);
      if (kind !== undefined && !isStageStep && !(EVENT_STEPS[kind] as readonly string[]).includes(incident.step))
        ctx.addIssue({ code: 'custom', path: ['incidents', i, 'step'], message: `a ${kind} site has no step '${incident.step}'` });
    });
  });
export type SimulatorConfig = z.infer<typeof SimulatorConfig>;
export type SimulatorConfigInput = z.input<typeof SimulatorConfig>;

export function isKnownStep(step: string): boolean {
  return (STAGE_STEPS as readonly string[]).includes(step) || SITE_KINDS.some((k) => (EVENT_STEPS[k] as readonly string[]).includes(step));
}

/** Parses and defaults a config; throws a ZodError naming every problem. */
export function parseSimulatorConfig(input: unknown = {}): SimulatorConfig {
  return SimulatorConfig.parse(input);
}
