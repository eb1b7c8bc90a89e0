import type { Stage } from '../../../schemas/journey.js';
import type { Touchpoint } from '../../../schemas/touchpoint.js';
import { conditionHolds } from './property-condition.js';
import type { StageRule, StageRules } from './stage-rules.js';
import { pagePath, parseProperties, pathHasPrefix } from './touchpoint-facts.js';

/** What a rule may depend on beyond the touchpoint itself. */
export interface ClassifyContext {
  /** The customer has at least one purchase before this touchpoint ("repeat purchase" rules). */
  hasPurchased: boolean;
  /** `tp.properties` already parsed, when the caller has it; parsed here otherwise. */
  properties?: Readonly<Record<string, unknown>>;
}

export interface Classification {
  stage: Stage;
  rule: StageRule;
}

/** The stage the first matching rule assigns to the touchpoint, or null when no rule matches. */
export function classify(rules: StageRules, tp: Touchpoint, ctx: ClassifyContext): Classification | null {
  const properties = ctx.properties ?? parseProperties(tp.properties);
  let path: string | null | undefined; // computed on first use: most rules match on the event name alone
  for (const rule of rules.rules) {
    const m = rule.match;
    if (rule.requiresPriorPurchase && !ctx.hasPurchased) continue;
    if (m.types !== null && !m.types.has(tp.type)) continue;
    if (m.events !== null && !m.events.has(tp.event)) continue;
    if (m.channels !== null && !m.channels.has(tp.channel)) continue;
    if (m.pathPrefixes !== null) {
      if (path === undefined) path = pagePath(tp, properties);
      const p = path;
      if (p === null || !m.pathPrefixes.some((prefix) => pathHasPrefix(p, prefix))) continue;
    }
    if (!m.where.every((c) => conditionHolds(c, properties))) continue;
    return { stage: rule.stage, rule };
  }
  return null;
}
