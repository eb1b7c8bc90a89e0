import { createServer } from 'node:net';

/**
 * Two free consecutive ports (a broker's and its controller's), picked at random away from the
 * fixed ones (19092 and up): a test's own broker then never meets another run's broker on this
 * machine (infra/kafka/broker.sh would "use" a broker it finds on its port, and that run may stop it).
 */
export async function freePortPair(): Promise<number> {
  const free = (port: number) =>
    new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20_000 + 2 * Math.floor(Math.random() * 5_000);
    if ((await free(port)) && (await free(port + 1))) return port;
  }
  throw new Error('no free port pair for a broker of its own');
}

/**
 * Starts something (a broker) on a free port pair; another process may take the ports between the
 * check and the bind, so a start that fails is tried on other ports, up to `attempts` times.
 */
export async function onFreePortPair<T>(start: (port: number) => T | Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePortPair();
    try {
      return await start(port);
    } catch (error) {
      if (attempt >= attempts) throw error;
    }
  }
}
