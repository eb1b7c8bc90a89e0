import { z } from 'zod';
import { Stage } from '../../../../schemas/journey.js';
import { parseConfigFile } from '../../../platform/config/yaml-file.js';

/** The behaviour signals a churn score is built from; the playbook's conditions refer to them by name. */
export const CHURN_SIGNALS = [
  'lowPAlive',
  'silence',
  'complaint',
  'lowFeedback',
  'paymentFailed',
  'cancellationIntent',
  'cancelled',
  'fallingEngagement',
  'cartAbandoned',
] as const;
export const ChurnSignalName = z.enum(CHURN_SIGNALS);
export type ChurnSignalName = z.infer<typeof ChurnSignalName>;

const oneOrMany = <T extends z.ZodType>(item: T) =>
  z.union([item, z.array(item).min(1)]).transform((v): z.output<T>[] => (Array.isArray(v) ? v : [v]));
const score = z.number().min(0).max(1);

const PlaySchema = z.strictObject({
  name: z.string().min(1),
  /** Every given condition must hold. */
  when: z
    .strictObject({
      /** All of these signals are active. */
      signals: oneOrMany(ChurnSignalName).optional(),
      /** The customer is in one of these stages. */
      stages: oneOrMany(Stage).optional(),
      minScore: score.optional(),
      maxScore: score.optional(),
    })
    .refine((w) => w.minScore === undefined || w.maxScore === undefined || w.minScore <= w.maxScore, {
      message: 'minScore is above maxScore',
    }),
  action: z.string().min(1),
});

export const ChurnPlaybookFileSchema = z.strictObject({
  version: z.literal(1),
  /** Evaluated in order; the first play whose conditions hold gives the next action. */
  plays: z.array(PlaySchema),
  default: z.string().min(1).default('none'),
});
export type ChurnPlaybook = z.output<typeof ChurnPlaybookFileSchema>;

export function loadChurnPlaybook(text: string, fileName: string): ChurnPlaybook {
  return parseConfigFile(text, fileName, ChurnPlaybookFileSchema);
}

export interface PlaybookInput {
  score: number;
  stage: Stage | null;
  activeSignals: ReadonlySet<ChurnSignalName>;
}

export function chooseNextAction(playbook: ChurnPlaybook, input: PlaybookInput): string {
  for (const play of playbook.plays) {
    const w = play.when;
    if (w.signals && !w.signals.every((s) => input.activeSignals.has(s))) continue;
    if (w.stages && (input.stage === null || !w.stages.includes(input.stage))) continue;
    if (w.minScore !== undefined && input.score < w.minScore) continue;
    if (w.maxScore !== undefined && input.score > w.maxScore) continue;
    return play.action;
  }
  return playbook.default;
}
