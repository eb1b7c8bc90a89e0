import { z } from 'zod';

const COMPARISONS = ['>=', '<=', '!=', '==', '>', '<'] as const;
type Comparison = (typeof COMPARISONS)[number];
type Scalar = number | string | boolean | null;

/** A test on one touchpoint property, e.g. `rating >= 4`, `plan == "pro"`, `referrerId exists`. */
export type PropertyCondition =
  | { text: string; path: readonly string[]; op: Comparison; value: Scalar }
  | { text: string; path: readonly string[]; op: 'exists' | 'missing' };

// A property path is dot-separated identifiers; the operators are listed longest first so `>=` is not read as `>`.
const COMPARISON_RE = /^\s*([A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*)\s*(>=|<=|!=|==|>|<)\s*(.+?)\s*$/;
const PRESENCE_RE = /^\s*([A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*)\s+(exists|missing)\s*$/;

/** Parses the condition text, or returns why it is not one. */
export function parsePropertyCondition(text: string): PropertyCondition | string {
  const presence = PRESENCE_RE.exec(text);
  if (presence) return { text, path: presence[1]!.split('.'), op: presence[2] as 'exists' | 'missing' };
  const m = COMPARISON_RE.exec(text);
  if (!m) return `invalid condition '${text}': expected '<property> <op> <value>' (op one of ${COMPARISONS.join(' ')}) or '<property> exists|missing'`;
  const value = parseScalar(m[3]!);
  if (value === undefined) return `invalid value '${m[3]}' in condition '${text}'`;
  const op = m[2] as Comparison;
  if (isOrdering(op) && typeof value !== 'number') return `'${op}' needs a number in condition '${text}'`;
  return { text, path: m[1]!.split('.'), op, value };
}

function parseScalar(raw: string): Scalar | undefined {
  if (/^-?\d+(\.\d+)?$/.test(raw)) return Number(raw);
  if (raw === 'true' || raw === 'false') return raw === 'true';
  if (raw === 'null') return null;
  const quoted = /^(['"])(.*)\1$/.exec(raw);
  if (quoted) return quoted[2]!;
  if (/^[\w.\-/]+$/.test(raw)) return raw;
  return undefined;
}

const isOrdering = (op: Comparison) => op === '>' || op === '>=' || op === '<' || op === '<=';

/** The zod form: a condition string, validated and compiled while the rules file is loaded. */
export const PropertyConditionText = z.string().transform((text, ctx) => {
  const parsed = parsePropertyCondition(text);
  if (typeof parsed === 'string') {
    ctx.addIssue({ code: 'custom', message: parsed });
    return z.NEVER;
  }
  return parsed;
});

export function readPath(properties: Readonly<Record<string, unknown>>, path: readonly string[]): unknown {
  let v: unknown = properties;
  for (const key of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

/** SDKs send numbers as strings often enough ("rating": "5") that comparisons accept numeric strings. */
function asNumber(v: unknown): number | null {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return null;
}

export function conditionHolds(c: PropertyCondition, properties: Readonly<Record<string, unknown>>): boolean {
  const actual = readPath(properties, c.path);
  if (!('value' in c)) {
    const present = actual !== undefined && actual !== null && actual !== '';
    return c.op === 'exists' ? present : !present;
  }
  if (typeof c.value === 'number') {
    const n = asNumber(actual);
    if (n === null) return c.op === '!=';
    switch (c.op) {
      case '>=': return n >= c.value;
      case '<=': return n <= c.value;
      case '>': return n > c.value;
      case '<': return n < c.value;
      case '==': return n === c.value;
      case '!=': return n !== c.value;
    }
  }
  const equal = (actual ?? null) === c.value;
  return c.op === '==' ? equal : c.op === '!=' ? !equal : false;
}
