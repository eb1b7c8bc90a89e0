import { CHANNELS, type CallType, type Channel } from '../../../schemas/touchpoint.js';
import { EVENTS } from '../../../schemas/event-names.js';
import { objectAt, stringAt, type JsonObject } from './json-object.js';
import { libraryKind } from './library.js';
import { parseUrl } from './url.js';

/** What channel derivation looks at; the touchpoint builder has already resolved url/referrer/UTM. */
export interface ChannelSignals {
  type: CallType;
  /** The track event name; empty for other call types. */
  event: string;
  properties: JsonObject;
  context: JsonObject;
  /** Segment's top-level `channel` envelope field: browser | server | mobile. */
  envelopeChannel: string | null;
  pageUrl: string | null;
  referrer: string | null;
  utmMedium: string | null;
}

/**
 * The channel of one touchpoint. First match wins:
 *  1. an explicit `properties.channel` / `context.channel` (unknown names → other),
 *  2. offline event names (Store Visited → store; Call Center Contacted, Support Ticket *,
 *     Survey Answered → support),
 *  3. campaign: utm_medium (cpc/ppc/paid/display → ads, email → email, social → social,
 *     organic → search, referral/affiliate → referral), then ad click ids in the page URL,
 *  4. referrer host: webmail → email, search engine → search, social network → social,
 *     ad network → ads, another site → referral (same site is in-site navigation, not a source),
 *  5. a mobile app (context.app, a mobile SDK, device ios/android, screen calls) → mobile,
 *  6. a web page: no referrer → direct, in-site referrer → web,
 *  7. otherwise (server-side calls without page context) → other.
 */
export function deriveChannel(s: ChannelSignals): Channel {
  const explicit = stringAt(s.properties, 'channel') ?? stringAt(s.context, 'channel');
  if (explicit !== null) return channelFromName(explicit);

  const offline = s.type === 'track' ? offlineChannel(s.event) : null;
  if (offline !== null) return offline;

  const campaign = channelFromMedium(s.utmMedium) ?? channelFromClickIds(s.pageUrl);
  if (campaign !== null) return campaign;

  const fromReferrer = channelFromReferrer(s.referrer, s.pageUrl);
  if (fromReferrer !== null) return fromReferrer;

  if (isMobileApp(s)) return 'mobile';
  if (isWebPage(s)) return s.referrer === null ? 'direct' : 'web';
  return 'other';
}

const CHANNEL_SET: ReadonlySet<string> = new Set(CHANNELS);
/** Common spellings people put in properties.channel for the channels we know. */
const CHANNEL_SYNONYMS: Record<string, Channel> = {
  browser: 'web', website: 'web', online: 'web', app: 'mobile', 'mobile app': 'mobile', ios: 'mobile', android: 'mobile',
  'e-mail': 'email', newsletter: 'email', paid: 'ads', cpc: 'ads', organic: 'search', seo: 'search',
  'in-store': 'store', 'in store': 'store', retail: 'store', phone: 'support', 'call center': 'support', chat: 'support',
};

export function channelFromName(name: string): Channel {
  const normalized = name.trim().toLowerCase();
  if (CHANNEL_SET.has(normalized)) return normalized as Channel;
  return CHANNEL_SYNONYMS[normalized] ?? 'other';
}

function offlineChannel(event: string): Channel | null {
  if (event === EVENTS.storeVisited) return 'store';
  if (event === EVENTS.callCenterContacted || event.startsWith('Support Ticket')) return 'support';
  // Survey Answered names its channel in properties.channel (handled above); without one it is support.
  if (event === EVENTS.surveyAnswered) return 'support';
  return null;
}

const PAID_MEDIUM = /^(cpc|ppc|cpm|cpv|cpa|paid|display|banner|retargeting|remarketing)$|paid/;
const EMAIL_MEDIUM = /^(e-?mail|newsletter|edm)/;
const SOCIAL_MEDIUM = /^(social|social[-_ ]?(media|network)|sm)$/;

export function channelFromMedium(medium: string | null): Channel | null {
  if (medium === null) return null;
  const m = medium.trim().toLowerCase();
  if (PAID_MEDIUM.test(m)) return 'ads';
  if (EMAIL_MEDIUM.test(m)) return 'email';
  if (SOCIAL_MEDIUM.test(m)) return 'social';
  if (m === 'organic' || m === 'seo') return 'search';
  if (m === 'referral' || m === 'affiliate') return 'referral';
  return null;
}

/** Ad platforms append a click id to the landing URL even when the advertiser sets no UTM tags. */
const AD_CLICK_IDS = ['gclid', 'gbraid', 'wbraid', 'dclid', 'msclkid'];

function channelFromClickIds(pageUrl: string | null): Channel | null {
  const url = parseUrl(pageUrl);
  if (url === null) return null;
  return AD_CLICK_IDS.some((id) => url.searchParams.has(id)) ? 'ads' : null;
}

const WEBMAIL_HOST = /^(mail\.google\.com|outlook\.(live|office|office365)\.com|mail\.yahoo\.com|mail\.proton\.me|app\.hey\.com)$/;
const AD_HOST = /(^|\.)(doubleclick\.net|googlesyndication\.com|googleadservices\.com)$/;
const SEARCH_HOST =
  /(^|\.)(google\.[a-z]{2,3}(\.[a-z]{2})?|bing\.com|duckduckgo\.com|yahoo\.[a-z]{2,3}(\.[a-z]{2})?|baidu\.com|yandex\.[a-z]{2,3}|ecosia\.org|search\.brave\.com|naver\.com|seznam\.cz|startpage\.com|qwant\.com)$/;
const SOCIAL_HOST =
  /(^|\.)(facebook\.com|fb\.com|instagram\.com|t\.co|twitter\.com|x\.com|linkedin\.com|lnkd\.in|reddit\.com|pinterest\.[a-z.]+|youtube\.com|tiktok\.com|threads\.net|bsky\.app|mastodon\.social|news\.ycombinator\.com)$/;

export function channelFromReferrer(referrer: string | null, pageUrl: string | null): Channel | null {
  const from = parseUrl(referrer);
  if (from === null) return null;
  const host = from.hostname.toLowerCase();
  if (WEBMAIL_HOST.test(host)) return 'email';
  if (AD_HOST.test(host)) return 'ads';
  if (SEARCH_HOST.test(host)) return 'search';
  if (SOCIAL_HOST.test(host)) return 'social';
  const page = parseUrl(pageUrl);
  if (page !== null && sameSite(host, page.hostname.toLowerCase())) return null;
  return 'referral';
}

/** www.shop.com, shop.com and blog.shop.com are one site; navigation between them is not a referral. */
function sameSite(a: string, b: string): boolean {
  const x = a.replace(/^www\./, '');
  const y = b.replace(/^www\./, '');
  return x === y || x.endsWith(`.${y}`) || y.endsWith(`.${x}`);
}

function isMobileApp(s: ChannelSignals): boolean {
  if (s.type === 'screen' || s.envelopeChannel === 'mobile') return true;
  if (objectAt(s.context, 'app') !== null) return true;
  if (libraryKind(s.context) === 'mobile') return true;
  const deviceType = stringAt(objectAt(s.context, 'device'), 'type')?.toLowerCase();
  return deviceType === 'ios' || deviceType === 'android';
}

function isWebPage(s: ChannelSignals): boolean {
  if (s.type === 'page' || s.envelopeChannel === 'browser') return true;
  if (objectAt(s.context, 'page') !== null || stringAt(s.context, 'userAgent') !== null) return true;
  return libraryKind(s.context) === 'browser';
}
