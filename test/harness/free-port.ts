import { createServer, type Server } from 'node:net';

/** Host every harness listener binds to; loopback only, so tests never touch the network. */
export const LOOPBACK_HOST = '127.0.0.1';

function listenOnEphemeralPort(): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, LOOPBACK_HOST, () => resolve(server));
  });
}

function portOf(server: Server): number {
  const address = server.address();
  if (address === null || typeof address === 'string') {
    throw new Error('free-port: listener has no TCP address');
  }
  return address.port;
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
}

/**
 * Returns `count` distinct TCP ports that were free on 127.0.0.1 a moment ago.
 *
 * All listeners stay open until every port is read, so the kernel cannot hand the same
 * ephemeral port out twice within one call.
 */
export async function getFreePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < count; i += 1) {
      servers.push(await listenOnEphemeralPort());
    }
    return servers.map(portOf);
  } finally {
    await Promise.all(servers.map(closeServer));
  }
}

/**
 * Returns a TCP port that was free on 127.0.0.1 a moment ago.
 *
 * Another process can still grab it before the caller binds, so callers that spawn
 * servers should retry with a fresh port when the bind fails.
 */
export async function getFreePort(): Promise<number> {
  const [port] = await getFreePorts(1);
  return port!;
}
