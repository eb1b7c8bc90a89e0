/**
 * Test support for the stages unit tests and the benchmark: touchpoint builders and loaders for the
 * shipped rule files. Lives outside core/ because it reads files.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { CustomerTouchpoint } from '../../../schemas/journey.js';
import type { Touchpoint } from '../../../schemas/touchpoint.js';
import { loadBgNbdParams, type BgNbdModel } from './churn/bgnbd-params.js';
import { loadChurnPlaybook, type ChurnPlaybook } from './churn/playbook.js';
import type { ChurnModel } from './churn/score.js';
import { loadStageRules, type StageRules } from './stage-rules.js';
import { EMPTY_TOUCHPOINT_FIELDS } from '../../../schemas/test-touchpoint.js';

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;
/** A Monday, 00:00 UTC: tests count days from here. */
export const T0 = Date.UTC(2025, 0, 6);

export const rulesPath = (file: string): string => fileURLToPath(new URL(`../rules/${file}`, import.meta.url));
export const readRulesFile = (file: string): string => readFileSync(rulesPath(file), 'utf8');

export const loadShippedStageRules = (file: 'ecommerce.yaml' | 'b2b-saas.yaml'): StageRules => loadStageRules(readRulesFile(file), `rules/${file}`);
export const loadShippedPlaybook = (): ChurnPlaybook => loadChurnPlaybook(readRulesFile('churn-playbook.yaml'), 'rules/churn-playbook.yaml');
export const loadShippedBgNbd = (): BgNbdModel => loadBgNbdParams(readRulesFile('bgnbd-params.json'), 'rules/bgnbd-params.json');
export const loadShippedChurnModel = (): ChurnModel => ({ bgnbd: loadShippedBgNbd(), playbook: loadShippedPlaybook() });

export interface TouchOptions extends Partial<Omit<Touchpoint, 'properties'>> {
  props?: Record<string, unknown>;
  accountId?: string | null;
}

/** A touchpoint; the messageId is derived from its content so tests are order-independent. */
export function touchpoint(event: string, at: number, o: TouchOptions = {}): Touchpoint {
  const { props, accountId: _accountId, ...fields } = o;
  return {
    ...EMPTY_TOUCHPOINT_FIELDS,
    messageId: `${fields.userId ?? 'u'}:${fields.type ?? 'track'}:${event}:${fields.path ?? ''}:${at}`,
    type: 'track',
    event,
    userId: 'u',
    source: 'web-sdk',
    site: 'shop',
    channel: 'web',
    timestamp: at,
    receivedAt: at,
    deviceType: 'desktop',
    properties: JSON.stringify(props ?? {}),
    ...fields,
  };
}

export function touch(customerId: string, event: string, at: number, o: TouchOptions = {}): CustomerTouchpoint {
  return { customerId, accountId: o.accountId ?? null, sessionId: `s-${customerId}`, late: false, touchpoint: touchpoint(event, at, { userId: customerId, ...o }) };
}

export function pageView(customerId: string, path: string, at: number, o: TouchOptions = {}): CustomerTouchpoint {
  return touch(customerId, '', at, { type: 'page', path, ...o });
}
