import { readFileSync } from 'node:fs';
import type { Stage } from '../../schemas/journey.js';
import type { Touchpoint } from '../../schemas/touchpoint.js';
import { classify } from './stages/classify.js';
import { loadStageRules } from './stages/stage-rules.js';

/**
 * A session's furthest stage uses the stage machine's rules, read from the same file. Sessions do
 * not know a customer's purchase history, so "repeat purchase" rules don't apply here: a repeat
 * order counts as a purchase within its session.
 */
export function stageClassifierFromFile(file: string): (tp: Touchpoint) => Stage | null {
  const rules = loadStageRules(readFileSync(file, 'utf8'), file);
  return (tp) => classify(rules, tp, { hasPurchased: false })?.stage ?? null;
}
