import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import type { ImportProgress } from './importer.js';

const Saved = z.object({
  file: z.string(),
  size: z.number(),
  mtimeMs: z.number(),
  sourceId: z.string(),
  done: z.boolean(),
  progress: z.object({
    lines: z.number().int().min(0),
    bytesRead: z.number().min(0),
    accepted: z.number().int().min(0),
    rejected: z.number().int().min(0),
    duplicates: z.number().int().min(0),
    reasons: z.record(z.string(), z.number()),
  }),
});
export type SavedImport = z.infer<typeof Saved>;

/**
 * Where an import of one file stands, in DATA_DIR/imports: one JSON file per (history file, source),
 * replaced atomically after every acknowledged chunk. A file that changed since (size or mtime)
 * starts over; a finished one is not imported again.
 */
export function importProgressFile(dataDir: string, file: string, sourceId: string) {
  const absolute = resolve(file);
  const dir = join(dataDir, 'imports');
  const path = join(dir, `${createHash('sha1').update(`${sourceId}\n${absolute}`).digest('hex').slice(0, 16)}.json`);
  const stat = statSync(absolute);
  const identity = { file: absolute, size: stat.size, mtimeMs: stat.mtimeMs, sourceId };
  return {
    path,
    size: stat.size,
    /** The saved state of this very file (same size and mtime), or null. */
    load(): SavedImport | null {
      let saved: SavedImport;
      try {
        saved = Saved.parse(JSON.parse(readFileSync(path, 'utf8')));
      } catch {
        return null;
      }
      return saved.file === identity.file && saved.size === identity.size && saved.mtimeMs === identity.mtimeMs && saved.sourceId === sourceId ? saved : null;
    },
    save(progress: ImportProgress, done: boolean): void {
      mkdirSync(dir, { recursive: true });
      const next = `${path}.next`;
      writeFileSync(next, JSON.stringify({ ...identity, done, progress }));
      renameSync(next, path);
    },
  };
}
