import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../config/env.js';
import { SourceConfig } from './source-config.js';

/**
 * Reads a sources file (`COLLECTOR_SOURCES_FILE`: the collector, the history import and the
 * simulator's Kafka target all read it); an unreadable or invalid file stops the start with its
 * name and the problem.
 */
export function loadSources(file: string): SourceConfig[] {
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ConfigError([`COLLECTOR_SOURCES_FILE ${file}: ${(error as Error).message}`]);
  }
  const parsed = z.object({ sources: z.array(SourceConfig).min(1) }).safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `COLLECTOR_SOURCES_FILE ${file}: ${i.path.join('.')}: ${i.message}`));
  }
  return parsed.data.sources;
}
