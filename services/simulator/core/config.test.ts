import { describe, expect, it } from 'vitest';
import { isKnownStep, parseSimulatorConfig } from './config.js';
import { prepareRuntime, sourcesOf } from './runtime.js';
import { persona } from './test-fixtures.js';

describe('simulator config', () => {
  it('defaults to a shop and a B2B SaaS app with three personas', () => {
    const config = parseSimulatorConfig({});
    expect(config.sites.map((s) => [s.id, s.kind])).toEqual([
      ['shop.example', 'ecommerce'],
      ['app.example', 'saas'],
    ]);
    expect(config.personas.map((p) => [p.name, p.site])).toEqual([
      ['online-first', 'shop.example'],
      ['store-first', 'shop.example'],
      ['b2b-committee', 'app.example'],
    ]);
    expect(config.seed).toBe(42);
    expect(config.incidents).toEqual([]);
    // The buying committee has several people per account.
    expect(config.personas[2]!.committeeSizeWeights[0]).toBe(0);
  });

  it('fills persona defaults, with consideration exit points that fit the site kind', () => {
    const config = parseSimulatorConfig({
      personas: [persona('shopper', 'shop.example'), persona('buyer', 'app.example')],
    });
    const runtime = prepareRuntime(config);
    expect(runtime.personas[0]!.exitAfter.probabilities()).toHaveLength(3);
    expect(runtime.personas[1]!.exitAfter.probabilities()).toHaveLength(2);
    expect(config.personas[0]!.feedback.npsWeights).toHaveLength(11);
  });

  it('accepts incident steps written with -> and normalises them to →', () => {
    const config = parseSimulatorConfig({
      incidents: [{ kind: 'conversion-drop', at: 0, step: 'Product Added -> Checkout Started', dropPct: 40 }],
    });
    expect(config.incidents[0]).toMatchObject({ step: 'Product Added→Checkout Started' });
    expect(isKnownStep('consideration→purchase')).toBe(true);
    expect(isKnownStep('Demo Requested→Trial Started')).toBe(true);
  });

  it('names every problem: unknown steps, sites and stops without a target', () => {
    const result = parseSimulatorConfig.bind(null, {
      personas: [persona('lost', 'nowhere.example')],
      incidents: [
        { kind: 'conversion-drop', at: 0, step: 'Coffee Brewed→Order Completed', dropPct: 10 },
        { kind: 'tracking-stopped', at: 0, durationMs: 1000 },
      ],
    });
    expect(result).toThrow(/unknown site 'nowhere.example'/);
    expect(result).toThrow(/unknown step/);
    expect(result).toThrow(/needs a site or a source/);
  });

  it('rejects an event step that the incident site does not have', () => {
    expect(() =>
      parseSimulatorConfig({ incidents: [{ kind: 'conversion-drop', at: 0, site: 'app.example', step: 'Product Added→Checkout Started', dropPct: 10 }] }),
    ).toThrow(/a saas site has no step/);
  });

  it('lists each source once with its write key, falling back to web where a site has no app source', () => {
    expect(sourcesOf(parseSimulatorConfig({}))).toEqual([
      { writeKey: 'wk_shop_web', source: 'web', site: 'shop.example' },
      { writeKey: 'wk_shop_ios', source: 'ios', site: 'shop.example' },
      { writeKey: 'wk_shop_android', source: 'android', site: 'shop.example' },
      { writeKey: 'wk_shop_server', source: 'server', site: 'shop.example' },
      { writeKey: 'wk_app_web', source: 'web', site: 'app.example' },
      { writeKey: 'wk_app_server', source: 'server', site: 'app.example' },
    ]);
  });

  it('rejects exit weights that do not fit the site kind, and all-zero mixes', () => {
    expect(() =>
      parseSimulatorConfig({ personas: [persona('x', 'app.example', {}, { considerationExitWeights: [1, 1, 1] })] }),
    ).toThrow(/2 consideration exit points/);
    expect(() => parseSimulatorConfig({ personas: [persona('x', 'shop.example', {}, { devices: { desktop: 0, mobile: 0, tablet: 0 } })] })).toThrow(
      /some weight must be positive/,
    );
    expect(() => parseSimulatorConfig({ personas: [persona('x', 'shop.example', { considerationToPurchase: 1.5 })] })).toThrow();
  });
});
