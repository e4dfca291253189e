import { createServer } from 'node:net';

/** The only address a test server binds to. */
export const LOOPBACK_HOST = '127.0.0.1';

/**
 * A TCP port that was free on the loopback address a moment ago. Another process may still take it before the
 * server binds, which is why a bind failure is retried on a new port.
 */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, LOOPBACK_HOST, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('no TCP port assigned'))));
    });
  });
}
