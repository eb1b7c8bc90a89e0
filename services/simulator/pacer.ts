import type { Logger } from '../platform/logging/logger.js';
import type { Component } from '../platform/runtime/component.js';
import type { Simulator } from './core/generator.js';
import type { CallSender } from './senders/call-sender.js';

export interface PacerOptions {
  simulator: Simulator;
  sender: CallSender;
  /** 'realtime': simulated time follows the wall clock (the simulator's own rate); 'max': as fast as the sender takes it. */
  mode: 'realtime' | 'max';
  tickMs: number;
  /** max mode: calls per send. */
  chunk: number;
  logger: Logger;
  now?: () => number;
}

/**
 * Drives a simulator: in real time it sends, every tick, the calls due by the wall clock (the
 * simulator started at the wall-clock time); in max mode it sends chunk after chunk, waiting for each.
 */
export function createPacer(options: PacerOptions): Component & { done(): Promise<void> } {
  const now = options.now ?? Date.now;
  let running = false;
  let loop: Promise<void> = Promise.resolve();
  let lastError: string | undefined;
  const run = async () => {
    while (running && !options.simulator.done()) {
      const started = now();
      const calls = options.mode === 'realtime' ? options.simulator.nextUntil(started, 50_000) : options.simulator.next(options.chunk);
      if (calls.length > 0) {
        try {
          await options.sender.send(calls);
          lastError = undefined;
        } catch (error) {
          lastError = (error as Error).message;
          options.logger.warn({ err: error }, 'simulator send failed');
        }
      }
      if (options.mode === 'realtime') {
        const wait = options.tickMs - (now() - started);
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
    }
  };
  return {
    name: 'simulator',
    async start() {
      running = true;
      loop = run();
    },
    async stop() {
      running = false;
      await loop;
    },
    done: () => loop,
    health: () => ({ ok: lastError === undefined, details: { ...options.sender.stats(), lastError } }),
  };
}
