import { describe, expect, it } from 'vitest';
import { bearerToken, constantTimeEqual, findApiKey, scopeAllows, type ApiKey } from './api-keys.js';

const KEYS: ApiKey[] = [
  { name: 'marketing', key: 'k1-aaaaaaaaaaaaaaaaaaaaaaaa', scope: 'dashboard' },
  { name: 'crm', key: 'k2-bbbbbbbbbbbbbbbbbbbbbbbb', scope: 'profiles' },
];

describe('constantTimeEqual', () => {
  it('is true for equal strings only', () => {
    expect(constantTimeEqual('k1-aaaaaaaaaaaaaaaaaaaaaaaa', 'k1-aaaaaaaaaaaaaaaaaaaaaaaa')).toBe(true);
    expect(constantTimeEqual('k1-aaaaaaaaaaaaaaaaaaaaaaaa', 'k1-aaaaaaaaaaaaaaaaaaaaaaab')).toBe(false);
    expect(constantTimeEqual('', '')).toBe(true);
  });

  it('compares strings of different lengths without throwing (timingSafeEqual alone would)', () => {
    expect(constantTimeEqual('short', 'k1-aaaaaaaaaaaaaaaaaaaaaaaa')).toBe(false);
    expect(constantTimeEqual('k1-aaaaaaaaaaaaaaaaaaaaaaaa', 'k1-aaaaaaaaaaaaaaaaaaaaaaaa-and-more')).toBe(false);
    expect(constantTimeEqual('', 'x')).toBe(false);
  });

  it('compares text, not bytes of another encoding', () => {
    expect(constantTimeEqual('clé', 'clé')).toBe(true);
    expect(constantTimeEqual('clé', 'cle')).toBe(false);
  });
});

describe('findApiKey', () => {
  it('finds the key presented, or none', () => {
    expect(findApiKey(KEYS, 'k2-bbbbbbbbbbbbbbbbbbbbbbbb')?.name).toBe('crm');
    expect(findApiKey(KEYS, 'k1-aaaaaaaaaaaaaaaaaaaaaaaa')?.name).toBe('marketing');
    expect(findApiKey(KEYS, 'k1-aaaaaaaaaaaaaaaaaaaaaaa')).toBeUndefined();
    expect(findApiKey(KEYS, '')).toBeUndefined();
    expect(findApiKey([], 'k1-aaaaaaaaaaaaaaaaaaaaaaaa')).toBeUndefined();
  });
});

describe('scopeAllows', () => {
  it('profiles reads everything; dashboard reads aggregates only', () => {
    expect(scopeAllows('profiles', 'profiles')).toBe(true);
    expect(scopeAllows('profiles', 'dashboard')).toBe(true);
    expect(scopeAllows('dashboard', 'dashboard')).toBe(true);
    expect(scopeAllows('dashboard', 'profiles')).toBe(false);
  });
});

describe('bearerToken', () => {
  it('takes the token of a Bearer header, any case of the scheme', () => {
    expect(bearerToken('Bearer abc.def')).toBe('abc.def');
    expect(bearerToken('bearer  abc=')).toBe('abc=');
  });
  it('rejects other schemes, a missing token, and several tokens', () => {
    for (const h of [undefined, '', 'Bearer', 'Bearer ', 'Basic abc', 'abc', 'Bearer a b', 'Bearerabc']) expect([h, bearerToken(h)]).toEqual([h, undefined]);
  });
});
