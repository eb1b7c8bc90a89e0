import type { z } from 'zod';
import type { DeviceType as DeviceTypeSchema } from '../../../schemas/touchpoint.js';
import { isJsonObject, objectAt, stringAt, type JsonObject } from './json-object.js';
import { libraryKind } from './library.js';

export type DeviceType = z.infer<typeof DeviceTypeSchema>;

/**
 * Device type, from the most explicit signal to the least:
 *  1. `context.device.type` (mobile SDKs send ios / android; some send mobile / tablet / desktop),
 *  2. `context.userAgentData.mobile` (client hints, analytics.js sends them when available),
 *  3. `context.userAgent`: tablet before mobile (Android without "Mobile" is a tablet, iPad is a tablet),
 *     then mobile, then bots (other), then any browser (desktop),
 *  4. the SDK: server libraries → server, mobile libraries → mobile,
 *  5. otherwise other.
 * Deliberately simple: breakdowns need desktop/mobile/tablet right for the big browsers, not a UA database.
 */
export function deriveDeviceType(context: JsonObject): DeviceType {
  const fromDevice = deviceTypeFromName(stringAt(objectAt(context, 'device'), 'type'));
  if (fromDevice !== null) return fromDevice;

  const hints = objectAt(context, 'userAgentData');
  if (isJsonObject(hints) && hints.mobile === true) return 'mobile';

  const fromAgent = deviceTypeFromUserAgent(stringAt(context, 'userAgent'));
  if (fromAgent !== null) return fromAgent;

  const library = libraryKind(context);
  if (library === 'server') return 'server';
  if (library === 'mobile') return 'mobile';
  return 'other';
}

const DEVICE_NAMES: Record<string, DeviceType> = {
  ios: 'mobile', android: 'mobile', mobile: 'mobile', phone: 'mobile', smartphone: 'mobile',
  tablet: 'tablet', ipad: 'tablet',
  desktop: 'desktop', pc: 'desktop', computer: 'desktop', macos: 'desktop', mac: 'desktop', windows: 'desktop', linux: 'desktop',
  server: 'server',
  tv: 'other', console: 'other', wearable: 'other', watch: 'other',
};

function deviceTypeFromName(name: string | null): DeviceType | null {
  if (name === null) return null;
  return DEVICE_NAMES[name.trim().toLowerCase()] ?? null;
}

const TABLET_AGENT = /iPad|Tablet|PlayBook|Silk|Kindle|Android(?!.*Mobile)/i;
const MOBILE_AGENT = /Mobi|iPhone|iPod|Android|Windows Phone|BlackBerry|Opera Mini/i;
const BOT_AGENT = /bot|crawler|spider|crawling|headless/i;

export function deviceTypeFromUserAgent(userAgent: string | null): DeviceType | null {
  if (userAgent === null) return null;
  if (BOT_AGENT.test(userAgent)) return 'other';
  if (TABLET_AGENT.test(userAgent)) return 'tablet';
  if (MOBILE_AGENT.test(userAgent)) return 'mobile';
  if (/^Mozilla\//.test(userAgent)) return 'desktop';
  return null;
}
