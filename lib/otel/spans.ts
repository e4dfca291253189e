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
  private readonly open = new WeakMap<Traced, Open>();

  constructor(
    private readonly tracer: Tracer,
    private readonly duration: Histogram,
    private readonly options: RedisInstrumentationOptions,
  ) {}

  readonly command = {
    start: (context: CommandTraceContext) => {
      const attributes = targetAttributes(context);
      attributes[ATTR.dbOperationName] = context.command;
      const text = commandText(context, this.options.queryText ?? 'keys');
      if (text !== undefined) attributes[ATTR.dbQueryText] = text;
      this.begin(context, context.command, attributes);
    },
    error: (context: CommandTraceContext) => this.fail(context),
    asyncEnd: (context: CommandTraceContext) => this.finish(context, context.command),
  };

  readonly batch = {
    start: (context: BatchTraceContext) => {
      // The server is known once the batch has its connection: filled in at the end (see below).
      const attributes: Attributes = { [ATTR.dbSystemName]: 'redis' };
      attributes[ATTR.dbOperationName] = context.batchMode;
      attributes[ATTR.dbBatchSize] = context.batchSize;
      const text = batchText(context, this.options.queryText ?? 'keys');
      if (text !== undefined) attributes[ATTR.dbQueryText] = text;
      this.begin(context, context.batchMode, attributes);
    },
    error: (context: BatchTraceContext) => this.fail(context),
    asyncEnd: (context: BatchTraceContext) => {
      if (context.poolName !== '')
        this.open.get(context)?.span.setAttributes(targetAttributes(context));
      this.finish(context, context.batchMode);
    },
  };

  readonly connect = {
    start: (context: ConnectTraceContext) => {
      const attributes = targetAttributes(context);
      attributes[ATTR.poolName] = context.poolName;
      this.begin(context, 'connect', attributes);
    },
    error: (context: ConnectTraceContext) => this.fail(context),
    asyncEnd: (context: ConnectTraceContext) => this.finish(context, undefined),
  };

  private begin(context: Traced, name: string, attributes: Attributes): void {
    const span = this.tracer.startSpan(
      name,
      { kind: SpanKind.CLIENT, attributes },
      otelContext.active(),
    );
    this.open.set(context, { span, startedAt: performance.now() });
  }

  private fail(context: Traced): void {
    const open = this.open.get(context);
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
    const open = this.open.get(context);
    if (open === undefined) return;
    this.open.delete(context);
    open.span.end();
    if (operation === undefined) return;
    const attributes = targetAttributes(context);
    attributes[ATTR.dbOperationName] = operation;
    if (context.error !== undefined) {
      attributes[ATTR.errorType] = errorType(context.error);
      if (context.error instanceof ResponseError) {
        attributes[ATTR.dbResponseStatusCode] = context.error.code;
      }
    }
    this.duration.record((performance.now() - open.startedAt) / 1000, attributes);
  }
}
