/** What a retry policy is told about a failed attempt. */
export interface Failure {
  /** 0 for the first attempt. */
  readonly attempt: number;
  readonly error: unknown;
}

export interface RetryPolicy {
  /**
   * How long to wait before the next attempt, or null to give up (the attempt's error is then
   * thrown). May throw an error of its own instead, to give up with it.
   */
  delayMs(failure: Failure): number | null;
  sleep(ms: number): Promise<void>;
}

/** A policy's `sleep` on the real clock (tests inject their own). */
export const sleepMs = (ms: number): Promise<void> => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Calls `attempt` until it resolves or the policy gives up: the one retry loop of the project. */
export async function retry<T>(attempt: (n: number) => Promise<T>, policy: RetryPolicy): Promise<T> {
  for (let n = 0; ; n++) {
    try {
      return await attempt(n);
    } catch (error) {
      const delay = policy.delayMs({ attempt: n, error });
      if (delay === null) throw error;
      await policy.sleep(delay);
    }
  }
}
