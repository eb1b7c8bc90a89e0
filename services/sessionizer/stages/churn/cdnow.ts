import type { BgNbdObservation } from './bgnbd.js';

/** Parses the CDNOW summary CSV (`ID,frequency,recency,T`, weeks) into BG/NBD observations. */
export function parseCdnowSummary(csv: string): BgNbdObservation[] {
  const [header, ...lines] = csv.trim().split(/\r?\n/);
  const cols = (header ?? '').split(',');
  const ix = (name: string) => {
    const i = cols.indexOf(name);
    if (i === -1) throw new RangeError(`CDNOW summary has no '${name}' column`);
    return i;
  };
  const [x, tx, T] = [ix('frequency'), ix('recency'), ix('T')];
  return lines.map((line) => {
    const f = line.split(',').map(Number);
    return { x: f[x]!, tx: f[tx]!, T: f[T]! };
  });
}
