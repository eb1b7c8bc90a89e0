/**
 * A clock the test moves by hand: sleeps resolve only when the test advances past their deadline
 * (or their signal aborts, which also takes them off the clock). Every wait of the code under test goes
 * through it: a webhook queue's retry backoff, attempt timeouts and stop grace.
 */
export function fakeClock() {
  let t = 0;
  const sleepers: Array<{ at: number; resolve: () => void }> = [];
  const settle = async () => {
    for (let i = 0; i < 20; i++) await Promise.resolve();
  };
  return {
    now: () => t,
    sleep(ms: number, signal: AbortSignal): Promise<void> {
      return new Promise((resolve) => {
        if (signal.aborted) return resolve();
        const sleeper = { at: t + ms, resolve };
        sleepers.push(sleeper);
        signal.addEventListener(
          'abort',
          () => {
            if (sleepers.includes(sleeper)) sleepers.splice(sleepers.indexOf(sleeper), 1);
            resolve();
          },
          { once: true },
        );
      });
    },
    async advance(ms: number) {
      t += ms;
      for (const s of sleepers.filter((s) => s.at <= t)) {
        sleepers.splice(sleepers.indexOf(s), 1);
        s.resolve();
      }
      await settle();
    },
    settle,
    sleeping: () => sleepers.map((s) => s.at - t),
  };
}
