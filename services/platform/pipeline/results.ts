/** What a pipeline step decided for one input: pass it on, dead-letter it with a reason, or drop it knowingly. */
export type StepResult<T> =
  | { readonly kind: 'ok'; readonly value: T }
  | { readonly kind: 'dlq'; readonly reason: string; readonly cause?: unknown }
  | { readonly kind: 'drop'; readonly reason: string };

export const ok = <T>(value: T): StepResult<T> => ({ kind: 'ok', value });
export const dlq = (reason: string, cause?: unknown): StepResult<never> => ({ kind: 'dlq', reason, cause });
/** Only for inputs that are known to be already counted (duplicates), never for failures. */
export const drop = (reason: string): StepResult<never> => ({ kind: 'drop', reason });

export const isOk = <T>(r: StepResult<T>): r is { kind: 'ok'; value: T } => r.kind === 'ok';
