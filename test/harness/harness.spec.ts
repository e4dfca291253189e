import { existsSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

import {
  getFreePorts,
  respEncode,
  startFakeRespServer,
  startRedisServer,
  startTcpProxy,
  useRedisServer,
  type FakeRespServer,
  type RedisServerHandle,
  type TcpProxy,
} from './index';

const PING = '*1\r\n$4\r\nPING\r\n';
const SILENCE_MS = 300;

/** A raw socket plus everything it received, so tests can assert on exact bytes. */
interface RawClient {
  socket: Socket;
  received(): string;
  waitFor(text: string, timeoutMs?: number): Promise<string>;
  closed: Promise<void>;
}

const openSockets = new Set<Socket>();

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function track(socket: Socket, readyEvent: 'connect' | 'secureConnect'): Promise<RawClient> {
  openSockets.add(socket);
  let data = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => (data += chunk));
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  closed.then(() => openSockets.delete(socket));
  const client: RawClient = {
    socket,
    closed,
    received: () => data,
    waitFor: (text, timeoutMs = 3_000) =>
      new Promise((resolve, reject) => {
        const started = Date.now();
        const poll = (): void => {
          if (data.includes(text)) resolve(data);
          else if (Date.now() - started > timeoutMs) {
            reject(new Error(`expected ${JSON.stringify(text)}, got ${JSON.stringify(data)}`));
          } else setTimeout(poll, 5);
        };
        poll();
      }),
  };
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.once(readyEvent, () => {
      socket.off('error', reject);
      socket.on('error', () => undefined);
      resolve(client);
    });
  });
}

function rawTcp(port: number): Promise<RawClient> {
  return track(netConnect({ host: '127.0.0.1', port }), 'connect');
}

function connectError(port: number): Promise<NodeJS.ErrnoException | undefined> {
  return rawTcp(port).then(
    (client) => {
      client.socket.destroy();
      return undefined;
    },
    (error: NodeJS.ErrnoException) => error,
  );
}

afterEach(() => {
  for (const socket of openSockets) socket.destroy();
  openSockets.clear();
});

describe('redis server lifecycle', () => {
  const redis = useRedisServer();

  test('starts on a free loopback port and answers redis-cli', async () => {
    expect(redis().host).toBe('127.0.0.1');
    expect(redis().url).toBe(`redis://127.0.0.1:${redis().port}`);
    expect(redis().running).toBe(true);
    await expect(redis().cli('PING')).resolves.toBe('PONG');
  });

  test('freeze() stalls replies on an open connection and resume() releases them', async () => {
    const client = await rawTcp(redis().port);
    redis().freeze();
    try {
      client.socket.write(PING);
      await sleep(SILENCE_MS);
      expect(client.received()).toBe('');
    } finally {
      redis().resume();
    }
    await expect(client.waitFor('+PONG\r\n')).resolves.toBe('+PONG\r\n');
  });

  test('kill() refuses connections and restart() comes back on the same port', async () => {
    const { port } = redis();
    const survivor = await rawTcp(port);
    await redis().kill();
    expect(redis().running).toBe(false);
    expect(redis().pid).toBeUndefined();
    await survivor.closed;
    expect(await connectError(port)).toMatchObject({ code: 'ECONNREFUSED' });

    await redis().restart();
    expect(redis().port).toBe(port);
    const client = await rawTcp(port);
    client.socket.write(PING);
    await client.waitFor('+PONG\r\n');
  });

  test('stop() shuts down gracefully and start() brings the same server back', async () => {
    const firstPid = redis().pid;
    await redis().stop();
    expect(await connectError(redis().port)).toMatchObject({ code: 'ECONNREFUSED' });
    await expect(redis().start()).resolves.toBeUndefined();
    expect(redis().pid).not.toBe(firstPid);
    await expect(redis().cli('PING')).resolves.toBe('PONG');
    expect(redis().log).toContain('Ready to accept connections');
  });

  test('clientList() reports a raw connection but not its own redis-cli', async () => {
    const client = await rawTcp(redis().port);
    client.socket.write('*3\r\n$6\r\nCLIENT\r\n$7\r\nSETNAME\r\n$9\r\nraw-probe\r\n');
    await client.waitFor('+OK\r\n');
    const localPort = client.socket.localPort;

    const clients = await redis().clientList();

    const probe = clients.find((entry) => entry.name === 'raw-probe');
    expect(probe).toMatchObject({ addr: `127.0.0.1:${localPort}`, cmd: 'client|setname' });
    expect(clients.every((entry) => entry.cmd !== 'client|list')).toBe(true);
  });

  test('cli() returns error replies as text instead of throwing', async () => {
    await expect(redis().cli('GET')).resolves.toMatch(/^ERR wrong number of arguments/);
  });
});

describe('redis server options', () => {
  const servers: RedisServerHandle[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((server) => server.dispose()));
  });
  async function start(...args: Parameters<typeof startRedisServer>): Promise<RedisServerHandle> {
    const server = await startRedisServer(...args);
    servers.push(server);
    return server;
  }

  test('password and ACL users: cli authenticates, raw clients must AUTH', async () => {
    const server = await start({
      password: 'p@ss word',
      users: ['alice on >alice-pw ~* &* +@all'],
    });
    expect(server.url).toBe(`redis://:p%40ss%20word@127.0.0.1:${server.port}`);
    await expect(server.cli('PING')).resolves.toBe('PONG');
    expect((await server.cli('ACL', 'USERS')).split('\n')).toEqual(['alice', 'default']);

    const client = await rawTcp(server.port);
    client.socket.write(PING);
    await client.waitFor('-NOAUTH');
    client.socket.write('*3\r\n$4\r\nAUTH\r\n$5\r\nalice\r\n$8\r\nalice-pw\r\n' + PING);
    await client.waitFor('+OK\r\n+PONG\r\n');
  });

  test('TLS port verifies against the generated CA for servername localhost', async () => {
    const server = await start({ tls: true });
    expect(server.tlsPort).toEqual(expect.any(Number));
    expect(server.tlsUrl).toBe(`rediss://127.0.0.1:${server.tlsPort}`);
    const socket = tlsConnect({
      host: '127.0.0.1',
      port: server.tlsPort!,
      ca: server.certs!.ca,
      servername: 'localhost',
    });
    const client = await track(socket, 'secureConnect');
    expect(socket.authorized).toBe(true);
    socket.write(PING);
    await client.waitFor('+PONG\r\n');
    // The plain port stays usable for the harness's own redis-cli.
    await expect(server.cli('PING')).resolves.toBe('PONG');
  });

  test('TLS with authClients "yes" rejects clients without the client certificate', async () => {
    const server = await start({ tls: { authClients: 'yes' } });
    const certs = server.certs!;
    const withCert = tlsConnect({
      host: '127.0.0.1',
      port: server.tlsPort!,
      ca: certs.ca,
      cert: certs.clientCert,
      key: certs.clientKey,
      servername: 'localhost',
    });
    const good = await track(withCert, 'secureConnect');
    withCert.write(PING);
    await good.waitFor('+PONG\r\n');

    // Over TLS 1.3 the client finishes its handshake before the server checks the certificate,
    // so the refusal arrives as an alert after secureConnect; redis never answers the PING.
    const refusal = await new Promise<NodeJS.ErrnoException>((resolve) => {
      const socket = tlsConnect({
        host: '127.0.0.1',
        port: server.tlsPort!,
        ca: certs.ca,
        servername: 'localhost',
      });
      openSockets.add(socket);
      socket.on('secureConnect', () => socket.write(PING));
      socket.on('data', (chunk) => resolve(new Error(`unexpected reply ${String(chunk)}`)));
      socket.once('error', resolve);
    });
    expect(refusal.code).toMatch(/CERTIFICATE_REQUIRED|HANDSHAKE_FAILURE/);
  });

  test('unix socket answers PING and reappears after a crash and restart', async () => {
    const server = await start({ unixSocket: true });
    expect(server.socketPath).toBe(`${server.dir}/redis.sock`);
    const first = await track(netConnect(server.socketPath!), 'connect');
    first.socket.write(PING);
    await first.waitFor('+PONG\r\n');

    await server.kill();
    await server.restart();
    const second = await track(netConnect(server.socketPath!), 'connect');
    second.socket.write(PING);
    await second.waitFor('+PONG\r\n');
  });

  test('startup failures reject with the server log', async () => {
    await expect(startRedisServer({ extraConfig: ['no-such-directive yes'] })).rejects.toThrow(
      /exited before becoming ready[\s\S]*no-such-directive/,
    );
  });

  test('a pinned port that is taken fails fast instead of hopping ports', async () => {
    const busy = await start();
    await expect(startRedisServer({ port: busy.port })).rejects.toThrow(/Address already in use/);
  });

  test('dispose() kills a frozen server, removes its dir, and is idempotent', async () => {
    const server = await startRedisServer({ unixSocket: true });
    const pid = server.pid!;
    server.freeze();
    await Promise.all([server.dispose(), server.dispose()]);
    expect(() => process.kill(pid, 0)).toThrow(expect.objectContaining({ code: 'ESRCH' }));
    expect(existsSync(server.dir)).toBe(false);
    await expect(server.start()).rejects.toThrow(/disposed/);
  });
});

describe('fake RESP server', () => {
  let fake: FakeRespServer;

  beforeAll(async () => {
    fake = await startFakeRespServer((command, conn) => {
      if (command[0] === 'PING') conn.write(respEncode.simple('PONG'));
      else if (command[0] === 'GET') conn.write('%garbage\r\n');
      else if (command[0] === 'MGET') {
        conn.write(respEncode.array([respEncode.bulk(command[1]!), respEncode.bulk(null)]));
      } else if (command[0] === 'BOOM') throw new Error('handler failure');
      else conn.write(respEncode.error(`ERR unknown '${command[0]}'`));
    });
  });
  afterAll(() => fake.close());

  test('replies with whatever the handler writes and logs every command', async () => {
    const client = await rawTcp(fake.port);
    client.socket.write(PING + '*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n');
    await client.waitFor('+PONG\r\n%garbage\r\n');
    expect(fake.commands).toEqual(expect.arrayContaining([['PING'], ['GET', 'key']]));
    expect(fake.connections).toHaveLength(1);
    expect(fake.connections[0]!.commands).toEqual([['PING'], ['GET', 'key']]);
  });

  test('reassembles a command split across writes, byte by byte in the worst case', async () => {
    const client = await rawTcp(fake.port);
    const frame = '*2\r\n$4\r\nMGET\r\n$4\r\nhé!\r\n';
    const bytes = Buffer.from(frame);
    client.socket.setNoDelay(true);
    client.socket.write(bytes.subarray(0, 9));
    await sleep(20);
    for (const byte of bytes.subarray(9)) {
      client.socket.write(Buffer.of(byte));
      await sleep(1);
    }
    await client.waitFor('*2\r\n$4\r\nhé!\r\n$-1\r\n');
    expect(fake.commands.at(-1)).toEqual(['MGET', 'hé!']);
  });

  test('accepts inline commands and answers bad framing like redis does', async () => {
    const inline = await rawTcp(fake.port);
    inline.socket.write('PING\r\n');
    await inline.waitFor('+PONG\r\n');

    const broken = await rawTcp(fake.port);
    broken.socket.write('*1\r\n:1\r\n');
    await broken.waitFor("-ERR Protocol error: expected '$', got ':'\r\n");
    await broken.closed;
  });

  test('a throwing handler drops the connection and records the error', async () => {
    const client = await rawTcp(fake.port);
    client.socket.write('*1\r\n$4\r\nBOOM\r\n');
    await client.closed;
    expect(fake.errors).toEqual([expect.objectContaining({ message: 'handler failure' })]);
  });

  test('respEncode builds RESP2 frames', () => {
    expect(respEncode.integer(-3)).toBe(':-3\r\n');
    expect(respEncode.bulk('€')).toBe('$3\r\n€\r\n');
    expect(respEncode.array(null)).toBe('*-1\r\n');
    expect(respEncode.error('ERR x')).toBe('-ERR x\r\n');
  });
});

describe('TCP proxy', () => {
  const redis = useRedisServer();
  let proxy: TcpProxy;

  beforeAll(async () => {
    proxy = await startTcpProxy({ host: redis().host, port: redis().port });
  });
  afterAll(() => proxy.close());
  afterEach(() => {
    proxy.setMode('pass');
    proxy.setDelay(0);
  });

  test('passes traffic through in both directions', async () => {
    const client = await rawTcp(proxy.port);
    client.socket.write(PING);
    await client.waitFor('+PONG\r\n');
    const clients = await redis().clientList();
    expect(clients).toHaveLength(1);
  });

  test('delay postpones each chunk but keeps the byte order', async () => {
    const client = await rawTcp(proxy.port);
    proxy.setDelay(150);
    const started = Date.now();
    client.socket.write('*2\r\n$4\r\nECHO\r\n$1\r\na\r\n');
    client.socket.write('*2\r\n$4\r\nECHO\r\n$1\r\nb\r\n');
    // Let the proxy receive a and b under the delay before lifting it for c.
    await sleep(50);
    proxy.setDelay(0);
    client.socket.write('*2\r\n$4\r\nECHO\r\n$1\r\nc\r\n');
    await client.waitFor('$1\r\nc\r\n');
    // c queues behind a and b instead of overtaking them now that the delay is 0.
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(client.received()).toBe('$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n');
  });

  test('blackhole swallows requests on open and new connections', async () => {
    const existing = await rawTcp(proxy.port);
    proxy.setMode('blackhole');
    const fresh = await rawTcp(proxy.port);
    existing.socket.write(PING);
    fresh.socket.write(PING);
    await sleep(SILENCE_MS);
    expect(existing.received()).toBe('');
    expect(fresh.received()).toBe('');
    expect(existing.socket.destroyed).toBe(false);

    proxy.setMode('pass');
    const after = await rawTcp(proxy.port);
    after.socket.write(PING);
    await after.waitFor('+PONG\r\n');
  });

  test('blackholeOpenConnections() silences the connections open now; new ones pass', async () => {
    const dead = await rawTcp(proxy.port);
    dead.socket.write(PING);
    await dead.waitFor('+PONG\r\n');
    proxy.blackholeOpenConnections();
    const fresh = await rawTcp(proxy.port);
    dead.socket.write(PING);
    fresh.socket.write(PING);
    await fresh.waitFor('+PONG\r\n');
    await sleep(SILENCE_MS);
    expect(dead.received()).toBe('+PONG\r\n');
    expect(dead.socket.destroyed).toBe(false);
    expect(proxy.mode).toBe('pass');
  });

  test('cutAll() closes client sockets and connectionCount follows', async () => {
    const first = await rawTcp(proxy.port);
    const second = await rawTcp(proxy.port);
    await sleep(20);
    expect(proxy.connectionCount).toBeGreaterThanOrEqual(2);
    proxy.cutAll();
    await Promise.all([first.closed, second.closed]);
    expect(proxy.connectionCount).toBe(0);
  });

  test('closes the client when the server goes away', async () => {
    const client = await rawTcp(proxy.port);
    client.socket.write(PING);
    await client.waitFor('+PONG\r\n');
    await redis().kill();
    await client.closed;
    await redis().start();
  });
});

test('getFreePorts() hands out distinct ports', async () => {
  const ports = await getFreePorts(5);
  expect(new Set(ports).size).toBe(5);
  for (const port of ports) expect(port).toBeGreaterThan(0);
});
