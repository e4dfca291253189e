/**
 * `nestjs-redis-pool/bullmq` takes nothing but types from `bullmq` (an optional peer): requiring the entry must not
 * load it, nor Nest.
 */
describe('nestjs-redis-pool/bullmq entry point', () => {
  it('loads without bullmq or Nest', () => {
    jest.isolateModules(() => {
      for (const peer of ['bullmq', '@nestjs/common', '@nestjs/core', '@nestjs/bullmq']) {
        jest.doMock(peer, () => {
          throw new Error(`${peer} was loaded`);
        });
      }
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const entry = require('../../lib/bullmq') as typeof import('../../lib/bullmq');
      expect(typeof entry.BullMqClient).toBe('function');
      expect(entry.CONNECTION_CLOSED_MESSAGE).toBe('Connection is closed.');
    });
  });
});
