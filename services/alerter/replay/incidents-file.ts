import { z } from 'zod';

/**
 * The injected incidents as the simulator's history mode records them in `<history>.params.json`
 * (`incidents`: absolute epoch-ms times). The alerter reads the file with its own schema instead
 * of importing the simulator: only these fields matter here, everything else in the file is ignored.
 */
const times = { start: z.number().int(), end: z.number().int(), site: z.string().min(1).optional() };

export const ReplayIncident = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('conversion-drop'),
    ...times,
    /** 'Product Added→Checkout Started' ('->' accepted): the monitors whose from→to it is watch it. */
    step: z.string().transform((s) => s.replace(/\s*(?:->|→)\s*/, '→')),
    dropPct: z.number().min(0).max(100),
  }),
  z.object({
    kind: z.literal('tracking-stopped'),
    ...times,
    /** A collector source; every source of the site when absent. */
    source: z.string().min(1).optional(),
  }),
]).refine((i) => i.end > i.start, 'an incident ends after it starts');
export type ReplayIncident = z.infer<typeof ReplayIncident>;

export const IncidentsFile = z.object({ incidents: z.array(ReplayIncident) });

/** Parses the params file's text; a file without a valid `incidents` list is an error naming the field. */
export function parseIncidentsFile(json: string, file: string): ReplayIncident[] {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (error) {
    throw new Error(`${file} is not JSON: ${(error as Error).message}`);
  }
  const parsed = IncidentsFile.safeParse(raw);
  if (!parsed.success) throw new Error(`${file}: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  return parsed.data.incidents;
}
