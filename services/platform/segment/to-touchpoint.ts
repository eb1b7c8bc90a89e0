import type { Touchpoint } from '../../../schemas/touchpoint.js';
import { deriveChannel } from './channel.js';
import type { EventTimes } from './clock-skew.js';
import { deriveDeviceType } from './device-type.js';
import { hashEmail, withoutEmails } from './email.js';
import { isJsonObject, objectAt, stringAt, type JsonObject } from './json-object.js';
import { KNOWN_CALL_FIELDS, type SegmentCall } from './segment.js';
import type { SourceInfo } from './source-config.js';
import { parseUrl } from './url.js';

export interface TouchpointInput {
  call: SegmentCall;
  /** The client's messageId, or one the collector generated. */
  messageId: string;
  times: EventTimes;
  source: SourceInfo;
}

/** A validated Segment call as the pipeline's Touchpoint. Pure; never carries a raw email. */
export function toTouchpoint({ call, messageId, times, source }: TouchpointInput): Touchpoint {
  const context: JsonObject = call.context ?? {};
  const properties: JsonObject = 'properties' in call && isJsonObject(call.properties) ? call.properties : {};
  const traits: JsonObject = 'traits' in call && isJsonObject(call.traits) ? call.traits : {};
  const contextTraits = objectAt(context, 'traits') ?? {};
  const page = objectAt(context, 'page');

  // Page calls carry url/path/referrer in properties; every browser call carries them in context.page.
  const url = stringAt(properties, 'url') ?? stringAt(page, 'url');
  const referrer = stringAt(properties, 'referrer') ?? stringAt(page, 'referrer');
  const path = stringAt(properties, 'path') ?? stringAt(page, 'path') ?? pathOf(url);
  const utm = campaignOf(context, url);

  return {
    messageId,
    type: call.type,
    event: eventName(call, properties),
    anonymousId: call.anonymousId,
    userId: call.userId,
    previousId: call.type === 'alias' ? call.previousId : null,
    groupId: call.type === 'group' ? call.groupId : null,
    // Opt-in per source: even a hash is a stable identifier, so sources choose whether to store one.
    emailHash: source.hashEmails ? hashEmail(traits.email ?? contextTraits.email) : null,
    source: source.sourceId,
    site: source.site,
    channel: deriveChannel({
      type: call.type,
      event: call.type === 'track' ? call.event : '',
      properties,
      context,
      envelopeChannel: stringAt(call, 'channel'),
      pageUrl: url,
      referrer,
      utmMedium: utm.medium,
    }),
    timestamp: times.timestamp,
    originalTimestamp: times.originalTimestamp,
    sentAt: times.sentAt,
    receivedAt: times.receivedAt,
    url,
    path,
    referrer,
    utmSource: utm.source,
    utmMedium: utm.medium,
    utmCampaign: utm.campaign,
    deviceType: deriveDeviceType(context),
    deviceId: stringAt(objectAt(context, 'device'), 'id'),
    segment: stringAt(traits, 'persona') ?? stringAt(contextTraits, 'persona') ?? stringAt(properties, 'segment'),
    revenue: revenueOf(properties),
    properties: JSON.stringify(keptFields(call, traits, properties)),
  };
}

/** The avsc contract: the track event name, the page/screen name, or else the call type. */
function eventName(call: SegmentCall, properties: JsonObject): string {
  if (call.type === 'track') return call.event;
  if (call.type === 'page' || call.type === 'screen') return call.name ?? stringAt(properties, 'name') ?? call.type;
  return call.type;
}

/**
 * One flat JSON object: unknown top-level fields, then traits, then properties (later wins on a
 * name clash, so an event's own properties are never shadowed). Flat so consumers read
 * `properties.rating` the same way whatever the call type. Email fields are removed.
 */
function keptFields(call: SegmentCall, traits: JsonObject, properties: JsonObject): unknown {
  let unknown: JsonObject | null = null;
  for (const key of Object.keys(call)) {
    if (!KNOWN_CALL_FIELDS.has(key)) (unknown ??= {})[key] = (call as JsonObject)[key];
  }
  // Most calls (a track with properties only) have nothing to merge: no new object for them.
  if (unknown === null && Object.keys(traits).length === 0) return withoutEmails(properties);
  return withoutEmails({ ...unknown, ...traits, ...properties });
}

interface Campaign {
  source: string | null;
  medium: string | null;
  campaign: string | null;
}

/** context.campaign as the SDKs fill it (utm_campaign is `name` there); else the page URL's utm_* tags. */
function campaignOf(context: JsonObject, url: string | null): Campaign {
  const campaign = objectAt(context, 'campaign');
  if (campaign !== null) {
    return { source: stringAt(campaign, 'source'), medium: stringAt(campaign, 'medium'), campaign: stringAt(campaign, 'name') };
  }
  const params = parseUrl(url)?.searchParams;
  return {
    source: params?.get('utm_source') || null,
    medium: params?.get('utm_medium') || null,
    campaign: params?.get('utm_campaign') || null,
  };
}

/** properties.revenue, else properties.total (Segment's e-commerce spec); numeric strings count. */
function revenueOf(properties: JsonObject): number | null {
  for (const key of ['revenue', 'total']) {
    const value = properties[key];
    const amount = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
    if (typeof amount === 'number' && Number.isFinite(amount)) return amount;
  }
  return null;
}

function pathOf(url: string | null): string | null {
  return parseUrl(url)?.pathname ?? null;
}
