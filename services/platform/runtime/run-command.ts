import { ConfigError } from '../config/env.js';

/**
 * The exit code of a one-shot command (import, verify, simulate): what `main` returns, or, when it
 * throws, 2 for a configuration or usage problem and 1 for anything else, with the message on
 * `stderr` ("<name> failed: ...") instead of a stack trace.
 */
export async function commandExitCode(name: string, main: () => Promise<number>, stderr: Pick<NodeJS.WritableStream, 'write'>): Promise<number> {
  try {
    return await main();
  } catch (error) {
    stderr.write(`${name} failed: ${error instanceof Error ? error.message : String(error)}\n`);
    return error instanceof ConfigError ? 2 : 1;
  }
}
