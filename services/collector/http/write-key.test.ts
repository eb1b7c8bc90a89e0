import { describe, expect, it } from 'vitest';
import { writeKeyFromAuthorization, writeKeyFromBody } from './write-key.js';

const basic = (credentials: string) => `Basic ${Buffer.from(credentials).toString('base64')}`;

describe('write key extraction', () => {
  it('reads the key from the Basic username with an empty password, as Segment SDKs send it', () => {
    expect(writeKeyFromAuthorization(basic('wk_live:'))).toBe('wk_live');
    expect(writeKeyFromAuthorization(basic('wk_live'))).toBe('wk_live');
    expect(writeKeyFromAuthorization(`basic ${Buffer.from('wk:').toString('base64')}`)).toBe('wk');
  });

  it('ignores absent, non-Basic and empty-username headers', () => {
    expect(writeKeyFromAuthorization(undefined)).toBeNull();
    expect(writeKeyFromAuthorization('Bearer abc')).toBeNull();
    expect(writeKeyFromAuthorization(basic(':secret'))).toBeNull();
  });

  it('reads writeKey from a JSON body', () => {
    expect(writeKeyFromBody({ writeKey: 'wk', batch: [] })).toBe('wk');
    expect(writeKeyFromBody({ writeKey: 7 })).toBeNull();
    expect(writeKeyFromBody([])).toBeNull();
  });
});
