/** Plain JSON objects as they come out of JSON.parse, and the few operations the collector does on them. */
export type JsonObject = Record<string, unknown>;

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A string field of an object that may be absent or not an object at all. */
export function stringAt(value: unknown, key: string): string | null {
  if (!isJsonObject(value)) return null;
  const field = value[key];
  return typeof field === 'string' && field !== '' ? field : null;
}

export function objectAt(value: unknown, key: string): JsonObject | null {
  if (!isJsonObject(value)) return null;
  const field = value[key];
  return isJsonObject(field) ? field : null;
}

/**
 * `over` merged on top of `base`, recursively for nested objects: the batch-level context goes
 * under each event's own context, so the event wins field by field. `__proto__` keys are skipped so
 * a payload can never reach an object's prototype.
 */
export function mergeUnder(base: JsonObject, over: JsonObject): JsonObject {
  const merged: JsonObject = { ...base };
  for (const [key, value] of Object.entries(over)) {
    if (key === '__proto__') continue;
    const below = merged[key];
    merged[key] = isJsonObject(value) && isJsonObject(below) ? mergeUnder(below, value) : value;
  }
  return merged;
}

/**
 * Whether objects/arrays nest deeper than `maxDepth`. Iterative on purpose: the check exists because
 * recursive code (JSON.stringify included) overflows the stack on hostile nesting.
 */
export function nestsDeeperThan(value: unknown, maxDepth: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (typeof node !== 'object' || node === null) continue;
    if (depth >= maxDepth) return true;
    for (const child of Object.values(node)) {
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
    }
  }
  return false;
}
