import { LIB, isBuiltin, manifest, reachableFrom } from './harness/module-graph';

/*
 * Each entry point loads at run time only what it must: Node built-ins, Nest where it is Nest code, and its own
 * optional peer. This follows every import and re-export that survives compilation from each entry's index.ts
 * through lib/ and checks the packages and layers they reach, and that package.json exports the entry.
 */
interface Entry {
  /** The subpath users import (`nestjs-redis-pool/<name>`), or '.' for the main entry. */
  name: string;
  /** The packages besides Node built-ins it may load. */
  packages: string[];
  /** Layers (folders of lib/) it must not reach. */
  avoids: RegExp | null;
  /** A file it must reach (it is wired to its implementation, not an empty barrel). */
  reaches: string;
}

const NOT_NEST = /^(nest|health)\//;
const ENTRIES: Entry[] = [
  {
    name: '.',
    packages: ['@nestjs/common', '@nestjs/core'],
    avoids: null,
    reaches: 'nest/redis-pool.module.ts',
  },
  {
    name: 'health',
    packages: ['@nestjs/common', '@nestjs/core', '@nestjs/terminus'],
    avoids: null,
    reaches: 'health/redis.health.ts',
  },
  {
    name: 'cache',
    packages: [],
    avoids: /^(nest|health|pool|connection|sentinel)\//,
    reaches: 'cache/redis-keyv-store.ts',
  },
  {
    name: 'throttler',
    packages: [],
    avoids: /^(?!throttler\/|errors\/)/,
    reaches: 'throttler/redis-throttler.storage.ts',
  },
  {
    name: 'testing',
    packages: [],
    avoids: /^(nest|health|pool|connection|client|cluster|sentinel)\//,
    reaches: 'testing/start-test-redis.ts',
  },
  {
    name: 'bullmq',
    packages: [],
    avoids: /^(nest|health|sentinel)\//,
    reaches: 'bullmq/bullmq-client.ts',
  },
  {
    name: 'socket.io',
    packages: [],
    avoids: /^(nest|health|sentinel)\//,
    reaches: 'socket.io/create-socket-io-clients.ts',
  },
  {
    name: 'otel',
    packages: ['@opentelemetry/api'],
    avoids: NOT_NEST,
    reaches: 'otel/instrument.ts',
  },
];

describe.each(ENTRIES)(
  'the nestjs-redis-pool/$name entry',
  ({ name, packages, avoids, reaches }) => {
    const graph = reachableFrom(name === '.' ? 'index.ts' : `${name}/index.ts`);

    it(`loads only Node built-ins${packages.length > 0 ? ` and ${packages.join(', ')}` : ''}`, () => {
      expect(graph.packages.filter((specifier) => !isBuiltin(specifier))).toEqual(packages);
    });

    it('reaches its implementation and stays out of the layers it does not need', () => {
      expect(graph.files).toContain(reaches);
      if (avoids !== null) expect(graph.files.filter((file) => avoids.test(file))).toEqual([]);
    });

    it('is exported by package.json, its third-party packages peers (optional but for Nest)', () => {
      const pkg = manifest();
      expect(pkg.dependencies).toBeUndefined();
      const key = name === '.' ? '.' : `./${name}`;
      const dist = name === '.' ? './dist' : `./dist/${name}`;
      expect(pkg.exports[key]).toEqual({
        types: `${dist}/index.d.ts`,
        default: `${dist}/index.js`,
      });
      if (name !== '.') expect(pkg.typesVersions['*'][name]).toEqual([`${dist}/index.d.ts`]);
      for (const peer of packages) {
        expect(pkg.peerDependencies?.[peer]).toBeDefined();
        if (!peer.startsWith('@nestjs/common') && !peer.startsWith('@nestjs/core'))
          expect(pkg.peerDependenciesMeta?.[peer]).toEqual({ optional: true });
      }
    });
  },
);

it('covers every entry package.json exports', () => {
  const exported = Object.keys(manifest().exports).filter((key) => key !== './package.json');
  expect(exported.sort()).toEqual(
    ENTRIES.map((e) => (e.name === '.' ? '.' : `./${e.name}`)).sort(),
  );
  expect(LIB).toMatch(/lib$/);
});
