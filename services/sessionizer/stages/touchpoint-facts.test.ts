import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { dimensionsOf, LazyProperties, pagePath } from './touchpoint-facts.js';
import { touchpoint } from './testing.js';

describe('dimensionsOf', () => {
  it('gives one shared object per distinct value, equal to the touchpoint fields', () => {
    const field = fc.oneof(fc.constantFrom('', 'a', 'a:', '1:a', '-', 'web'), fc.string({ maxLength: 4 }));
    fc.assert(
      fc.property(fc.array(fc.tuple(field, field, field, fc.option(field), fc.option(field)), { minLength: 1, maxLength: 20 }), (rows) => {
        const seen = new Map<string, object>();
        for (const [site, channel, deviceType, utmCampaign, segment] of rows) {
          const dims = dimensionsOf(touchpoint('x', 0, { site, channel: channel as never, deviceType: deviceType as never, utmCampaign, segment }));
          expect(dims).toEqual({ site, channel, campaign: utmCampaign, deviceType, segment });
          const key = JSON.stringify([site, channel, deviceType, utmCampaign, segment]);
          if (seen.has(key)) expect(dims).toBe(seen.get(key));
          seen.set(key, dims);
          expect(Object.isFrozen(dims)).toBe(true);
        }
      }),
    );
  });
});

describe('pagePath', () => {
  it('cuts the path at its first ? or #, as the regular expression /[?#]/ does', () => {
    const part = fc.constantFrom('', '/', 'a', '?', '#', '?q=1', '#top', '/blog');
    fc.assert(
      fc.property(fc.array(part, { maxLength: 6 }), (parts) => {
        const raw = parts.join('');
        const cut = raw.search(/[?#]/);
        const expected = raw === '' ? null : cut === -1 ? raw : raw.slice(0, cut);
        expect(pagePath(touchpoint('x', 0, { path: raw }), new LazyProperties('{}'))).toBe(expected);
      }),
    );
  });
});
