import { z } from 'zod';
import { DetectorStateError, emptyDetectorState, restore, snapshot, type DetectorState } from './core/detector.js';
import type { Monitor } from './core/monitors.js';

/**
 * What the alerter persists after every evaluation round, as ONE record on the compacted
 * `alerter-state-changelog` topic (key `STATE_KEY`, partition 0): the detector state of every
 * series and, per monitor, the start of the last window it evaluated. The two are saved together,
 * so after a restart the detector resumes exactly where the cursors say.
 */
export interface AlerterState {
  readonly detector: DetectorState;
  /** Start (epoch ms) of the last evaluated window, per monitor id. */
  readonly cursors: Readonly<Record<string, number>>;
}

export const STATE_KEY = 'alerter-state';
export const STATE_PARTITION = 0;

const Envelope = z.object({
  version: z.literal(1),
  savedAt: z.number().int(),
  cursors: z.record(z.string(), z.number().int()),
  detector: z.unknown(),
});

export const emptyAlerterState = (): AlerterState => ({ detector: emptyDetectorState(), cursors: {} });

export function encodeAlerterState(state: AlerterState, savedAt: number): Buffer {
  const detector: unknown = JSON.parse(snapshot(state.detector));
  return Buffer.from(JSON.stringify({ version: 1, savedAt, cursors: state.cursors, detector }), 'utf8');
}

/** A corrupt or foreign snapshot is an error (DetectorStateError), never a silently empty baseline. */
export function decodeAlerterState(bytes: Buffer): AlerterState & { savedAt: number } {
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.toString('utf8'));
  } catch (cause) {
    throw new DetectorStateError('alerter snapshot is not JSON', { cause });
  }
  const parsed = Envelope.safeParse(raw);
  if (!parsed.success) throw new DetectorStateError(`alerter snapshot is invalid: ${z.prettifyError(parsed.error)}`, { cause: parsed.error });
  return { savedAt: parsed.data.savedAt, cursors: parsed.data.cursors, detector: restore(JSON.stringify(parsed.data.detector)) };
}

/** Forgets monitors that are no longer configured (their cursors and every series they had). */
export function keepConfiguredMonitors(state: AlerterState, monitors: readonly Monitor[]): AlerterState {
  const ids = new Set(monitors.map((m) => m.id));
  const groups = Object.fromEntries(Object.entries(state.detector.groups).filter(([, g]) => ids.has(g.monitorId)));
  const cursors = Object.fromEntries(Object.entries(state.cursors).filter(([id]) => ids.has(id)));
  return { detector: { ...state.detector, groups }, cursors };
}
