import { ValueType, type Histogram, type Meter, type Observable } from '@opentelemetry/api';
import type {
  ConnectionCreatedEvent,
  LeaseAcquireEvent,
  LeaseReleaseEvent,
} from '../observability/command-context';
import { livePools } from '../observability/pool-telemetry';
import { ATTR, poolAttributes } from './attributes';

/** Semantic-convention names of the connection-pool metrics, and this package's own. */
export const METRICS = {
  operationDuration: 'db.client.operation.duration',
  connectionCount: 'db.client.connection.count',
  connectionMax: 'db.client.connection.max',
  pendingRequests: 'db.client.connection.pending_requests',
  timeouts: 'db.client.connection.timeouts',
  createTime: 'db.client.connection.create_time',
  waitTime: 'db.client.connection.wait_time',
  useTime: 'db.client.connection.use_time',
  multiplexDepth: 'nestjs_redis_pool.connection.multiplex_depth',
  retries: 'nestjs_redis_pool.command.retries',
  resendsRefused: 'nestjs_redis_pool.command.resends_refused',
  commandTimeouts: 'nestjs_redis_pool.command.timeouts',
  reconnects: 'nestjs_redis_pool.connection.reconnects',
} as const;

/** Buckets for the pool's time histograms, in seconds. */
const POOL_TIME_BUCKETS = [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10];

/**
 * The pool metrics: histograms fed by the point channels (create, wait and use times), and observable
 * instruments that read every live pool's `stats()` once per collection.
 */
export class PoolMetrics {
  private readonly createTime: Histogram;
  private readonly waitTime: Histogram;
  private readonly useTime: Histogram;
  private readonly observables: Observable[];
  private readonly observe: Parameters<Meter['addBatchObservableCallback']>[0];

  constructor(private readonly meter: Meter) {
    const seconds = (name: string, description: string) =>
      meter.createHistogram(name, {
        unit: 's',
        description,
        advice: { explicitBucketBoundaries: POOL_TIME_BUCKETS },
      });
    this.createTime = seconds(METRICS.createTime, 'The time it took to create a new connection.');
    this.waitTime = seconds(
      METRICS.waitTime,
      'The time it took to obtain an open connection from the pool.',
    );
    this.useTime = seconds(
      METRICS.useTime,
      'The time between borrowing a connection and returning it to the pool.',
    );
    const int = { valueType: ValueType.INT };
    const count = meter.createObservableUpDownCounter(METRICS.connectionCount, {
      ...int,
      unit: '{connection}',
      description:
        'The number of connections that are currently in the state described by the state attribute.',
    });
    const max = meter.createObservableUpDownCounter(METRICS.connectionMax, {
      ...int,
      unit: '{connection}',
      description: 'The maximum number of open connections allowed (shared plus leases).',
    });
    const pending = meter.createObservableUpDownCounter(METRICS.pendingRequests, {
      ...int,
      unit: '{request}',
      description: 'Lease requests and commands waiting for an open connection.',
    });
    const timeouts = meter.createObservableCounter(METRICS.timeouts, {
      ...int,
      unit: '{timeout}',
      description: 'Timeouts waiting for a connection from the pool (leases and queued commands).',
    });
    const depth = meter.createObservableGauge(METRICS.multiplexDepth, {
      ...int,
      unit: '{command}',
      description: 'Replies outstanding on the busiest shared (multiplexed) connection.',
    });
    const retries = meter.createObservableCounter(METRICS.retries, {
      ...int,
      unit: '{command}',
      description: 'Commands sent again after their connection failed or the server was loading.',
    });
    const refused = meter.createObservableCounter(METRICS.resendsRefused, {
      ...int,
      unit: '{command}',
      description: 'Commands not sent again because they may have run (at-most-once).',
    });
    const commandTimeouts = meter.createObservableCounter(METRICS.commandTimeouts, {
      ...int,
      unit: '{command}',
      description: 'Commands that timed out after they were handed to a connection.',
    });
    const reconnects = meter.createObservableCounter(METRICS.reconnects, {
      ...int,
      unit: '{connection}',
      description: 'Connections opened to replace one lost.',
    });
    this.observables = [
      count,
      max,
      pending,
      timeouts,
      depth,
      retries,
      refused,
      commandTimeouts,
      reconnects,
    ];
    this.observe = (result) => {
      for (const pool of livePools()) {
        const stats = pool.poolStats();
        const attributes = poolAttributes(pool);
        result.observe(count, stats.total - stats.idle, {
          ...attributes,
          [ATTR.connectionState]: 'used',
        });
        result.observe(count, stats.idle, { ...attributes, [ATTR.connectionState]: 'idle' });
        result.observe(max, stats.maxConnections + stats.maxLeases, attributes);
        result.observe(pending, stats.waiting + stats.queued, attributes);
        result.observe(timeouts, stats.timeouts, attributes);
        result.observe(depth, stats.deepestPipeline, attributes);
        result.observe(retries, stats.retries, attributes);
        result.observe(refused, stats.resendsRefused, attributes);
        result.observe(commandTimeouts, stats.commandTimeouts, attributes);
        result.observe(reconnects, stats.reconnects, attributes);
      }
    };
    meter.addBatchObservableCallback(this.observe, this.observables);
  }

  readonly created = (event: ConnectionCreatedEvent): void => {
    this.createTime.record(event.createTimeMs / 1000, poolAttributes(event));
  };

  readonly acquired = (event: LeaseAcquireEvent): void => {
    this.waitTime.record(event.waitMs / 1000, poolAttributes(event));
  };

  readonly released = (event: LeaseReleaseEvent): void => {
    this.useTime.record(event.useMs / 1000, poolAttributes(event));
  };

  /** Stops observing the pools. */
  dispose(): void {
    this.meter.removeBatchObservableCallback(this.observe, this.observables);
  }
}
