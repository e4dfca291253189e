import type { INestApplication, LoggerService, ModuleMetadata } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { RedisServerHandle } from '../harness';

export interface LogEntry {
  level: 'log' | 'warn' | 'error' | 'debug' | 'verbose' | 'fatal';
  message: string;
  context: string | undefined;
}

/** A Nest logger that keeps every line, for assertions (and a quiet test output). */
export class LogCapture implements LoggerService {
  readonly entries: LogEntry[] = [];

  log(message: unknown, ...params: unknown[]): void {
    this.push('log', message, params);
  }
  warn(message: unknown, ...params: unknown[]): void {
    this.push('warn', message, params);
  }
  error(message: unknown, ...params: unknown[]): void {
    this.push('error', message, params);
  }
  debug(message: unknown, ...params: unknown[]): void {
    this.push('debug', message, params);
  }
  verbose(message: unknown, ...params: unknown[]): void {
    this.push('verbose', message, params);
  }
  fatal(message: unknown, ...params: unknown[]): void {
    this.push('fatal', message, params);
  }

  /** Lines of one context (the module's by default), optionally of one level. */
  lines(level?: LogEntry['level'], context = 'RedisPoolModule'): string[] {
    return this.entries
      .filter(
        (entry) => entry.context === context && (level === undefined || entry.level === level),
      )
      .map((entry) => entry.message);
  }

  /** Everything logged, as one string (to look for secrets). */
  text(): string {
    return this.entries
      .map((entry) => `${entry.level} [${entry.context}] ${entry.message}`)
      .join('\n');
  }

  private push(level: LogEntry['level'], message: unknown, params: unknown[]): void {
    const last = params[params.length - 1];
    this.entries.push({
      level,
      message: message instanceof Error ? message.message : String(message),
      context: typeof last === 'string' ? last : undefined,
    });
  }
}

/** Apps opened by `bootApp`, closed by `closeApps` (call it in afterEach so a failed test leaks nothing). */
const openApps = new Set<INestApplication>();

/** Compiles a testing module with a capturing logger and initialises an HTTP app (not listening). */
export async function bootApp(
  metadata: ModuleMetadata,
  logs = new LogCapture(),
): Promise<{ app: INestApplication; logs: LogCapture }> {
  const moduleRef = await Test.createTestingModule(metadata).setLogger(logs).compile();
  const app = moduleRef.createNestApplication({ logger: logs });
  openApps.add(app);
  await app.init();
  return { app, logs };
}

/** Closes an app opened by `bootApp`. */
export async function closeApp(app: INestApplication): Promise<void> {
  openApps.delete(app);
  await app.close();
}

/** Closes every app still open. */
export async function closeApps(): Promise<void> {
  await Promise.all([...openApps].map((app) => closeApp(app)));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until it returns true, failing after `timeoutMs`. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 5000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline)
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(25);
  }
}

/** How many connections the server sees with this client name. */
export async function connectionsNamed(server: RedisServerHandle, name: string): Promise<number> {
  return (await server.clientList()).filter((client) => client.name === name).length;
}

let counter = 0;
/** A name unique within the test run, for keys and client names. */
export function unique(prefix: string): string {
  counter += 1;
  return `${prefix}-${process.pid}-${counter}`;
}
