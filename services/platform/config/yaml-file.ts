import { LineCounter, isMap, isNode, isScalar, parseDocument, type Document, type Node } from 'yaml';
import type { z } from 'zod';

/** One problem in a configuration file, located by line (1-based) so a person can fix it. */
export interface ConfigProblem {
  line: number;
  column: number;
  path: string;
  message: string;
}

/**
 * A configuration file that does not parse or does not match its schema. Never retriable: the same
 * text fails the same way. The message names the file and line of the first problem; `problems`
 * lists all of them.
 */
export class ConfigFileError extends Error {
  readonly retriable = false;
  constructor(
    readonly fileName: string,
    readonly problems: readonly ConfigProblem[],
    options?: { cause?: unknown },
  ) {
    super(problems.map((p) => formatProblem(fileName, p)).join('\n'), options);
    this.name = 'ConfigFileError';
  }
  /** Line of the first problem. */
  get line(): number {
    return this.problems[0]?.line ?? 1;
  }
}

function formatProblem(fileName: string, p: ConfigProblem): string {
  return `${fileName}:${p.line}:${p.column}: ${p.path === '' ? '' : `${p.path}: `}${p.message}`;
}

/**
 * Parses YAML (JSON is YAML, so both work) and validates it with `schema`: the one loader of the
 * project's configuration files (stage rules, churn playbook and model, alert monitors). Zod issue paths are
 * mapped back to the YAML nodes they came from, so errors point at the offending line rather
 * than at a JSON path the reader has to count through.
 */
export function parseConfigFile<S extends z.ZodType>(text: string, fileName: string, schema: S): z.output<S> {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number) => lineCounter.linePos(offset);

  if (doc.errors.length > 0) {
    const problems = doc.errors.map((e) => {
      const pos = at(e.pos[0]);
      return { line: pos.line, column: pos.col, path: '', message: e.message.split('\n')[0] ?? e.message };
    });
    throw new ConfigFileError(fileName, problems, { cause: doc.errors[0] });
  }

  const result = schema.safeParse(doc.toJS());
  if (result.success) return result.data;

  const problems = result.error.issues.flatMap(explainUnion).map((issue) => {
    // An unknown key is best reported at the key itself, not on its parent map.
    const unknownKey = issue.code === 'unrecognized_keys' ? (issue.keys[0] as string | undefined) : undefined;
    const node = (unknownKey === undefined ? null : keyNode(doc, issue.path, unknownKey)) ?? deepestNode(doc, issue.path);
    const pos = node?.range ? at(node.range[0]) : { line: 1, col: 1 };
    const path = unknownKey === undefined ? issue.path : [...issue.path, unknownKey];
    return { line: pos.line, column: pos.col, path: formatPath(path), message: issue.message };
  });
  problems.sort((a, b) => a.line - b.line || a.column - b.column);
  throw new ConfigFileError(fileName, problems, { cause: result.error });
}

type Issue = z.core.$ZodIssue;

/**
 * A union (`x` or `[x, y]`) that fails reports only "Invalid input" at the union itself. When one
 * branch got past the type check (the value was a list, say), its issues say what is really
 * wrong and where, so they replace the union's; paths inside branches are relative to the union.
 */
function explainUnion(issue: Issue): Issue[] {
  if (issue.code !== 'invalid_union' || issue.errors.length === 0) return [issue];
  const typeMismatch = (branch: Issue[]) => branch.every((i) => i.code === 'invalid_type' && i.path.length === 0);
  const matching = issue.errors.filter((branch) => !typeMismatch(branch));
  if (matching.length === 0) {
    const expected = issue.errors.flatMap((b) => b.map((i) => (i.code === 'invalid_type' ? i.expected : null))).filter((e) => e !== null);
    return [{ ...issue, message: `Invalid input: expected ${[...new Set(expected)].join(' or ')}` }];
  }
  const depth = (branch: Issue[]) => Math.max(...branch.map((i) => i.path.length));
  const best = matching.reduce((a, b) => (depth(b) > depth(a) ? b : a));
  return best.flatMap((i) => explainUnion({ ...i, path: [...issue.path, ...i.path] } as Issue));
}

/** The node at `path`, or the nearest ancestor that exists (a missing key is reported on its parent). */
function deepestNode(doc: Document, path: readonly PropertyKey[]): Node | null {
  const keys = path.filter((k): k is string | number => typeof k !== 'symbol');
  for (let n = keys.length; n >= 0; n--) {
    const node: unknown = n === 0 ? doc.contents : doc.getIn(keys.slice(0, n), true);
    if (isNode(node) && node.range) return node;
  }
  return null;
}

/** The key node of `key` in the map at `path`, or null. */
function keyNode(doc: Document, path: readonly PropertyKey[], key: string): Node | null {
  const keys = path.filter((k): k is string | number => typeof k !== 'symbol');
  const map: unknown = keys.length === 0 ? doc.contents : doc.getIn(keys, true);
  if (!isMap(map)) return null;
  const pair = map.items.find((p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === key);
  return isNode(pair?.key) ? pair.key : null;
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) out += typeof key === 'number' ? `[${key}]` : out === '' ? String(key) : `.${String(key)}`;
  return out;
}
