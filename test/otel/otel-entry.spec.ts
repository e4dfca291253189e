import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigurationError } from '../../lib/errors/redis-pool.errors';
import { OTEL_API_MISSING } from '../../lib/otel/otel-peer';

/**
 * `@opentelemetry/api` is an optional peer: the main entry never loads it, and `nestjs-redis-pool/otel` loads it
 * but neither Nest nor any OpenTelemetry SDK.
 */
describe('the nestjs-redis-pool/otel entry point', () => {
  it('is not loaded by the main entry', () => {
    jest.isolateModules(() => {
      jest.doMock('@opentelemetry/api', () => {
        throw new Error('@opentelemetry/api was loaded');
      });
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const main = require('../../lib') as typeof import('../../lib');
      expect(typeof main.ConnectionPool).toBe('function');
      expect(main.CHANNELS.command).toBe('nestjs-redis-pool:command');
    });
  });

  it('loads @opentelemetry/api, without Nest or an SDK', () => {
    jest.dontMock('@opentelemetry/api');
    jest.isolateModules(() => {
      for (const peer of [
        '@nestjs/common',
        '@nestjs/core',
        '@opentelemetry/sdk-trace-base',
        '@opentelemetry/sdk-metrics',
      ]) {
        jest.doMock(peer, () => {
          throw new Error(`${peer} was loaded`);
        });
      }
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const otel = require('../../lib/otel') as typeof import('../../lib/otel');
      expect(typeof otel.instrumentRedisPools).toBe('function');
      const dispose = otel.instrumentRedisPools();
      dispose();
    });
  });

  it('is the entry package.json exports as ./otel, with @opentelemetry/api an optional peer', () => {
    const manifest = JSON.parse(readFileSync(join(__dirname, '../../package.json'), 'utf8'));
    expect(manifest.exports['./otel']).toEqual({
      types: './dist/otel/index.d.ts',
      default: './dist/otel/index.js',
    });
    expect(manifest.typesVersions['*'].otel).toEqual(['./dist/otel/index.d.ts']);
    expect(manifest.peerDependencies['@opentelemetry/api']).toMatch(/^\^1\./);
    expect(manifest.peerDependenciesMeta['@opentelemetry/api']).toEqual({ optional: true });
    expect(manifest.dependencies).toBeUndefined();
  });

  it('says what to install when @opentelemetry/api is missing', () => {
    expect(OTEL_API_MISSING).toContain('npm install @opentelemetry/api');
    expect(new ConfigurationError(OTEL_API_MISSING).message).not.toContain('Cannot find module');
  });
});
