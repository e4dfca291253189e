import { inspect } from 'node:util';
import { Connection } from '../../lib/connection/connection';
import { ResponseError } from '../../lib/errors/redis-pool.errors';
import { ClusterPool } from '../../lib/cluster/cluster-pool';
import { ConnectionPool } from '../../lib/pool/connection-pool';
import { startFakeRespServer, useRedisServer, type FakeRespServer } from '../harness';
import { watchUnhandledRejections } from './pool-checks';
import { errorViews, leakedPieces } from './url-secret-cases';

const PASSWORD = 'Qz9/Xk?7#Wv@Jm';

/** Every raw view of an object a debugger, a logger or a heap walk would show. */
function rawViews(value: object): string {
  return [
    inspect(value, { customInspect: false, showHidden: true, depth: 12 }),
    inspect({ ...value }, { customInspect: false, showHidden: true, depth: 12 }),
    inspect(value),
    JSON.stringify(value),
  ].join('\n');
}

/** Scenario 41 (server side): a server that echoes handshake arguments in its error cannot leak the password. */
describe('handshake errors and secrets', () => {
  watchUnhandledRejections();

  describe('a server or proxy that echoes AUTH/HELLO arguments', () => {
    let fake: FakeRespServer;

    afterEach(async () => {
      await fake.close();
    });

    it.each([
      [
        'renamed AUTH (redis 7 wording)',
        (arg: string) => `-ERR unknown command 'AUTH', with args beginning with: '${arg}' \r\n`,
      ],
      [
        'a proxy that echoes the line',
        (arg: string) => `-ERR proxy refused AUTH default ${arg}\r\n`,
      ],
      ['a proxy that quotes it', (arg: string) => `-WRONGPASS "${arg}" is not valid\r\n`],
    ])(
      '%s: no part of the password in the error, the events or the pool',
      async (_label, reply) => {
        fake = await startFakeRespServer((command, conn) => {
          const name = command[0].toUpperCase();
          if (name === 'AUTH') conn.write(reply(command[command.length - 1]));
          else if (name === 'HELLO') conn.write(reply(command[command.indexOf('AUTH') + 2] ?? ''));
          else conn.write('+OK\r\n');
        });
        for (const protocol of [2, 3] as const) {
          const pool = new ConnectionPool({
            host: fake.host,
            port: fake.port,
            password: PASSWORD,
            protocol,
            connectTimeoutMs: 1000,
          });
          const events: unknown[] = [];
          pool.on('down', (error: unknown) => events.push(error));
          pool.on('error', (error: unknown) => events.push(error));
          const error = await pool.executeCommand('PING').catch((e: unknown) => e);
          expect(error).toBeInstanceOf(ResponseError);
          expect(events.length).toBeGreaterThan(0);
          const views = [errorViews(error), ...events.map(errorViews), rawViews(pool)].join('\n');
          expect(leakedPieces(views, PASSWORD)).toEqual([]);
          await pool.disconnect();
        }
      },
    );

    it('an AUTH a user runs on a lease gets its echoed arguments removed too', async () => {
      fake = await startFakeRespServer((command, conn) => {
        if (command[0].toUpperCase() === 'AUTH') {
          conn.write(`-ERR unknown command 'AUTH', with args beginning with: '${command[1]}' \r\n`);
        } else conn.write('+PONG\r\n');
      });
      const pool = new ConnectionPool({ host: fake.host, port: fake.port });
      const error = await pool
        .withConnection((c) => c.executeCommand('AUTH', PASSWORD))
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ResponseError);
      expect((error as ResponseError).code).toBe('ERR');
      expect((error as ResponseError).message).toMatch(/unknown command/);
      expect(leakedPieces(errorViews(error), PASSWORD)).toEqual([]);
      await pool.disconnect();
    });
  });

  it("a cluster pool keeps its nodes' password out of every raw view too", async () => {
    const cluster = new ClusterPool({
      nodes: [{ host: '127.0.0.1', port: 1 }],
      password: PASSWORD,
      connectTimeoutMs: 200,
      commandTimeoutMs: 300,
    });
    await cluster.executeCommand('PING').catch(() => undefined);
    expect(leakedPieces(rawViews(cluster), PASSWORD)).toEqual([]);
    await cluster.disconnect();
  });

  describe('against a password-protected server', () => {
    const server = useRedisServer({ password: PASSWORD });

    it('the pool and its connections keep the password where no inspect, spread or JSON reaches', async () => {
      const pool = new ConnectionPool({
        port: server().port,
        host: server().host,
        password: PASSWORD,
      });
      try {
        expect(await pool.executeCommand('PING')).toBe('PONG');
        await pool.withConnection(async (c) => {
          expect(leakedPieces(rawViews(c), PASSWORD)).toEqual([]);
        });
        expect(leakedPieces(rawViews(pool), PASSWORD)).toEqual([]);
      } finally {
        await pool.disconnect();
      }
      const connection = await Connection.connect({
        host: server().host,
        port: server().port,
        password: PASSWORD,
        db: 0,
        protocol: 3,
        connectTimeoutMs: 1000,
        commandTimeoutMs: 1000,
        keepAliveMs: 0,
      });
      expect(leakedPieces(rawViews(connection), PASSWORD)).toEqual([]);
      await connection.disconnect();
    });
  });
});
