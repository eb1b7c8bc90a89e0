import { describe, expect, it } from 'vitest';
import type { Stage } from '../../../schemas/journey.js';
import { EVENTS, PAGE_PATHS } from '../../../schemas/event-names.js';
import type { Touchpoint } from '../../../schemas/touchpoint.js';
import { loadShippedStageRules, touchpoint, type TouchOptions } from './testing.js';
import { classify } from './classify.js';
import { LazyProperties } from './touchpoint-facts.js';

interface Case {
  rule: string | null;
  stage?: Stage;
  tp: Touchpoint;
  hasPurchased?: boolean;
  says: string;
}

const t = (event: string, o: TouchOptions = {}) => touchpoint(event, 0, o);
const page = (path: string, o: TouchOptions = {}) => touchpoint('', 0, { type: 'page', path, ...o });

const COMMON: Case[] = [
  { says: 'a referred person accepting a referral starts at awareness', rule: 'referred-person-accepts-referral', stage: 'awareness', tp: t(EVENTS.referralAccepted, { props: { referrerId: 'adv-1' } }) },
  { says: 'an order by a customer who already bought is a repeat purchase', rule: 'repeat-purchase', stage: 'retention', tp: t(EVENTS.orderCompleted), hasPurchased: true },
  { says: 'a renewal is retention', rule: 'subscription-renewed', stage: 'retention', tp: t(EVENTS.subscriptionRenewed) },
  { says: 'feature use after a purchase is regular use', rule: 'regular-use', stage: 'retention', tp: t(EVENTS.featureUsed), hasPurchased: true },
  { says: 'a resolved support case of a customer is retention', rule: 'support-case-resolved', stage: 'retention', tp: t(EVENTS.supportTicketResolved), hasPurchased: true },
  { says: 'a 4-star review is advocacy', rule: 'positive-review', stage: 'advocacy', tp: t(EVENTS.productReviewed, { props: { rating: 4 } }) },
  { says: 'an NPS of 9 is advocacy', rule: 'nps-promoter', stage: 'advocacy', tp: t(EVENTS.npsSubmitted, { props: { score: 9 } }) },
  { says: 'an NPS of 10 is advocacy', rule: 'nps-promoter', stage: 'advocacy', tp: t(EVENTS.npsSubmitted, { props: { score: 10 } }) },
  { says: 'sending a referral is advocacy', rule: 'referral', stage: 'advocacy', tp: t(EVENTS.referralSent) },
  { says: "the advocate's side of an accepted referral (no referrerId) is advocacy", rule: 'referral', stage: 'advocacy', tp: t(EVENTS.referralAccepted) },
  { says: 'sharing a product is advocacy', rule: 'product-shared', stage: 'advocacy', tp: t(EVENTS.productShared) },
  { says: 'an ad click is awareness', rule: 'ad-clicked', stage: 'awareness', tp: t(EVENTS.adClicked) },
  { says: 'an email click is awareness', rule: 'email-link-clicked', stage: 'awareness', tp: t(EVENTS.emailLinkClicked) },
  { says: 'a social post click is awareness', rule: 'social-post-clicked', stage: 'awareness', tp: t(EVENTS.socialPostClicked) },
  { says: 'a blog visit is awareness', rule: 'blog-visit', stage: 'awareness', tp: page(`${PAGE_PATHS.blog}/why-us`) },
  { says: 'a blog path given in properties counts too', rule: 'blog-visit', stage: 'awareness', tp: touchpoint('', 0, { type: 'page', props: { path: '/blog?utm=x' } }) },
  { says: 'a visit from social media is awareness', rule: 'social-visit', stage: 'awareness', tp: page('/', { channel: 'social' }) },
  { says: 'a visit from an ad is awareness', rule: 'ad-visit', stage: 'awareness', tp: page('/', { channel: 'ads' }) },
  { says: 'a 3-star review is no stage', rule: null, tp: t(EVENTS.productReviewed, { props: { rating: 3 } }) },
  { says: 'an NPS of 8 is no stage', rule: null, tp: t(EVENTS.npsSubmitted, { props: { score: 8 } }) },
  { says: 'a plain home-page visit is no stage', rule: null, tp: page(PAGE_PATHS.home) },
  { says: 'a cancellation-page visit is no stage (it is a churn signal)', rule: null, tp: page(PAGE_PATHS.cancel) },
  { says: 'a path that only starts with the same letters does not match a prefix', rule: null, tp: page('/blogger') },
  { says: 'a track call with a blog path is not a page visit', rule: null, tp: touchpoint('Something', 0, { path: '/blog' }) },
];

const ECOMMERCE: Case[] = [
  ...COMMON,
  { says: 'a first order is a purchase', rule: 'order-completed', stage: 'purchase', tp: t(EVENTS.orderCompleted) },
  { says: 'feature use before any purchase is no stage', rule: null, tp: t(EVENTS.featureUsed) },
  { says: 'a resolved support case before any purchase is no stage', rule: null, tp: t(EVENTS.supportTicketResolved) },
  { says: 'a search is consideration', rule: 'products-searched', stage: 'consideration', tp: t(EVENTS.productsSearched) },
  { says: 'a product view is consideration', rule: 'product-viewed', stage: 'consideration', tp: t(EVENTS.productViewed) },
  { says: 'a comparison is consideration', rule: 'products-compared', stage: 'consideration', tp: t(EVENTS.productsCompared) },
  { says: 'add to cart is consideration', rule: 'product-added', stage: 'consideration', tp: t(EVENTS.productAdded) },
  { says: 'checkout started is consideration', rule: 'checkout-started', stage: 'consideration', tp: t(EVENTS.checkoutStarted) },
  { says: 'the pricing page is consideration', rule: 'shopping-pages', stage: 'consideration', tp: page(PAGE_PATHS.pricing) },
  { says: 'a product page is consideration', rule: 'shopping-pages', stage: 'consideration', tp: page(`${PAGE_PATHS.product}/42`) },
  { says: 'the cart page is consideration', rule: 'shopping-pages', stage: 'consideration', tp: page(PAGE_PATHS.cart) },
  { says: 'the checkout page is consideration', rule: 'shopping-pages', stage: 'consideration', tp: page(PAGE_PATHS.checkout) },
  { says: 'the pricing page reached from an ad is consideration: paths come before channels', rule: 'shopping-pages', stage: 'consideration', tp: page(PAGE_PATHS.pricing, { channel: 'ads' }) },
];

const B2B: Case[] = [
  ...COMMON.map((c) => (c.rule === 'repeat-purchase' ? { ...c, rule: 'repeat-contract-or-order' } : c)),
  { says: 'an expansion contract by a customer is retention', rule: 'repeat-contract-or-order', stage: 'retention', tp: t(EVENTS.contractSigned), hasPurchased: true },
  { says: 'a signed contract is a purchase', rule: 'contract-signed', stage: 'purchase', tp: t(EVENTS.contractSigned) },
  { says: 'a first self-serve order is a purchase', rule: 'order-completed', stage: 'purchase', tp: t(EVENTS.orderCompleted) },
  { says: 'a demo request is consideration', rule: 'demo-requested', stage: 'consideration', tp: t(EVENTS.demoRequested) },
  { says: 'a trial is consideration', rule: 'trial-started', stage: 'consideration', tp: t(EVENTS.trialStarted) },
  { says: 'feature use before a contract is trial usage', rule: 'trial-usage', stage: 'consideration', tp: t(EVENTS.featureUsed) },
  { says: 'a comparison is consideration', rule: 'products-compared', stage: 'consideration', tp: t(EVENTS.productsCompared) },
  { says: 'a search is consideration', rule: 'product-research', stage: 'consideration', tp: t(EVENTS.productsSearched) },
  { says: 'a product view is consideration', rule: 'product-research', stage: 'consideration', tp: t(EVENTS.productViewed) },
  { says: 'the pricing page is consideration', rule: 'evaluation-pages', stage: 'consideration', tp: page(PAGE_PATHS.pricing) },
  { says: 'a product page is consideration', rule: 'evaluation-pages', stage: 'consideration', tp: page(`${PAGE_PATHS.product}/analytics`) },
];

describe.each([
  ['ecommerce.yaml', ECOMMERCE],
  ['b2b-saas.yaml', B2B],
] as const)('default rules %s', (file, cases) => {
  const rules = loadShippedStageRules(file);

  it.each(cases.map((c) => [c.says, c] as const))('%s', (_says, c) => {
    const hit = classify(rules, c.tp, { hasPurchased: c.hasPurchased ?? false });
    expect(hit?.rule.name ?? null).toBe(c.rule);
    if (c.stage) expect(hit?.stage).toBe(c.stage);
  });

  it('has every rule exercised by a case above', () => {
    const covered = new Set(cases.map((c) => c.rule));
    expect(rules.rules.map((r) => r.name).filter((n) => !covered.has(n))).toEqual([]);
  });

  it('flags exactly the order, contract and renewal rules as purchases', () => {
    const purchaseEvents = new Set<string>(rules.rules.filter((r) => r.purchase).flatMap((r) => [...(r.match.events ?? [])]));
    expect(purchaseEvents).toEqual(new Set(file === 'ecommerce.yaml' ? [EVENTS.orderCompleted, EVENTS.subscriptionRenewed] : [EVENTS.orderCompleted, EVENTS.contractSigned, EVENTS.subscriptionRenewed]));
  });
});

describe('classify', () => {
  it('ignores malformed properties rather than failing the touchpoint', () => {
    const rules = loadShippedStageRules('ecommerce.yaml');
    const tp = { ...touchpoint(EVENTS.productReviewed, 0), properties: '{not json' };
    expect(classify(rules, tp, { hasPurchased: false })).toBeNull();
    expect(classify(rules, touchpoint(EVENTS.productViewed, 0, {}), { hasPurchased: false, properties: new LazyProperties('{}') })?.stage).toBe('consideration');
  });
});
