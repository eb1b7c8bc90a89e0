import { describe, expect, it } from 'vitest';
import { ConfigError } from '../config/env.js';
import { commandExitCode } from './run-command.js';

describe('commandExitCode', () => {
  const run = async (main: () => Promise<number>) => {
    let written = '';
    const code = await commandExitCode('import', main, { write: (s: string) => ((written += s), true) });
    return { code, written };
  };

  it('is what main returns, and says nothing', async () => {
    expect(await run(async () => 0)).toEqual({ code: 0, written: '' });
    expect(await run(async () => 1)).toEqual({ code: 1, written: '' });
  });

  it('is 2 for a configuration problem and 1 for anything else, with the message', async () => {
    expect(await run(async () => Promise.reject(new ConfigError(['--source is required'])))).toEqual({ code: 2, written: 'import failed: invalid configuration:\n  --source is required\n' });
    expect(await run(async () => Promise.reject(new Error('broker down')))).toEqual({ code: 1, written: 'import failed: broker down\n' });
  });
});
