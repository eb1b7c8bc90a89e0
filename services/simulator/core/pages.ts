import { PAGE_PATHS } from '../../../schemas/event-names.js';
import type { SiteKind } from './config.js';
import { SAAS_BLOG_POSTS, SAAS_FEATURES, SHOP_BLOG_POSTS, SHOP_PRODUCTS, type Product } from './catalog.js';

/** A page a person can be on: `path` becomes properties.path / context.page.path, `name` the page call's name. */
export interface PageSpec {
  readonly path: string;
  readonly name: string;
  readonly title: string;
}

const spec = (path: string, name: string, title: string): PageSpec => Object.freeze({ path, name, title });
const titleOf = (slug: string) => slug.replace(/-/g, ' ').replace(/^./, (c) => c.toUpperCase());

export const PAGES = Object.freeze({
  home: spec(PAGE_PATHS.home, 'Home', 'Home'),
  pricing: spec(PAGE_PATHS.pricing, 'Pricing', 'Pricing'),
  cart: spec(PAGE_PATHS.cart, 'Cart', 'Your cart'),
  checkout: spec(PAGE_PATHS.checkout, 'Checkout', 'Checkout'),
  help: spec('/help', 'Help', 'Help center'),
  cancel: spec(PAGE_PATHS.cancel, 'Cancel', 'Cancel your account'),
  invite: spec('/invite', 'Invite', 'Join your team'),
  account: spec('/account', 'Account', 'Your account'),
});

const blogPages = (paths: readonly string[]): readonly PageSpec[] =>
  Object.freeze(paths.map((path) => spec(path, 'Blog Post', titleOf(path.slice(PAGE_PATHS.blog.length + 1)))));

export const BLOG_PAGES: Readonly<Record<SiteKind, readonly PageSpec[]>> = Object.freeze({
  ecommerce: blogPages(SHOP_BLOG_POSTS),
  saas: blogPages(SAAS_BLOG_POSTS),
});

const productPages = new Map<string, PageSpec>(
  [...SHOP_PRODUCTS, ...SAAS_FEATURES].map((p) => [p.id, spec(p.path, 'Product', p.name)]),
);

export function productPage(product: Product): PageSpec {
  return productPages.get(product.id)!;
}
