import { EVENTS } from '../../../schemas/event-names.js';
import { CHANNEL_ENTRIES, REFERRAL_PROGRAM_ENTRY, STORES } from './catalog.js';
import type { SimChannel } from './config.js';
import { BLOG_PAGES, PAGES } from './pages.js';
import type { Device, Person } from './people.js';
import type { WebChannel } from './runtime.js';
import type { Journey, World } from './world.js';

/** Visits go to the person's main device most of the time. */
const MAIN_DEVICE_SHARE = 0.6;
const MAX_EXTRA_PAGES = 8;

function chooseDevice(w: World, p: Person): Device {
  const devices = p.devices;
  if (devices.length === 1 || w.rng.chance(MAIN_DEVICE_SHARE)) return devices[0]!;
  return w.rng.pick(devices);
}

/** An offline touch: a store visit or a call to the call center, made by the server source. */
export function offlineTouch(w: World, p: Person, channel: 'store' | 'support'): void {
  if (channel === 'store') w.trackServer(p, EVENTS.storeVisited, { store_id: w.rng.pick(STORES) });
  else w.trackServer(p, EVENTS.callCenterContacted, { reason: 'product-question' });
}

/**
 * Starts a web visit (the caller has waited for it). The channel is drawn from the persona's mix
 * when not given; a drawn offline channel first makes an offline touch, then the visit happens on
 * the web a visit-gap later. Someone identified who comes back on a not-yet-linked device logs in
 * (identify) first, so every later call from that device carries both ids.
 */
export function* visit(w: World, p: Person, channel?: WebChannel): Journey {
  let web: WebChannel;
  if (channel !== undefined) web = channel;
  else {
    const drawn: SimChannel = p.persona.channels.pick(w.rng);
    if (drawn === 'store' || drawn === 'support') {
      offlineTouch(w, p, drawn);
      yield w.visitGap();
      web = p.persona.webChannels.pick(w.rng);
    } else web = drawn;
  }
  const device = chooseDevice(w, p);
  w.beginVisit(p, device, w.rng.pick(CHANNEL_ENTRIES[web]));
  if (p.identified && !device.linked) {
    w.identify(p);
    yield w.pageGap();
  }
}

/** Blog posts and the home page: browsing that is awareness, not consideration. */
function* browseContent(w: World, p: Person, pages: number): Journey {
  for (let i = 0; i < pages; i++) {
    w.page(p, w.rng.chance(0.75) ? w.rng.pick(BLOG_PAGES[p.persona.site.kind]) : PAGES.home);
    yield w.pageGap();
  }
}

/**
 * The first touch and the rest of the first visit. The entry call matches the acquisition channel
 * (Ad Clicked, Email Link Clicked, Social Post Clicked, Store Visited, Referral Accepted, or a blog
 * landing for search/referral/direct) so the pipeline's stage rules see awareness.
 * Returns whether the person is on the web now (false after an offline first touch).
 */
export function* awareness(w: World, p: Person): Generator<number, boolean, void> {
  w.enterStage(p, 'awareness');
  const extraPages = Math.min(MAX_EXTRA_PAGES, w.rng.poisson(p.persona.config.pagesPerVisit));

  if (p.referrerId !== null) {
    w.beginVisit(p, chooseDevice(w, p), REFERRAL_PROGRAM_ENTRY);
    w.track(p, EVENTS.referralAccepted, { referrerId: p.referrerId, referralCode: `ref-${p.referrerId}` });
    yield w.pageGap();
    w.page(p, PAGES.home);
    yield w.pageGap();
    yield* browseContent(w, p, extraPages);
  } else {
    const channel = p.persona.channels.pick(w.rng);
    if (channel === 'store' || channel === 'support') {
      offlineTouch(w, p, channel);
      yield w.pageGap();
      return false;
    }
    yield* visit(w, p, channel);
    const campaign = p.entry.campaign?.name ?? null;
    if (channel === 'ads' || channel === 'email' || channel === 'social') {
      w.page(p, PAGES.home);
      yield w.pageGap();
      if (channel === 'ads') w.track(p, EVENTS.adClicked, { ad_id: w.nextId('ad'), campaign, network: p.entry.campaign?.source });
      else if (channel === 'email') w.track(p, EVENTS.emailLinkClicked, { email_id: w.nextId('em'), campaign, link: 'cta' });
      else w.track(p, EVENTS.socialPostClicked, { network: p.entry.campaign?.source, post_id: w.nextId('post') });
      yield w.pageGap();
      yield* browseContent(w, p, extraPages);
    } else {
      w.page(p, w.rng.pick(BLOG_PAGES[p.persona.site.kind]));
      yield w.pageGap();
      yield* browseContent(w, p, extraPages);
    }
  }
  if (w.rng.chance(p.persona.config.identifyRate)) yield* identifyIfAnonymous(w, p);
  return true;
}

/**
 * Identifies a still-anonymous person on the current device: the anonymous calls made so far are
 * linked by this identify (anonymousId + userId). Maybe an alias follows; a store record made while
 * anonymous is linked too.
 */
export function* identifyIfAnonymous(w: World, p: Person): Journey {
  if (p.identified) return;
  w.identify(p);
  w.note('identified');
  yield w.pageGap();
  if (w.rng.chance(p.persona.config.aliasRate)) {
    w.alias(p);
    yield w.pageGap();
  }
  if (p.serverDevice !== null && !p.serverDevice.linked) {
    w.identifyServer(p);
    yield w.pageGap();
  }
}
