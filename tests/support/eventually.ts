/**
 * The one way integration tests wait: poll observable state until it is what the test expects, or
 * fail after a deadline with the last value seen. Never a fixed sleep: on a loaded machine any fixed
 * pause is either too short (flaky) or wasted time.
 *
 * `done` decides when to stop waiting; assertions come after, on the value returned (or on state
 * read once the system is known to be settled, see waitForDrained in ./drain.ts).
 */
export async function eventually<T>(
  check: () => Promise<T> | T,
  done: (v: T) => boolean,
  timeoutMs = 60_000,
  everyMs = 200,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T = await check();
  while (!done(last)) {
    if (Date.now() > deadline) throw new Error(`${what} not met within ${timeoutMs} ms; last value: ${describe(last)}`);
    await new Promise((r) => setTimeout(r, everyMs));
    last = await check();
  }
  return last;
}

function describe(value: unknown): string {
  try {
    return (JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) ?? String(value)).slice(0, 600);
  } catch {
    return String(value).slice(0, 600);
  }
}
