/**
 * Environment the sessionizer's process is started with (package.json `sessionizer`,
 * docker-compose.yml, the state bench): read by glibc when the process starts, so it cannot be
 * set from the service's own code.
 *
 * MALLOC_MMAP_THRESHOLD_: allocations of 128 KiB and more are mapped on their own and given back
 * when freed. Without it glibc raises that threshold to the size of the first large block freed
 * (a restore's 4 MiB fetch responses, its local copy's 1 MiB frames), after which such blocks come
 * from the main heap and their memory stays with the process once freed: after a million
 * customers restored, the main heap held ~156 MB (docs/performance.md, "Restore: memory left
 * over"). Setting it turns that dynamic adjustment off. At 64 KiB (tried) Node's 64 KiB socket
 * reads are mapped too and the main heap keeps 13 MB instead of 54–70, but a restore cost 30–40%
 * more CPU (mapping and faulting in every read), so 128 KiB.
 */
export const SESSIONIZER_PROCESS_ENV: Readonly<Record<string, string>> = { MALLOC_MMAP_THRESHOLD_: '131072' };
