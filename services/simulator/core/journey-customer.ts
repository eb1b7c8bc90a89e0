import { EVENTS } from '../../../schemas/event-names.js';
import { SAAS_FEATURES, SHOP_PRODUCTS, TICKET_TOPICS, type Product } from './catalog.js';
import type { SiteJourney } from './journey.js';
import { visit } from './journey-visits.js';
import { PAGES } from './pages.js';
import type { Person } from './people.js';
import type { Journey, World } from './world.js';

const DAY_MS = 86_400_000;
const TICKET_RESOLVED_RATE = 0.8;
const CALL_CENTER_FIRST_RATE = 0.3;
const PAYMENT_FAILED_RATE = 0.5;
const CANCEL_AFTER_CANCEL_PAGE_RATE = 0.5;

/** What a customer of this person's site reviews or shares. */
function productsOf(p: Person): readonly Product[] {
  return p.persona.site.kind === 'ecommerce' ? SHOP_PRODUCTS : SAAS_FEATURES;
}

/**
 * Life as a customer after the first purchase (made at `firstPurchaseAt`): the stages first, on the
 * journey's compressed clock (retention, maybe a complaint, advocacy for some; whoever stops
 * progressing may lapse with churn signals), then, for every customer, repeat purchases over weeks
 * as a BG/NBD process timed from the first purchase.
 */
export function* afterPurchase(w: World, p: Person, site: SiteJourney, firstPurchaseAt: number): Journey {
  yield* customerStages(w, p, site);
  yield* repeatPurchases(w, p, site, firstPurchaseAt);
}

/**
 * The BG/NBD process (config `repeatPurchases`): λ ~ Gamma(r, α) per time unit and p ~ Beta(a, b)
 * for this customer; purchase times are the first purchase plus Exp(λ) waits, and after each one
 * the customer drops out with probability p. Times are absolute, so the stages run before the first
 * repeat purchase do not shift the process (a purchase due while they were still running happens
 * right after them). Nothing is simulated past `horizonDays` after the first purchase.
 *
 * What a refit sees: it counts distinct UTC purchase days (as the journey state does), so two
 * purchases on one day would count once and bias the refit towards fewer, less heterogeneous
 * buyers (several standard errors at 20,000 customers). So a purchase drawn on a day that already
 * has one of the customer's purchases moves to the same time of the next free day: the count of
 * purchase days is the process's count, and only that purchase's time shifts, by less than a day
 * (the schedule of the later ones is unchanged). A purchase's visit starts at its time, so its
 * purchase event follows by the few minutes of browsing, an offset that does not add up.
 */
function* repeatPurchases(w: World, p: Person, site: SiteJourney, firstPurchaseAt: number): Journey {
  const m = w.repeatPurchases;
  const unitMs = m.timeUnitDays * DAY_MS;
  const rate = w.rng.gamma(m.r, 1 / m.alpha);
  const dropout = w.rng.beta(m.a, m.b);
  const until = firstPurchaseAt + m.horizonDays * DAY_MS;
  let drawn = firstPurchaseAt;
  let lastDay = Math.floor(firstPurchaseAt / DAY_MS);
  for (;;) {
    // A rate that underflows to 0 gives an infinite (or NaN) wait: no more purchases.
    drawn += w.rng.exponential(unitMs / rate);
    const at = drawn + Math.max(0, lastDay + 1 - Math.floor(drawn / DAY_MS)) * DAY_MS;
    if (!(at <= until)) return;
    if (at > w.now) yield Math.round(at - w.now);
    yield* site.repeatPurchase(w, p);
    // Now is just after the purchase event (a page gap): a day that ends later than it, never earlier.
    lastDay = Math.floor(w.now / DAY_MS);
    if (w.rng.chance(dropout)) return;
  }
}

/** Retention (regular use, maybe a complaint), then advocacy for some; whoever stops progressing may lapse. */
function* customerStages(w: World, p: Person, site: SiteJourney): Journey {
  const cfg = p.persona.config;
  if (!w.rng.chance(cfg.transitions.purchaseToRetention) || w.blocked(p, null, 'purchase→retention')) {
    yield* maybeLapse(w, p, site.subscription);
    return;
  }
  yield w.visitGap();
  yield* visit(w, p);
  w.page(p, PAGES.account);
  yield w.pageGap();
  w.enterStage(p, 'retention');
  site.retentionTouch(w, p);
  yield w.pageGap();
  if (w.rng.chance(cfg.complaintRate)) {
    yield w.visitGap();
    yield* visit(w, p);
    yield* complaint(w, p);
  }
  if (w.rng.chance(cfg.transitions.retentionToAdvocacy) && !w.blocked(p, null, 'retention→advocacy')) {
    yield w.visitGap();
    yield* visit(w, p);
    yield* advocacy(w, p);
    return;
  }
  yield* passiveFeedback(w, p);
  yield* maybeLapse(w, p, site.subscription);
}

/** A support case: maybe a phone call, a ticket from the help center, usually resolved later. */
export function* complaint(w: World, p: Person): Journey {
  w.note('complaints');
  const topic = w.rng.pick(TICKET_TOPICS);
  const ticketId = w.nextId('t');
  if (w.rng.chance(CALL_CENTER_FIRST_RATE)) {
    w.trackServer(p, EVENTS.callCenterContacted, { reason: topic });
    yield w.pageGap();
  }
  w.page(p, PAGES.help);
  yield w.pageGap();
  w.track(p, EVENTS.supportTicketOpened, { ticket_id: ticketId, topic });
  yield w.visitGap();
  if (w.rng.chance(TICKET_RESOLVED_RATE)) {
    w.trackServer(p, EVENTS.supportTicketResolved, { ticket_id: ticketId, topic });
    yield w.pageGap();
  }
}

/** Feedback from a retained customer who is not (yet) an advocate: low ratings and scores only. */
export function* passiveFeedback(w: World, p: Person): Journey {
  const { persona } = p;
  if (persona.lowRating !== null && w.rng.chance(persona.config.feedback.reviewRate)) {
    const product = w.rng.pick(productsOf(p));
    w.track(p, EVENTS.productReviewed, { product_id: product.id, rating: persona.lowRating.pick(w.rng) });
    yield w.pageGap();
  }
  if (persona.lowNps !== null && w.rng.chance(persona.config.feedback.npsRate)) {
    w.track(p, EVENTS.npsSubmitted, { score: persona.lowNps.pick(w.rng), survey_id: 'nps-quarterly' });
    yield w.pageGap();
  }
}

/** Enters advocacy with a promoter action; maybe refers someone, who starts a journey of their own. */
export function* advocacy(w: World, p: Person): Journey {
  w.page(p, PAGES.account);
  yield w.pageGap();
  w.enterStage(p, 'advocacy');
  const { persona } = p;
  const action = persona.advocacy.pick(w.rng);
  const product = w.rng.pick(productsOf(p));
  if (action === 'review') w.track(p, EVENTS.productReviewed, { product_id: product.id, rating: persona.highRating?.pick(w.rng) ?? 5 });
  else if (action === 'nps') w.track(p, EVENTS.npsSubmitted, { score: persona.highNps?.pick(w.rng) ?? 10, survey_id: 'nps-quarterly' });
  else w.track(p, EVENTS.productShared, { product_id: product.id, share_via: w.rng.pick(['email', 'whatsapp', 'link']) });
  yield w.pageGap();
  if (w.rng.chance(persona.config.referralRate)) {
    w.note('referrals');
    w.track(p, EVENTS.referralSent, { referralCode: `ref-${p.userId}` });
    w.spawnReferred(p, w.visitGap());
    yield w.pageGap();
  }
}

/**
 * A customer who stops progressing may show churn signals before going quiet: a failed payment
 * (subscriptions), the cancellation page, sometimes an actual cancellation.
 */
export function* maybeLapse(w: World, p: Person, subscription: boolean): Journey {
  if (!w.rng.chance(p.persona.config.lapseRate)) return;
  w.note('lapsed');
  yield w.visitGap();
  if (subscription && w.rng.chance(PAYMENT_FAILED_RATE)) {
    w.trackServer(p, EVENTS.paymentFailed, { invoice_id: w.nextId('inv'), reason: 'card_declined' });
    yield w.visitGap();
  }
  yield* visit(w, p, 'direct');
  w.page(p, PAGES.cancel);
  yield w.pageGap();
  w.track(p, EVENTS.cancellationPageViewed, {});
  yield w.pageGap();
  if (w.rng.chance(CANCEL_AFTER_CANCEL_PAGE_RATE)) {
    w.track(p, EVENTS.subscriptionCancelled, { reason: w.rng.pick(['too-expensive', 'not-using', 'switched']) });
    yield w.pageGap();
  }
}
