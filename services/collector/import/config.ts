import { parseArgs } from 'node:util';
import { z } from 'zod';
import { commonEnv, ConfigError } from '../../platform/config/env.js';

export const ImportEnv = z.object({
  ...commonEnv,
  /** The write keys, as at the collector: the key given to --source names the source, its site and email hashing. */
  COLLECTOR_SOURCES_FILE: z.string().default('services/collector/sources.local.yaml'),
});
export type ImportConfig = z.infer<typeof ImportEnv>;

export interface ImportArgs {
  /** The source of lines that carry no `writeKey` of their own. */
  writeKey: string | null;
  paths: string[];
  /** Import a file again although its progress file says it was imported completely. */
  force: boolean;
  /**
   * Into `touchpoints`, as live traffic (the behaviour before the history lane): for an import
   * into a pipeline with no live traffic, where the lane's cost buys nothing. Default false: into
   * `touchpoints-history`, closed with a `history-end` marker (docs/history-lane.md).
   */
  liveTopic: boolean;
  /**
   * Close the history lane without importing: the end markers an interrupted import did not write
   * (services/collector/import/lane.ts). What it imported stays.
   */
  closeLane: boolean;
}

export const IMPORT_USAGE =
  'usage: npm run import -- [--source <writeKey>] <file or folder>... [--force] [--live-topic]  (--source for lines without a writeKey of their own; --live-topic: into touchpoints, not the history lane) | npm run import -- --close-lane  (gives up an interrupted import: its end markers)';

/** `[--source <writeKey>] <file or folder>... [--force] [--live-topic]`; a problem stops the start with the usage. */
export function parseImportArgs(argv: string[]): ImportArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { source: { type: 'string' }, force: { type: 'boolean', default: false }, 'live-topic': { type: 'boolean', default: false }, 'close-lane': { type: 'boolean', default: false } },
    });
  } catch (error) {
    throw new ConfigError([(error as Error).message, IMPORT_USAGE]);
  }
  const writeKey = parsed.values.source ?? null;
  if (writeKey === '') throw new ConfigError(['--source needs a write key', IMPORT_USAGE]);
  const closeLane = parsed.values['close-lane'] ?? false;
  const liveTopic = parsed.values['live-topic'] ?? false;
  if (closeLane && (parsed.positionals.length > 0 || liveTopic || writeKey !== null)) throw new ConfigError(['--close-lane takes nothing else: it only writes the end markers', IMPORT_USAGE]);
  if (!closeLane && parsed.positionals.length === 0) throw new ConfigError(['no file or folder to import', IMPORT_USAGE]);
  return { writeKey, paths: parsed.positionals, force: parsed.values.force ?? false, liveTopic, closeLane };
}
