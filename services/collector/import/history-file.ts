import { createReadStream, type ReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import type { HistoryLine } from './importer.js';

const GZIP_MAGIC = [0x1f, 0x8b];

/**
 * The lines of a history file, plain or gzip (recognised by its first bytes, not its name), each
 * with the file bytes read so far (for progress and ETA: compressed bytes for gzip).
 */
export async function* historyLines(path: string): AsyncGenerator<HistoryLine> {
  const head = Buffer.alloc(2);
  const handle = await open(path, 'r');
  try {
    await handle.read(head, 0, 2, 0);
  } finally {
    await handle.close();
  }
  const file: ReadStream = createReadStream(path, { highWaterMark: 1 << 20 });
  const gzip = head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1];
  const text = gzip ? file.pipe(createGunzip()) : file;
  file.on('error', (error) => text.destroy(error));
  const reader = createInterface({ input: text, crlfDelay: Infinity });
  try {
    for await (const line of reader) yield { text: line, bytesRead: file.bytesRead };
  } finally {
    reader.close();
    file.destroy();
  }
}
