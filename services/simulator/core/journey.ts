import { advocacy, awareness, complaint, maybeLapse, passiveFeedback, visit } from './journey-common.js';
import { committeeMemberJourney, SAAS_JOURNEY } from './journey-saas.js';
import { SHOP_JOURNEY } from './journey-shop.js';
import { PAGES } from './pages.js';
import type { Person } from './people.js';
import type { Journey, World } from './world.js';

/** What differs between an e-commerce and a SaaS journey. */
export interface SiteJourney {
  /** Subscriptions can fail to renew (Payment Failed) when a customer lapses. */
  readonly subscription: boolean;
  /** From entering consideration to the first purchase; returns whether the person bought. */
  firstPurchase(w: World, p: Person): Generator<number, boolean, void>;
  /** The one call that opens retention (regular use after the purchase). */
  retentionTouch(w: World, p: Person): void;
  repeatPurchase(w: World, p: Person): Journey;
}

/** Repeat purchases are geometric; the cap only guards against a repeat rate configured near 1. */
const MAX_REPEAT_PURCHASES = 20;

/**
 * A person's whole journey: awareness → consideration → purchase → retention → advocacy, each step
 * taken with the persona's transition probability (and subject to conversion-drop incidents).
 * People who stop after buying may lapse with churn signals.
 */
export function* personJourney(w: World, p: Person): Journey {
  if (!p.tracksJourney) {
    yield* committeeMemberJourney(w, p);
    return;
  }
  const site = p.persona.site.kind === 'ecommerce' ? SHOP_JOURNEY : SAAS_JOURNEY;
  const t = p.persona.config.transitions;
  yield* awareness(w, p);
  if (!w.rng.chance(t.awarenessToConsideration) || w.blocked(p, null, 'awareness→consideration')) return;
  // An offline first touch (store, phone) has no web visit to continue.
  const onlineNow = p.context.page !== undefined;
  if (!onlineNow || !w.rng.chance(w.sameVisitRate)) {
    yield w.visitGap();
    yield* visit(w, p);
  }
  if (!(yield* site.firstPurchase(w, p))) return;
  yield* afterPurchase(w, p, site);
}

function* afterPurchase(w: World, p: Person, site: SiteJourney): Journey {
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
  for (let i = 0; i < MAX_REPEAT_PURCHASES && w.rng.chance(cfg.repeatPurchaseRate); i++) {
    yield w.visitGap();
    yield* site.repeatPurchase(w, p);
  }
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
