import type { SimChannel, SimDeviceType } from './config.js';
import type { SegmentCampaign } from './segment-call.js';

/**
 * The fixed content simulated people see: products, plans, blog posts, campaigns, user agents.
 * Everything here is frozen and shared by reference between calls, so generating a call does not
 * copy it (consumers must treat calls as read-only).
 */

export interface Product {
  readonly id: string;
  readonly sku: string;
  readonly name: string;
  readonly category: string;
  readonly price: number;
  readonly path: string;
  /** The properties of Product Viewed for this product (Segment e-commerce spec), shared. */
  readonly viewedProperties: Readonly<Record<string, unknown>>;
}

function product(id: string, name: string, category: string, price: number): Product {
  const slug = name.toLowerCase().replace(/[^a-z0-9]+/g, '-');
  const sku = `SKU-${id}`;
  return Object.freeze({
    id,
    sku,
    name,
    category,
    price,
    path: `/products/${slug}`,
    viewedProperties: Object.freeze({ product_id: id, sku, name, category, price, currency: 'EUR' }),
  });
}

export const SHOP_PRODUCTS: readonly Product[] = Object.freeze([
  product('p-101', 'Trail Running Shoes', 'Shoes', 129.0),
  product('p-102', 'City Sneakers', 'Shoes', 89.0),
  product('p-201', 'Rain Jacket', 'Outerwear', 159.0),
  product('p-202', 'Down Vest', 'Outerwear', 119.0),
  product('p-301', 'Merino T-Shirt', 'Tops', 49.0),
  product('p-302', 'Linen Shirt', 'Tops', 69.0),
  product('p-401', 'Daypack 20L', 'Bags', 79.0),
  product('p-402', 'Weekender Duffel', 'Bags', 139.0),
  product('p-501', 'Wool Socks 3-Pack', 'Accessories', 24.0),
  product('p-502', 'Sun Cap', 'Accessories', 29.0),
  product('p-601', 'Smart Watch', 'Electronics', 249.0),
  product('p-602', 'Wireless Earbuds', 'Electronics', 129.0),
]);

/** SaaS product pages (features) live under /products too, so stage rules treat them alike. */
export const SAAS_FEATURES: readonly Product[] = Object.freeze([
  product('f-dash', 'Dashboards', 'Analytics', 0),
  product('f-alert', 'Alerts', 'Monitoring', 0),
  product('f-export', 'Exports', 'Data', 0),
  product('f-sso', 'Single Sign-On', 'Security', 0),
  product('f-api', 'Public API', 'Platform', 0),
  product('f-flow', 'Workflows', 'Automation', 0),
]);

export interface Plan {
  readonly id: string;
  /** Price per seat per month. */
  readonly seatPrice: number;
}
export const SAAS_PLANS: readonly Plan[] = Object.freeze([
  { id: 'starter', seatPrice: 29 },
  { id: 'growth', seatPrice: 79 },
  { id: 'enterprise', seatPrice: 199 },
]);

export const SHOP_BLOG_POSTS: readonly string[] = Object.freeze([
  '/blog/how-to-choose-running-shoes',
  '/blog/packing-list-weekend-trip',
  '/blog/layering-guide',
  '/blog/gift-ideas',
]);
export const SAAS_BLOG_POSTS: readonly string[] = Object.freeze([
  '/blog/customer-journey-analytics-101',
  '/blog/reducing-churn-with-data',
  '/blog/case-study-northwind',
]);

export const SEARCH_QUERIES: readonly string[] = Object.freeze([
  'running shoes', 'rain jacket', 'backpack', 'merino', 'gift', 'smart watch', 'earbuds', 'socks',
]);
export const SHOP_FEATURES: readonly string[] = Object.freeze(['order-tracking', 'wishlist', 'reorder', 'loyalty-points']);
export const TICKET_TOPICS: readonly string[] = Object.freeze(['delivery', 'billing', 'product-quality', 'returns', 'login']);
export const INDUSTRIES: readonly string[] = Object.freeze(['retail', 'logistics', 'fintech', 'healthcare', 'media', 'manufacturing']);
export const JOB_TITLES: readonly string[] = Object.freeze(['Head of Growth', 'Data Engineer', 'CFO', 'VP Marketing', 'Product Manager', 'CTO']);
export const STORES: readonly string[] = Object.freeze(['store-berlin-mitte', 'store-hamburg', 'store-munich', 'store-cologne']);

/** A channel's first touch of a visit: the campaign tags and the referring page (empty when none). */
export interface ChannelEntry {
  readonly campaign: SegmentCampaign | undefined;
  readonly referrer: string;
}
const entry = (referrer: string, campaign?: SegmentCampaign): ChannelEntry =>
  Object.freeze({ referrer, campaign: campaign === undefined ? undefined : Object.freeze(campaign) });

/**
 * What each web channel looks like on the landing page, chosen so the collector's channel rules
 * (utm_medium first, then referrer host) recognise it. Offline channels (store, support) have no page.
 */
export const CHANNEL_ENTRIES: Readonly<Record<Exclude<SimChannel, 'store' | 'support'>, readonly ChannelEntry[]>> = Object.freeze({
  search: [
    entry('https://www.google.com/', { source: 'google', medium: 'organic', name: '(organic)' }),
    entry('https://www.bing.com/', { source: 'bing', medium: 'organic', name: '(organic)' }),
    entry('https://duckduckgo.com/', { source: 'duckduckgo', medium: 'organic', name: '(organic)' }),
  ],
  ads: [
    entry('', { source: 'google', medium: 'cpc', name: 'spring-sale' }),
    entry('', { source: 'google', medium: 'cpc', name: 'brand' }),
    entry('', { source: 'meta', medium: 'paid-social', name: 'retargeting' }),
  ],
  social: [
    entry('https://www.instagram.com/', { source: 'instagram', medium: 'social', name: 'creator-stories' }),
    entry('https://www.linkedin.com/', { source: 'linkedin', medium: 'social', name: 'thought-leadership' }),
    entry('https://t.co/', { source: 'x', medium: 'social', name: 'launch-thread' }),
  ],
  email: [
    entry('https://mail.google.com/', { source: 'newsletter', medium: 'email', name: 'weekly-digest' }),
    entry('', { source: 'crm', medium: 'email', name: 'win-back' }),
  ],
  referral: [
    entry('https://reviews.example.org/best-picks', { source: 'reviews.example.org', medium: 'referral', name: '(referral)' }),
    entry('https://partner.example.net/blog', { source: 'partner.example.net', medium: 'referral', name: '(referral)' }),
  ],
  direct: [entry('')],
});

/** The landing of someone who accepted a referral from a customer. */
export const REFERRAL_PROGRAM_ENTRY: ChannelEntry = entry('', { source: 'referral-program', medium: 'referral', name: 'refer-a-friend' });

export const USER_AGENTS: Readonly<Record<SimDeviceType, readonly string[]>> = Object.freeze({
  desktop: [
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15',
    'Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0',
  ],
  mobile: [
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
    'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36',
  ],
  tablet: [
    'Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
    'Mozilla/5.0 (Linux; Android 14; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
  ],
});

export const LIBRARIES = Object.freeze({
  web: Object.freeze({ name: 'analytics.js', version: '5.2.0' }),
  ios: Object.freeze({ name: 'analytics-ios', version: '4.1.8' }),
  android: Object.freeze({ name: 'analytics-android', version: '4.11.3' }),
  server: Object.freeze({ name: 'analytics-node', version: '2.1.2' }),
});

export const APPS = Object.freeze({
  ios: Object.freeze({ name: 'Shop', version: '5.12.0', build: '5120' }),
  android: Object.freeze({ name: 'Shop', version: '5.12.0', build: '51200' }),
});
export const OPERATING_SYSTEMS = Object.freeze({
  ios: Object.freeze({ name: 'iOS', version: '17.4' }),
  android: Object.freeze({ name: 'Android', version: '14' }),
});
