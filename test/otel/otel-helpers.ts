import { context, type Attributes } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  AggregationTemporality,
  DataPointType,
  MeterProvider,
  MetricReader,
  type MetricData,
} from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';
import { instrumentRedisPools } from '../../lib/otel';
import type { RedisInstrumentationOptions } from '../../lib/otel';

/** A reader collected on demand, cumulative. */
class TestReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

/**
 * The real OpenTelemetry SDK, in memory: a tracer provider with an in-memory span exporter, a meter provider with a
 * reader collected on demand, the AsyncLocalStorage context manager (so a span started in a controller is the
 * active context of the Redis calls it makes), and the bridge subscribed to them.
 */
export function useOtel(
  options: Omit<RedisInstrumentationOptions, 'tracerProvider' | 'meterProvider'> = {},
) {
  const state: {
    exporter: InMemorySpanExporter;
    tracerProvider: BasicTracerProvider;
    meterProvider: MeterProvider;
    reader: TestReader;
    dispose: () => void;
    contextManager: AsyncLocalStorageContextManager;
  } = {} as never;
  beforeEach(() => {
    state.contextManager = new AsyncLocalStorageContextManager().enable();
    context.setGlobalContextManager(state.contextManager);
    state.exporter = new InMemorySpanExporter();
    state.tracerProvider = new BasicTracerProvider({
      spanProcessors: [new SimpleSpanProcessor(state.exporter)],
    });
    state.reader = new TestReader();
    state.meterProvider = new MeterProvider({ readers: [state.reader] });
    state.dispose = instrumentRedisPools({
      ...options,
      tracerProvider: state.tracerProvider,
      meterProvider: state.meterProvider,
    });
  });
  afterEach(async () => {
    state.dispose();
    await state.tracerProvider.shutdown();
    await state.meterProvider.shutdown();
    context.disable();
  });
  return {
    get state() {
      return state;
    },
    spans: (): ReadableSpan[] => state.exporter.getFinishedSpans(),
    tracer: () => state.tracerProvider.getTracer('test'),
    /** Every metric collected now, by name. */
    metrics: async (): Promise<Map<string, MetricData>> => {
      const { resourceMetrics } = await state.reader.collect();
      const byName = new Map<string, MetricData>();
      for (const scope of resourceMetrics.scopeMetrics) {
        for (const metric of scope.metrics) byName.set(metric.descriptor.name, metric);
      }
      return byName;
    },
  };
}

/** The value of a sum or gauge data point whose attributes include `match`; undefined if none. */
export function pointValue(metric: MetricData | undefined, match: Attributes): number | undefined {
  if (metric === undefined) return undefined;
  const point = metric.dataPoints.find((p) =>
    Object.entries(match).every(([k, v]) => p.attributes[k] === v),
  );
  if (point === undefined) return undefined;
  if (metric.dataPointType === DataPointType.HISTOGRAM) {
    return (point.value as { count: number }).count;
  }
  return point.value as number;
}

/** Every string in a span's attributes, events, links and status. */
export function spanStrings(span: ReadableSpan): string[] {
  const out: string[] = [span.name, span.status.message ?? ''];
  const add = (attributes: Attributes | undefined) => {
    for (const [k, v] of Object.entries(attributes ?? {})) out.push(k, String(v));
  };
  add(span.attributes);
  for (const event of span.events) {
    out.push(event.name);
    add(event.attributes);
  }
  return out;
}
