import { z } from 'zod';
import { Stage } from '../../../schemas/journey.js';
import { CallType, Channel } from '../../../schemas/touchpoint.js';
import { parseConfigFile } from '../../platform/config/yaml-file.js';
import { PropertyConditionText, type PropertyCondition } from './property-condition.js';

/** `x` or `[x, y]`: a single value is the common case in hand-written rules. */
const oneOrMany = <T extends z.ZodType>(item: T) =>
  z.union([item, z.array(item).min(1)]).transform((v): z.output<T>[] => (Array.isArray(v) ? v : [v]));

const RuleMatchSchema = z
  .strictObject({
    type: oneOrMany(CallType).optional(),
    event: oneOrMany(z.string().min(1)).optional(),
    pathPrefix: oneOrMany(z.string().startsWith('/', 'a path prefix starts with /')).optional(),
    channel: oneOrMany(Channel).optional(),
    /** Every condition must hold. */
    where: oneOrMany(PropertyConditionText).optional(),
  })
  .refine((m) => Object.values(m).some((v) => v !== undefined), {
    message: 'a match needs at least one of type, event, pathPrefix, channel, where',
  });

const StageRuleSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'rule names are lower-case words joined by -'),
  description: z.string().optional(),
  stage: Stage,
  match: RuleMatchSchema,
  /** Only matches a customer who already purchased (repeat purchase, post-purchase use). */
  requiresPriorPurchase: z.boolean().default(false),
  /** The touchpoint is a purchase: it feeds the BG/NBD history and settles payment trouble. */
  purchase: z.boolean().default(false),
  /** The property naming the referring customer: a match starts a referred journey (see journey.ts). */
  referrerFrom: z.string().min(1).optional(),
});

export const StageRulesFileSchema = z
  .strictObject({
    version: z.literal(1),
    name: z.string().min(1),
    description: z.string().optional(),
    rules: z.array(StageRuleSchema).min(1),
  })
  .superRefine((file, ctx) => {
    const seen = new Set<string>();
    file.rules.forEach((rule, i) => {
      if (seen.has(rule.name)) ctx.addIssue({ code: 'custom', path: ['rules', i, 'name'], message: `duplicate rule name '${rule.name}'` });
      seen.add(rule.name);
    });
  });

/** A rule ready to match: lists turned into sets once, at load time. */
export interface StageRule {
  name: string;
  description: string | null;
  stage: Stage;
  requiresPriorPurchase: boolean;
  purchase: boolean;
  referrerFrom: string | null;
  match: {
    types: ReadonlySet<string> | null;
    events: ReadonlySet<string> | null;
    pathPrefixes: readonly string[] | null;
    channels: ReadonlySet<string> | null;
    where: readonly PropertyCondition[];
  };
}

/** Ordered rules: the first that matches a touchpoint decides its stage. */
export interface StageRules {
  name: string;
  rules: readonly StageRule[];
}

const toSet = (v: readonly string[] | undefined) => (v === undefined ? null : new Set(v));

export function compileStageRules(file: z.output<typeof StageRulesFileSchema>): StageRules {
  return {
    name: file.name,
    rules: file.rules.map((r) => ({
      name: r.name,
      description: r.description ?? null,
      stage: r.stage,
      requiresPriorPurchase: r.requiresPriorPurchase,
      purchase: r.purchase,
      referrerFrom: r.referrerFrom ?? null,
      match: {
        types: toSet(r.match.type),
        events: toSet(r.match.event),
        pathPrefixes: r.match.pathPrefix ?? null,
        channels: toSet(r.match.channel),
        where: r.match.where ?? [],
      },
    })),
  };
}

/**
 * Loads a stage rules file (YAML or JSON). Throws a `ConfigFileError` whose message names the
 * file, the line and the problem.
 */
export function loadStageRules(text: string, fileName: string): StageRules {
  return compileStageRules(parseConfigFile(text, fileName, StageRulesFileSchema));
}
