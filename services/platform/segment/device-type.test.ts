import { describe, expect, it } from 'vitest';
import { deriveDeviceType, type DeviceType } from './device-type.js';

const UA = {
  macChrome: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36',
  iphone: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
  ipad: 'Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
  androidPhone: 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Mobile Safari/537.36',
  androidTablet: 'Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36',
  googlebot: 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
};

describe('deriveDeviceType', () => {
  const table: Array<[string, Record<string, unknown>, DeviceType]> = [
    ['context.device.type ios is mobile', { device: { type: 'ios' } }, 'mobile'],
    ['context.device.type android is mobile', { device: { type: 'Android' } }, 'mobile'],
    ['context.device.type tablet is tablet', { device: { type: 'tablet' } }, 'tablet'],
    ['device.type wins over the user agent', { device: { type: 'tablet' }, userAgent: UA.iphone }, 'tablet'],
    ['client hints mobile=true is mobile', { userAgentData: { mobile: true }, userAgent: UA.macChrome }, 'mobile'],
    ['a desktop Chrome user agent is desktop', { userAgent: UA.macChrome }, 'desktop'],
    ['an iPhone user agent is mobile', { userAgent: UA.iphone }, 'mobile'],
    ['an iPad user agent is tablet', { userAgent: UA.ipad }, 'tablet'],
    ['an Android phone user agent is mobile', { userAgent: UA.androidPhone }, 'mobile'],
    ['an Android user agent without "Mobile" is a tablet', { userAgent: UA.androidTablet }, 'tablet'],
    ['a crawler is other', { userAgent: UA.googlebot }, 'other'],
    ['a server SDK without a user agent is server', { library: { name: 'analytics-python' } }, 'server'],
    ['a mobile SDK without device info is mobile', { library: { name: 'analytics-ios' } }, 'mobile'],
    ['nothing known is other', {}, 'other'],
  ];

  it.each(table)('%s', (_behaviour, context, expected) => {
    expect(deriveDeviceType(context)).toBe(expected);
  });
});
