import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * docs/ARCHITECTURE.md walks one event through the code, naming a file (and often a function in
 * it) at every step. Files get moved and functions renamed; this keeps the walk pointing at code
 * that exists: every repository path it cites exists, and every name cited with its file, written
 * `name` (`path`) or `name` in `path`, occurs in that file.
 */

const ROOT = resolve(import.meta.dirname, '../..');
/** The prose: the diagram's fence would pair its backticks with the text's. */
const DOC = readFileSync(join(ROOT, 'docs/ARCHITECTURE.md'), 'utf8').replace(/```[\s\S]*?```/g, '');
const REPO_PATH = /^(services|schemas|tests)\/[^\s`*<]+$/;

describe('docs/ARCHITECTURE.md', () => {
  it('cites only files that exist', () => {
    const cited = [...DOC.matchAll(/`([^`]+)`/g)].map((m) => m[1]!).filter((s) => REPO_PATH.test(s));
    expect(cited.length).toBeGreaterThan(50);
    expect(cited.filter((path) => !existsSync(join(ROOT, path)))).toEqual([]);
  });

  it('names functions and tables that occur in the files it cites them with', () => {
    const pairs = [...DOC.matchAll(/`([A-Za-z_][\w.()]*)`\s+(?:\(|in\s+)`((?:services|schemas|tests)\/[^`]+)`/g)].map((m) => ({
      name: /^[A-Za-z_]\w*/.exec(m[1]!)![0],
      path: m[2]!,
    }));
    expect(pairs.length).toBeGreaterThan(30);
    const absent = pairs.filter(({ name, path }) => !existsSync(join(ROOT, path)) || !readFileSync(join(ROOT, path), 'utf8').includes(name));
    expect(absent).toEqual([]);
  });
});
