import type { Stage } from '../../../schemas/journey.js';
import type { Touchpoint } from '../../../schemas/touchpoint.js';
import { conditionHolds, type PropertyCondition } from './property-condition.js';
import type { StageRule, StageRules } from './stage-rules.js';
import { LazyProperties, pagePath, pathHasPrefix } from './touchpoint-facts.js';

/** What a rule may depend on beyond the touchpoint itself. */
export interface ClassifyContext {
  /** The customer has at least one purchase before this touchpoint ("repeat purchase" rules). */
  hasPurchased: boolean;
  /** `tp.properties`, when the caller reads them too (parsed once for both); read here otherwise. */
  properties?: LazyProperties;
}

export interface Classification {
  stage: Stage;
  rule: StageRule;
}

/** The stage the first matching rule assigns to the touchpoint, or null when no rule matches. */
export function classify(rules: StageRules, tp: Touchpoint, ctx: ClassifyContext): Classification | null {
  const properties = ctx.properties ?? new LazyProperties(tp.properties);
  let path: string | null | undefined; // computed on first use: most rules match on the event name alone
  for (const rule of rules.rules) {
    const m = rule.match;
    if (rule.requiresPriorPurchase && !ctx.hasPurchased) continue;
    if (m.types !== null && !m.types.has(tp.type)) continue;
    if (m.events !== null && !m.events.has(tp.event)) continue;
    if (m.channels !== null && !m.channels.has(tp.channel)) continue;
    if (m.pathPrefixes !== null) {
      if (path === undefined) path = pagePath(tp, properties);
      if (path === null || !anyPrefix(path, m.pathPrefixes)) continue;
    }
    if (!allHold(m.where, properties)) continue;
    return classificationOf(rule);
  }
  return null;
}

// Loops rather than `some`/`every` with a closure: this runs for every rule of every touchpoint.
function anyPrefix(path: string, prefixes: readonly string[]): boolean {
  for (const prefix of prefixes) if (pathHasPrefix(path, prefix)) return true;
  return false;
}

function allHold(conditions: readonly PropertyCondition[], properties: LazyProperties): boolean {
  for (const c of conditions) if (!conditionHolds(c, properties.value)) return false;
  return true;
}

/** One frozen result per rule, shared by every touchpoint it matches (rules live as long as the process). */
const classifications = new WeakMap<StageRule, Classification>();
function classificationOf(rule: StageRule): Classification {
  let c = classifications.get(rule);
  if (c === undefined) classifications.set(rule, (c = Object.freeze({ stage: rule.stage, rule })));
  return c;
}
