import type { ImportProgress } from './importer.js';

/** "12.3%  45,678 events  9,876/s  ETA 1m 05s", from the bytes read of a file of `size` bytes. */
export function progressLine(file: string, progress: ImportProgress, size: number, startedBytes: number, startedEvents: number, elapsedMs: number): string {
  const events = progress.accepted + progress.rejected;
  const seconds = Math.max(elapsedMs / 1000, 0.001);
  const rate = (events - startedEvents) / seconds;
  const bytesRate = (progress.bytesRead - startedBytes) / seconds;
  const share = size > 0 ? Math.min(1, progress.bytesRead / size) : 1;
  const eta = bytesRate > 0 ? (size - progress.bytesRead) / bytesRate : Infinity;
  return `${file}  ${(share * 100).toFixed(1)}%  ${events.toLocaleString('en')} events  ${Math.round(rate).toLocaleString('en')}/s  ETA ${duration(eta)}`;
}

export function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  return s < 60 ? `${s}s` : s < 3600 ? `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s` : `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
