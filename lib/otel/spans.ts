import {
  context as otelContext,
  SpanKind,
  SpanStatusCode,
  type Attributes,
  type Histogram,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import { performance } from 'node:perf_hooks';
import { ResponseError } from '../errors/redis-pool.errors';
import type {
  BatchTraceContext,
  CommandTraceContext,
  ConnectTraceContext,
} from '../observability/command-context';
import { queryText, REDACTED } from '../observability/redact';
import { ATTR, errorType, safeMessage, targetAttributes } from './attributes';
import type { RedisInstrumentationOptions } from './otel.options';

type Traced = CommandTraceContext | BatchTraceContext | ConnectTraceContext;

interface Open {
  span: Span;
  startedAt: number;
}

/** A context carrying open spans, each bridge under its own symbol (several bridges may be subscribed). */
type Slotted = Record<symbol, Open | undefined>;

/** Bounds the attribute caches, so arbitrary command names cannot grow them. */
const MAX_CACHED = 1024;

/** `db.query.text` of a command, as the options ask. */
function commandText(
  context: CommandTraceContext,
  mode: RedisInstrumentationOptions['queryText'],
): string | undefined {
  if (mode === false) return undefined;
  if (mode === 'redacted')
    return queryText(
      context.command,
      context.args.map(() => REDACTED),
    );
  return queryText(context.command, context.args);
}

function batchText(
  context: BatchTraceContext,
  mode: RedisInstrumentationOptions['queryText'],
): string | undefined {
  if (mode === false) return undefined;
  if (mode === 'redacted') return context.commands.map((c) => c.split(' ')[0]).join('; ');
  return context.commands.join('; ');
}

/**
 * Turns the TracingChannel phases into spans and the operation-duration histogram: `start` opens a CLIENT span
 * whose parent is the active context (a span started in a Nest controller is the parent of its Redis spans),
 * `error` records the failure, `asyncEnd` ends it.
 */
export class SpanRecorder {
  /** Where this bridge keeps a context's span: a property no other subscriber can collide with. */
  private readonly slot = Symbol('nestjs-redis-pool/otel span');
  private readonly startAttributes = new Map<string, Attributes>();
  private readonly successAttributes = new Map<string, Attributes>();

  constructor(
    private readonly tracer: Tracer,
    private readonly duration: Histogram,
    private readonly options: RedisInstrumentationOptions,
  ) {}

  readonly command = {
    start: (context: CommandTraceContext) => {
      const span = this.begin(context, context.command);
      // Only a recording (sampled) span gets the attributes built for it.
      if (!span.isRecording()) return;
      const attributes = targetAttributes(context);
      attributes[ATTR.dbOperationName] = context.command;
      const text = commandText(context, this.options.queryText ?? 'keys');
      if (text !== undefined) attributes[ATTR.dbQueryText] = text;
      span.setAttributes(attributes);
    },
    error: (context: CommandTraceContext) => this.fail(context),
    asyncEnd: (context: CommandTraceContext) => this.finish(context, context.command),
  };

  readonly batch = {
    start: (context: BatchTraceContext) => {
      // The server is known once the batch has its connection: filled in at the end (see below).
      const span = this.begin(context, context.batchMode);
      if (!span.isRecording()) return;
      const attributes: Attributes = { [ATTR.dbBatchSize]: context.batchSize };
      const text = batchText(context, this.options.queryText ?? 'keys');
      if (text !== undefined) attributes[ATTR.dbQueryText] = text;
      span.setAttributes(attributes);
    },
    error: (context: BatchTraceContext) => this.fail(context),
    asyncEnd: (context: BatchTraceContext) => {
      const span = (context as unknown as Slotted)[this.slot]?.span;
      if (context.poolName !== '' && span?.isRecording() === true) {
        span.setAttributes(targetAttributes(context));
      }
      this.finish(context, context.batchMode);
    },
  };

  readonly connect = {
    start: (context: ConnectTraceContext) => {
      const span = this.begin(context, 'connect');
      if (!span.isRecording()) return;
      const attributes = targetAttributes(context);
      attributes[ATTR.poolName] = context.poolName;
      span.setAttributes(attributes);
    },
    error: (context: ConnectTraceContext) => this.fail(context),
    asyncEnd: (context: ConnectTraceContext) => this.finish(context, undefined),
  };

  /** Opens the span, with the attributes a sampler may look at (the same object per operation name). */
  private begin(context: Traced, name: string): Span {
    let attributes = this.startAttributes.get(name);
    if (attributes === undefined) {
      attributes = { [ATTR.dbSystemName]: 'redis', [ATTR.dbOperationName]: name };
      if (this.startAttributes.size < MAX_CACHED) this.startAttributes.set(name, attributes);
    }
    const span = this.tracer.startSpan(
      name,
      { kind: SpanKind.CLIENT, attributes },
      otelContext.active(),
    );
    (context as unknown as Slotted)[this.slot] = { span, startedAt: performance.now() };
    return span;
  }

  private fail(context: Traced): void {
    const open = (context as unknown as Slotted)[this.slot];
    if (open === undefined) return;
    const error = context.error;
    const type = errorType(error);
    open.span.setAttribute(ATTR.errorType, type);
    if (error instanceof ResponseError)
      open.span.setAttribute(ATTR.dbResponseStatusCode, error.code);
    open.span.recordException({ name: type, message: safeMessage(error) });
    open.span.setStatus({ code: SpanStatusCode.ERROR, message: safeMessage(error) });
  }

  /** Ends the span; operations (not connects) also record their duration. */
  private finish(context: Traced, operation: string | undefined): void {
    const open = (context as unknown as Slotted)[this.slot];
    if (open === undefined) return;
    (context as unknown as Slotted)[this.slot] = undefined;
    open.span.end();
    if (operation === undefined) return;
    this.duration.record(
      (performance.now() - open.startedAt) / 1000,
      this.durationAttributes(context, operation),
    );
  }

  /** The attributes of one duration: the same object for every success of an operation on a pool. */
  private durationAttributes(context: Traced, operation: string): Attributes {
    if (context.error !== undefined) {
      const attributes = targetAttributes(context);
      attributes[ATTR.dbOperationName] = operation;
      attributes[ATTR.errorType] = errorType(context.error);
      if (context.error instanceof ResponseError) {
        attributes[ATTR.dbResponseStatusCode] = context.error.code;
      }
      return attributes;
    }
    const key = `${context.poolName}\0${context.serverAddress}\0${context.serverPort}\0${context.database}\0${operation}`;
    let attributes = this.successAttributes.get(key);
    if (attributes === undefined) {
      attributes = targetAttributes(context);
      attributes[ATTR.dbOperationName] = operation;
      if (this.successAttributes.size < MAX_CACHED) this.successAttributes.set(key, attributes);
    }
    return attributes;
  }
}
