// One Nest 12 (Express) app of bench/nest-http.mjs, in its own process so its CPU and RSS are its own:
//   node bench/nest-http/app.mjs <client> <redis port> <http port>   (forked by the parent, with an IPC channel)
// GET /visit runs five Redis commands through the client's Nest module (INCR, SET EX, GET, then HGETALL and EXPIRE
// together) and answers JSON. Written without decorator syntax: Reflect.decorate applies Nest's decorators.
// IPC: it sends { type: 'listening' } once it serves; 'mark' starts the measured window, 'report' answers the
// CPU used since (µs) and the RSS, 'close' closes the app (and its Redis client) and exits.
import { createRequire } from 'node:module';
import { CLIENTS } from './clients.mjs';

const require = createRequire(import.meta.url);
require('reflect-metadata');
const { Controller, Get, Module } = require('@nestjs/common');
const { NestFactory } = require('@nestjs/core');

const [name, redisPort, httpPort] = process.argv.slice(2);
const client = CLIENTS[name]();

/** What TypeScript emits for a parameter decorator (`__param`). */
const param = (index, decorator) => (target, key) => decorator(target, key, index);

/** Handlers still running: autocannon drops its sockets at the end of a run without waiting for them. */
let inFlight = 0;

class VisitController {
  constructor(redis) {
    this.redis = client.commands(redis);
  }

  async visit() {
    inFlight++;
    try {
      const { redis } = this;
      const hits = await redis.incr('bench:hits');
      const key = `bench:session:${hits % 1000}`;
      await redis.setEx(key, JSON.stringify({ hits }), 60);
      const session = JSON.parse(await redis.get(key));
      const [profile, renewed] = await Promise.all([
        redis.hgetall('bench:profile'),
        redis.expire('bench:hits', 3600),
      ]);
      // EXPIRE answers true (ours) or 1 (the peers).
      return { hits, session, profile, renewed: Boolean(renewed) };
    } finally {
      inFlight--;
    }
  }
}
const visit = Object.getOwnPropertyDescriptor(VisitController.prototype, 'visit');
Reflect.decorate([Get('visit')], VisitController.prototype, 'visit', visit);
Reflect.decorate([Controller(), param(0, client.inject)], VisitController);

class AppModule {}
Reflect.decorate(
  [
    Module({
      imports: [client.module(`redis://127.0.0.1:${redisPort}`)],
      controllers: [VisitController],
    }),
  ],
  AppModule,
);

const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] });
await app.listen(Number(httpPort), '127.0.0.1');

let mark = process.cpuUsage();
process.on('message', async (type) => {
  if (type === 'mark') {
    mark = process.cpuUsage();
    process.send({ type });
  } else if (type === 'report') {
    const { user, system } = process.cpuUsage(mark);
    const rssMb = process.memoryUsage().rss / 2 ** 20;
    const maxRssMb = process.resourceUsage().maxRSS / 1024;
    process.send({ type, cpuUs: user + system, rssMb, maxRssMb });
  } else if (type === 'close') {
    // Let the handlers of the last dropped requests finish before the Redis client closes under them.
    for (let waited = 0; inFlight > 0 && waited < 5000; waited += 10) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await app.close();
    process.exit(0);
  }
});
// Never outlive the parent: its IPC channel closes when it dies, even by SIGKILL.
process.on('disconnect', () => process.exit(1));
process.send({ type: 'listening' });
