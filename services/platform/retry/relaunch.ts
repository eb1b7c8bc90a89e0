import { retry, sleepMs } from './retry.js';

export interface RelaunchOptions {
  readonly pauseMs: number;
  /** Checked before each attempt: once true, nothing more is launched. */
  readonly stopped: () => boolean;
  readonly onFailure: (error: unknown) => void;
  /** Injected for tests; default a timer. */
  readonly sleep?: (ms: number) => Promise<void>;
}

/**
 * Brings a crashed reader back: after a pause, launches it again, and again after the same pause
 * after every failure (the broker may still be down), until a launch succeeds or the owner stops.
 * Resolves true when it launched, false when the owner stopped first.
 */
export async function relaunchAfterPause(launch: () => Promise<void>, options: RelaunchOptions): Promise<boolean> {
  const sleep = options.sleep ?? sleepMs;
  await sleep(options.pauseMs);
  return retry(
    async () => {
      if (options.stopped()) return false;
      await launch();
      return true;
    },
    { delayMs: ({ error }) => (options.onFailure(error), options.pauseMs), sleep },
  );
}
