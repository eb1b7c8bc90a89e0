import { describe, expect, it } from 'vitest';
import { ConfigFileError } from '../../platform/config/yaml-file.js';
import { loadStageRules } from './stage-rules.js';

function loadError(text: string, fileName = 'rules/bad.yaml'): ConfigFileError {
  try {
    loadStageRules(text, fileName);
  } catch (e) {
    if (e instanceof ConfigFileError) return e;
    throw e;
  }
  throw new Error('expected the rules to be rejected');
}

const VALID = `version: 1
name: test
rules:
  - name: viewed
    stage: consideration
    match: { event: Product Viewed }
`;

describe('loadStageRules', () => {
  it('loads YAML rules and compiles their matchers', () => {
    const rules = loadStageRules(VALID, 'rules/test.yaml');
    expect(rules.name).toBe('test');
    expect(rules.rules[0]?.match.events?.has('Product Viewed')).toBe(true);
    expect(rules.rules[0]?.requiresPriorPurchase).toBe(false);
  });

  it('loads the same rules written as JSON', () => {
    const json = JSON.stringify({ version: 1, name: 'test', rules: [{ name: 'viewed', stage: 'consideration', match: { event: ['Product Viewed'], where: ['price > 10'] } }] }, null, 2);
    const rules = loadStageRules(json, 'rules/test.json');
    expect(rules.rules[0]?.match.where[0]).toMatchObject({ path: ['price'], op: '>', value: 10 });
  });

  it('names the file, the line and the problem of an unknown stage', () => {
    const e = loadError(`version: 1
name: test
rules:
  - name: viewed
    stage: consideration
    match: { event: Product Viewed }
  - name: bought
    stage: purchased
    match: { event: Order Completed }
`);
    expect(e.message).toMatch(/^rules\/bad\.yaml:8:12: rules\[1\]\.stage: /);
    expect(e.message).toContain('purchase');
    expect(e.line).toBe(8);
    expect(e.retriable).toBe(false);
  });

  it('points at the line of a malformed property condition', () => {
    const e = loadError(`version: 1
name: test
rules:
  - name: happy
    stage: advocacy
    match:
      event: Product Reviewed
      where:
        - rating >= 4
        - rating is great
`);
    expect(e.line).toBe(10);
    expect(e.message).toContain("invalid condition 'rating is great'");
  });

  it('points at the line of an unknown key, so a misspelt flag is not silently ignored', () => {
    const e = loadError(`version: 1
name: test
rules:
  - name: repeat
    stage: retention
    requirePriorPurchase: true
    match: { event: Order Completed }
`);
    expect(e.line).toBe(6);
    expect(e.message).toContain('requirePriorPurchase');
  });

  it('reports a missing field on the line of the rule that lacks it', () => {
    const e = loadError(`version: 1
name: test
rules:
  - name: viewed
    match: { event: Product Viewed }
`);
    expect(e.line).toBe(4);
    expect(e.message).toContain('rules[0].stage');
  });

  it('rejects duplicate rule names on the line of the second one', () => {
    const e = loadError(`${VALID}  - name: viewed
    stage: awareness
    match: { channel: social }
`);
    expect(e.line).toBe(7);
    expect(e.message).toContain("duplicate rule name 'viewed'");
  });

  it('rejects a match with no conditions, which would match everything', () => {
    const e = loadError(`version: 1
name: test
rules:
  - name: everything
    stage: awareness
    match: {}
`);
    expect(e.line).toBe(6);
    expect(e.message).toContain('at least one of');
  });

  it('reports YAML syntax errors with their line', () => {
    const e = loadError(`version: 1
name: test
rules:
  - name: viewed
    stage: [consideration
`);
    expect(e.message).toMatch(/^rules\/bad\.yaml:\d+:\d+: /);
    expect(e.line).toBeGreaterThanOrEqual(5);
  });

  it('reports a JSON syntax error in a .json rules file with its line', () => {
    const e = loadError('{\n  "version": 1,\n  "name": "x",\n  "rules": [\n    { "name": "a", }\n  ]\n', 'rules/bad.json');
    expect(e.message).toMatch(/^rules\/bad\.json:\d+:/);
  });

  it('rejects an empty file at line 1', () => {
    const e = loadError('');
    expect(e.line).toBe(1);
  });
});
