export interface Health {
  ok: boolean;
  details?: Record<string, unknown>;
}

/** Every long-lived part: started once, stopped once (flushing what it holds), and asked how it is. */
export interface Component {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  health(): Health;
}

/**
 * Starts components in order and stops them in reverse, so the order they are listed in is the
 * start order and the reverse is the shutdown order (consumers last in, first out).
 */
export function composeComponents(name: string, parts: Component[]): Component {
  const started: Component[] = [];
  return {
    name,
    async start() {
      for (const part of parts) {
        await part.start();
        started.push(part);
      }
    },
    async stop() {
      const errors: unknown[] = [];
      while (started.length > 0) {
        const part = started.pop()!;
        try {
          await part.stop();
        } catch (error) {
          errors.push(error);
        }
      }
      if (errors.length > 0) throw new AggregateError(errors, `${name}: ${errors.length} part(s) failed to stop`);
    },
    health() {
      const details: Record<string, unknown> = {};
      let ok = true;
      for (const part of parts) {
        const h = part.health();
        details[part.name] = h;
        ok &&= h.ok;
      }
      return { ok, details };
    },
  };
}
