import { EVENTS } from '../../../schemas/event-names.js';
import { SAAS_FEATURES, type Product } from './catalog.js';
import { EVENT_STEPS } from './config.js';
import { identifyIfAnonymous, visit } from './journey-visits.js';
import type { SiteJourney } from './journey.js';
import { PAGES, productPage } from './pages.js';
import type { Person } from './people.js';
import type { Journey, World } from './world.js';

const [DEMO_TO_TRIAL, TRIAL_TO_CONTRACT] = EVENT_STEPS.saas;
const AFTER_DEMO = 0;
const AFTER_TRIAL = 1;
const TRIAL_DAYS = 14;
const MAX_FEATURES_VIEWED = 5;

function* useFeatures(w: World, p: Person, times: number): Journey {
  for (let i = 0; i < times; i++) {
    w.track(p, EVENTS.featureUsed, { feature: w.rng.pick(SAAS_FEATURES).id });
    yield w.pageGap();
  }
}

/** Pricing and feature pages, maybe a comparison. */
function* evaluate(w: World, p: Person): Journey {
  const cfg = p.persona.config;
  w.page(p, PAGES.pricing);
  yield w.pageGap();
  const count = Math.min(MAX_FEATURES_VIEWED, 1 + w.rng.poisson(cfg.productsPerVisit - 1));
  let feature: Product = SAAS_FEATURES[0]!;
  for (let i = 0; i < count; i++) {
    feature = w.rng.pick(SAAS_FEATURES);
    w.page(p, productPage(feature));
    yield w.pageGap();
    w.track(p, EVENTS.productViewed, feature.viewedProperties);
    yield w.pageGap();
  }
  if (w.rng.chance(cfg.compareRate)) {
    w.track(p, EVENTS.productsCompared, { product_ids: [feature.id, 'competitor'] });
    yield w.pageGap();
  }
}

/**
 * Demo, trial (where the rest of the buying committee joins the account), contract. The champion
 * carries the account's journey; whether the account signs is drawn first, and a non-buying account
 * stops after the demo or after the trial, by exit weight.
 */
function* firstContract(w: World, p: Person): Generator<number, number | null, void> {
  const cfg = p.persona.config;
  const buys = w.rng.chance(cfg.transitions.considerationToPurchase);
  const exitAfter = buys ? -1 : p.persona.exitAfter.pick(w.rng);
  w.enterStage(p, 'consideration');
  yield* evaluate(w, p);
  // The demo form asks for a work email: identify, then the account (group).
  yield* identifyIfAnonymous(w, p);
  const account = p.account ?? w.newAccount(p);
  w.group(p);
  yield w.pageGap();
  w.track(p, EVENTS.demoRequested, { plan: account.plan.id, company_size: account.traits.employees });
  yield w.pageGap();
  if (exitAfter === AFTER_DEMO || w.blocked(p, DEMO_TO_TRIAL, null)) return null;

  yield w.visitGap();
  yield* visit(w, p);
  w.page(p, PAGES.account);
  yield w.pageGap();
  w.track(p, EVENTS.trialStarted, { plan: account.plan.id, trial_days: TRIAL_DAYS });
  for (let m = 1; m < account.size; m++) w.spawnMember(p, w.pageGap() + Math.round(w.rng.uniform(0, w.visitGap())));
  yield w.pageGap();
  yield* useFeatures(w, p, w.rng.int(1, 3));
  if (exitAfter === AFTER_TRIAL || w.blocked(p, TRIAL_TO_CONTRACT, 'consideration→purchase')) return null;

  yield w.visitGap();
  yield* visit(w, p);
  w.page(p, PAGES.pricing);
  yield w.pageGap();
  w.enterStage(p, 'purchase');
  const seats = Math.max(account.size, 5);
  const purchasedAt = w.now;
  w.track(p, EVENTS.contractSigned, {
    contract_id: w.nextId('c'),
    plan: account.plan.id,
    seats,
    revenue: account.plan.seatPrice * seats * 12,
    currency: 'EUR',
  });
  yield w.pageGap();
  return purchasedAt;
}

/** Billing renews the subscription server-side. */
function* renew(w: World, p: Person): Journey {
  const account = p.account;
  const seats = Math.max(account?.size ?? 1, 5);
  w.note('repeatPurchases');
  w.trackServer(p, EVENTS.subscriptionRenewed, {
    plan: account?.plan.id,
    revenue: (account?.plan.seatPrice ?? 29) * seats * 12,
    currency: 'EUR',
  });
  yield w.pageGap();
}

export const SAAS_JOURNEY: SiteJourney = {
  subscription: true,
  firstPurchase: firstContract,
  retentionTouch(w, p) {
    w.track(p, EVENTS.featureUsed, { feature: w.rng.pick(SAAS_FEATURES).id });
  },
  repeatPurchase: renew,
};

/**
 * Another member of a buying committee: arrives through the trial invite, identifies, joins the
 * account and tries a few features. Their touches count for the account, not as a journey.
 */
export function* committeeMemberJourney(w: World, m: Person): Journey {
  yield* visit(w, m, 'email');
  w.page(m, PAGES.invite);
  yield w.pageGap();
  yield* identifyIfAnonymous(w, m);
  w.group(m);
  yield w.pageGap();
  yield* useFeatures(w, m, w.rng.int(1, 4));
}
