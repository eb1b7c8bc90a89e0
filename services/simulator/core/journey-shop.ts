import { EVENTS } from '../../../schemas/event-names.js';
import { SEARCH_QUERIES, SHOP_FEATURES, SHOP_PRODUCTS, type Product } from './catalog.js';
import { EVENT_STEPS } from './config.js';
import { identifyIfAnonymous, visit } from './journey-visits.js';
import type { SiteJourney } from './journey.js';
import { PAGES, productPage } from './pages.js';
import type { Person } from './people.js';
import type { Journey, World } from './world.js';

const [VIEWED_TO_ADDED, ADDED_TO_CHECKOUT, CHECKOUT_TO_ORDER] = EVENT_STEPS.ecommerce;
const MAX_PRODUCTS_VIEWED = 6;
/** Exit points of a non-buyer (indices of persona.exitAfter). */
const AFTER_VIEWING = 0;
const AFTER_ADDING = 1;
const AFTER_CHECKOUT = 2;

interface CartLine {
  readonly product: Product;
  readonly quantity: number;
}

/** Searching, then product pages with Product Viewed; returns the product the person settles on. */
function* viewProducts(w: World, p: Person, count: number): Generator<number, Product, void> {
  const cfg = p.persona.config;
  if (w.rng.chance(cfg.searchRate)) {
    w.track(p, EVENTS.productsSearched, { query: w.rng.pick(SEARCH_QUERIES) });
    yield w.pageGap();
  }
  let product = w.rng.pick(SHOP_PRODUCTS);
  const seen: string[] = [];
  for (let i = 0; i < count; i++) {
    if (i > 0) product = w.rng.pick(SHOP_PRODUCTS);
    seen.push(product.id);
    w.page(p, productPage(product));
    yield w.pageGap();
    w.track(p, EVENTS.productViewed, product.viewedProperties);
    yield w.pageGap();
  }
  if (count > 1 && w.rng.chance(cfg.compareRate)) {
    w.track(p, EVENTS.productsCompared, { product_ids: seen });
    yield w.pageGap();
  }
  return product;
}

function lineProperties(line: CartLine) {
  const { product, quantity } = line;
  return { product_id: product.id, sku: product.sku, name: product.name, category: product.category, price: product.price, quantity };
}

function* addToCart(w: World, p: Person, line: CartLine): Journey {
  w.track(p, EVENTS.productAdded, { cart_id: w.nextId('cart'), ...lineProperties(line), currency: 'EUR' });
  yield w.pageGap();
  w.page(p, PAGES.cart);
  yield w.pageGap();
}

/** Checkout Started carries the cart value as `value`, not `revenue`: only orders are revenue. */
function* startCheckout(w: World, p: Person, line: CartLine, orderId: string): Journey {
  w.page(p, PAGES.checkout);
  yield w.pageGap();
  const value = line.product.price * line.quantity;
  w.track(p, EVENTS.checkoutStarted, { order_id: orderId, value, currency: 'EUR', products: [lineProperties(line)] });
  yield w.pageGap();
}

function* completeOrder(w: World, p: Person, line: CartLine, orderId: string): Journey {
  const revenue = line.product.price * line.quantity;
  w.track(p, EVENTS.orderCompleted, { order_id: orderId, revenue, currency: 'EUR', products: [lineProperties(line)] });
  yield w.pageGap();
}

const cartLine = (w: World, product: Product): CartLine => ({ product, quantity: w.rng.chance(0.8) ? 1 : 2 });

/**
 * Consideration to first order. Whether the person buys is drawn first (the persona's
 * considerationToPurchase); a non-buyer leaves after one of the three steps, by exit weight.
 * Conversion-drop incidents can stop anyone at a step on top of that.
 */
function* firstPurchase(w: World, p: Person): Generator<number, number | null, void> {
  const cfg = p.persona.config;
  const buys = w.rng.chance(cfg.transitions.considerationToPurchase);
  const exitAfter = buys ? -1 : p.persona.exitAfter.pick(w.rng);
  w.enterStage(p, 'consideration');
  const viewed = Math.min(MAX_PRODUCTS_VIEWED, 1 + w.rng.poisson(cfg.productsPerVisit - 1));
  const line = cartLine(w, yield* viewProducts(w, p, viewed));
  if (exitAfter === AFTER_VIEWING || w.blocked(p, VIEWED_TO_ADDED, null)) return null;
  yield* addToCart(w, p, line);
  if (exitAfter === AFTER_ADDING || w.blocked(p, ADDED_TO_CHECKOUT, null)) return null;
  // Checking out needs an account or at least an email: the anonymous visitor identifies here.
  yield* identifyIfAnonymous(w, p);
  const orderId = w.nextId('o');
  yield* startCheckout(w, p, line, orderId);
  if (exitAfter === AFTER_CHECKOUT || w.blocked(p, CHECKOUT_TO_ORDER, 'consideration→purchase')) return null;
  w.enterStage(p, 'purchase');
  const purchasedAt = w.now;
  yield* completeOrder(w, p, line, orderId);
  return purchasedAt;
}

/** A retained customer buys again: same funnel, no planned exit, but incidents still bite. */
function* repeatOrder(w: World, p: Person): Journey {
  yield* visit(w, p);
  const line = cartLine(w, yield* viewProducts(w, p, 1));
  if (w.blocked(p, VIEWED_TO_ADDED, null)) return;
  yield* addToCart(w, p, line);
  if (w.blocked(p, ADDED_TO_CHECKOUT, null)) return;
  const orderId = w.nextId('o');
  yield* startCheckout(w, p, line, orderId);
  if (w.blocked(p, CHECKOUT_TO_ORDER, null)) return;
  w.note('repeatPurchases');
  yield* completeOrder(w, p, line, orderId);
}

export const SHOP_JOURNEY: SiteJourney = {
  subscription: false,
  firstPurchase,
  retentionTouch(w, p) {
    w.track(p, EVENTS.featureUsed, { feature: w.rng.pick(SHOP_FEATURES) });
  },
  repeatPurchase: repeatOrder,
};
