import { afterPurchase } from './journey-customer.js';
import { committeeMemberJourney, SAAS_JOURNEY } from './journey-saas.js';
import { SHOP_JOURNEY } from './journey-shop.js';
import { awareness, visit } from './journey-visits.js';
import type { Person } from './people.js';
import type { Journey, World } from './world.js';

/** What differs between an e-commerce and a SaaS journey. */
export interface SiteJourney {
  /** Subscriptions can fail to renew (Payment Failed) when a customer lapses. */
  readonly subscription: boolean;
  /** From entering consideration to the first purchase; returns the time of the purchase event, or null when the person did not buy. */
  firstPurchase(w: World, p: Person): Generator<number, number | null, void>;
  /** The one call that opens retention (regular use after the purchase). */
  retentionTouch(w: World, p: Person): void;
  repeatPurchase(w: World, p: Person): Journey;
}

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
  const online = yield* awareness(w, p);
  if (!w.rng.chance(t.awarenessToConsideration) || w.blocked(p, null, 'awareness→consideration')) return;
  // An offline first touch (store, phone) has no web visit to continue.
  if (!online || !w.rng.chance(w.sameVisitRate)) {
    yield w.visitGap();
    yield* visit(w, p);
  }
  const purchasedAt = yield* site.firstPurchase(w, p);
  if (purchasedAt === null) return;
  yield* afterPurchase(w, p, site, purchasedAt);
}
