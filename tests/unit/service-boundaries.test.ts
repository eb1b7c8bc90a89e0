import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * Services share code only through libraries: a service folder imports schemas/, the libraries in
 * services/platform/, node modules and its own folder, never another service's folder; the
 * libraries import no service. services/local/ is the composition root of `npm start`: it imports
 * each service's build() and config schema (build.ts, config.ts), nothing else of a service, so a
 * service is wired in one place. Test files may also import the shared test code under tests/.
 */

const ROOT = resolve(import.meta.dirname, '../..');
const SERVICES = join(ROOT, 'services');
const LIBRARIES = 'services/platform';
const COMPOSITION_ROOT = 'services/local';

interface Import {
  readonly file: string;
  readonly specifier: string;
  /** Repository-relative path the specifier points at (relative specifiers only). */
  readonly target: string | null;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.(m|c)?tsx?$/.test(entry.name) && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

const repoPath = (absolute: string): string => relative(ROOT, absolute).split(sep).join('/');
const isUnder = (path: string, folder: string): boolean => path === folder || path.startsWith(`${folder}/`);

/** Every module a file names: static and dynamic imports, `export … from`, `require`. */
function importsOf(file: string): Import[] {
  const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  return info.importedFiles.map(({ fileName: specifier }) => ({
    file: repoPath(file),
    specifier,
    target: specifier.startsWith('.') ? repoPath(resolve(dirname(file), specifier)) : specifier.startsWith('/') ? repoPath(specifier) : null,
  }));
}

/** The service folder a repository path lies in (`services/collector`), or null. */
function serviceFolder(path: string): string | null {
  const [top, name] = path.split('/');
  return top === 'services' && name !== undefined && path.split('/').length > 2 ? `services/${name}` : null;
}

/** Why this import crosses a boundary, or null when it is allowed. */
function violation(imp: Import): string | null {
  if (imp.target === null) return null; // a node module or a node: builtin
  const own = serviceFolder(imp.file)!;
  const target = imp.target;
  if (isUnder(target, 'schemas') || isUnder(target, LIBRARIES) || isUnder(target, own)) return null;
  if (/\.test\.tsx?$/.test(imp.file) && isUnder(target, 'tests')) return null;
  if (own === COMPOSITION_ROOT && /^services\/[^/]+\/(build|config)\.[jt]s$/.test(target)) return null;
  if (own === LIBRARIES) return `the library imports ${target}`;
  if (own === COMPOSITION_ROOT) return `the composition root imports ${target}`;
  const other = serviceFolder(target);
  return other !== null ? `imports the service ${other}` : `imports ${target}, outside schemas/ and ${LIBRARIES}/`;
}

describe('service boundaries', () => {
  const imports = sourceFiles(SERVICES).flatMap(importsOf);

  it('reads the imports of every service folder', () => {
    const folders = new Set(imports.map((i) => serviceFolder(i.file)));
    for (const name of readdirSync(SERVICES, { withFileTypes: true }).filter((e) => e.isDirectory())) {
      expect(folders, `no import read under services/${name.name}`).toContain(`services/${name.name}`);
    }
  });

  it('no service imports another service, and no library imports a service', () => {
    const crossings = imports.flatMap((imp) => {
      const why = violation(imp);
      return why === null ? [] : [`${imp.file}: '${imp.specifier}' ${why}`];
    });
    expect(crossings).toEqual([]);
  });

  it('tells crossings from allowed imports', () => {
    const at = (file: string, target: string | null, specifier = target ?? 'zod') => violation({ file, specifier, target });
    expect(at('services/simulator/main.ts', 'services/collector/config.js')).toBe('imports the service services/collector');
    expect(at('services/simulator/main.ts', 'services/simulator/core/generator.js')).toBeNull();
    expect(at('services/simulator/main.ts', 'services/platform/segment/collect.js')).toBeNull();
    expect(at('services/simulator/main.ts', 'schemas/topics.js')).toBeNull();
    expect(at('services/simulator/main.ts', null)).toBeNull();
    expect(at('services/simulator/main.ts', 'tests/support/prng.js')).toMatch(/outside schemas/);
    expect(at('services/simulator/core/x.test.ts', 'tests/support/prng.js')).toBeNull();
    expect(at('services/platform/clickhouse/rows.test.ts', 'services/query-api/sample-data.js')).toBe('the library imports services/query-api/sample-data.js');
    expect(at('services/local/main.ts', 'services/collector/build.js')).toBeNull();
    expect(at('services/local/main.ts', 'services/collector/config.js')).toBeNull();
    expect(at('services/local/main.ts', 'services/collector/service.js')).toBe('the composition root imports services/collector/service.js');
    expect(at('services/local/main.ts', 'services/collector/main.js')).toBe('the composition root imports services/collector/main.js');
  });
});
