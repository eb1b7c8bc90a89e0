/**
 * Environment the sessionizer's process is started with (package.json `sessionizer`,
 * docker-compose.yml, the state bench): read by glibc when the process starts, so it cannot be
 * set from the service's own code.
 *
 * MALLOC_MMAP_THRESHOLD_: allocations of 64 KiB and more are mapped on their own and given back
 * when freed. Without it glibc raises that threshold to the size of the first large block freed
 * (a restore's 4 MiB fetch responses, its local copy's 1 MiB frames), after which such blocks come
 * from the main heap and their memory stays with the process once freed: after a million
 * customers restored, the main heap held ~156 MB (docs/performance.md, "Restore: memory left
 * over"). Setting it turns that dynamic adjustment off. 64 KiB, not 128: Node reads a socket into
 * 64 KiB blocks, which at 128 KiB still came from the main heap and left 54–70 MB there; at 64 KiB,
 * 13 MB. The price: each such read is a map and an unmap, ~0.5–0.8 CPU-s more per GiB read
 * (measured alone), ~0.3 CPU-s per million customers restored.
 */
export const SESSIONIZER_PROCESS_ENV: Readonly<Record<string, string>> = { MALLOC_MMAP_THRESHOLD_: '65536' };
