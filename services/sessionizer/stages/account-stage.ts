import { stageRank, type Stage } from '../../../schemas/journey.js';

/**
 * The stage of a B2B account from its members' current stages: the furthest stage any member is in.
 *
 * Why the maximum: in B2B one champion researching the product means the account is considering
 * it, and one signed contract makes the whole account a customer. Because it is taken over the
 * members' CURRENT stages, the account is at purchase or beyond only while some member is, and a
 * lapsed member pulls the account back only if nobody else is further. Null for no members.
 */
export function deriveAccountStage(memberStages: readonly Stage[]): Stage | null {
  let best: Stage | null = null;
  for (const s of memberStages) if (best === null || stageRank(s) > stageRank(best)) best = s;
  return best;
}
