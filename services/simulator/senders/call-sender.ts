import type { SimulatedCall } from '../core/segment-call.js';

/** Where simulated calls go: the collector over HTTP, or straight to Kafka. */
export interface CallSender {
  /** Resolves once every call was accepted (retrying 429/503 as an SDK does). */
  send(calls: SimulatedCall[]): Promise<void>;
  stats(): { sent: number; requests: number; retries: number; rejected: number };
}

/** Groups calls by write key into batches of at most `size`, preserving order within a key. */
export function batchesByWriteKey(calls: SimulatedCall[], size: number): Array<{ writeKey: string; calls: SimulatedCall[] }> {
  const open = new Map<string, SimulatedCall[]>();
  const out: Array<{ writeKey: string; calls: SimulatedCall[] }> = [];
  for (const c of calls) {
    let list = open.get(c.writeKey);
    if (!list) {
      list = [];
      open.set(c.writeKey, list);
      out.push({ writeKey: c.writeKey, calls: list });
    }
    list.push(c);
    if (list.length >= size) open.delete(c.writeKey);
  }
  return out;
}
