import type { Health } from '../platform/runtime/component.js';

/** Total consumer lag found anywhere in a health tree (consumers report `lag` in their details). */
export function totalLag(health: Health): number {
  let sum = 0;
  const walk = (node: unknown) => {
    if (node === null || typeof node !== 'object') return;
    for (const [k, v] of Object.entries(node)) {
      if (k === 'lag' && typeof v === 'number') sum += v;
      else walk(v);
    }
  };
  walk(health.details);
  return sum;
}
