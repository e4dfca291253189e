import { RedisError, type ConnectionError } from '../../lib/errors/redis-pool.errors';
import type { RedisPool } from '../../lib/pool/redis-pool.interface';

/** What callers saw under a fault: every reply checked, every INCR accounted for. */
export interface LoadReport {
  ok: number;
  /** Replies that belong to no command of this caller (another caller's value, another command's reply). */
  mismatched: string[];
  /**
   * GETs that returned this caller's own value of an earlier round: a write the old master acknowledged and the
   * new master never received (asynchronous replication), never another command's reply.
   */
  stale: number;
  /** Errors that are not a `RedisError`. */
  untyped: unknown[];
  /** Typed errors, by class name. */
  errors: Record<string, number>;
  /**
   * Per caller: INCRs acknowledged, INCRs that may have run (failed after they were written), and INCRs issued
   * after `markFault()` and acknowledged (those must all be on the master in use at the end).
   */
  counters: Array<{ key: string; acked: number; maybe: number; ackedAfter: number }>;
  /** Writes acknowledged after `markFault()` was called. */
  okAfterFault: number;
}

/**
 * `callers` loops of SET/GET on an own key with a fresh value per round, and INCR on an own counter, until
 * `stop()`; each reply is checked. For failover tests: every scenario asserts 0 mismatches, only typed errors,
 * counters within [acked, acked + maybe].
 */
export function startLoad(
  pool: RedisPool,
  prefix: string,
  callers = 40,
): { stop: () => Promise<LoadReport>; markFault: () => void; report: LoadReport } {
  const report: LoadReport = {
    ok: 0,
    mismatched: [],
    stale: 0,
    untyped: [],
    errors: {},
    counters: [],
    okAfterFault: 0,
  };
  let running = true;
  let faulted = false;
  const fail = (error: unknown) => {
    if (!(error instanceof RedisError)) report.untyped.push(error);
    else report.errors[error.name] = (report.errors[error.name] ?? 0) + 1;
  };
  const caller = async (i: number) => {
    const key = `${prefix}:k:${i}`;
    const counter = { key: `${prefix}:n:${i}`, acked: 0, maybe: 0, ackedAfter: 0 };
    report.counters.push(counter);
    for (let round = 0; running; round++) {
      const value = `v${i}:${round}`;
      try {
        const set = await pool.executeCommand('SET', key, value);
        if (set !== 'OK') report.mismatched.push(`SET ${key} got ${String(set)}`);
        const got = await pool.executeCommand('GET', key);
        if (got !== value) {
          const earlier =
            typeof got === 'string' &&
            got.startsWith(`v${i}:`) &&
            Number(got.slice(`v${i}:`.length)) < round;
          if (earlier) report.stale++;
          else report.mismatched.push(`GET ${key} got ${String(got)}, wanted ${value}`);
        }
        report.ok += 2;
        if (faulted) report.okAfterFault++;
      } catch (error) {
        fail(error);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      const after = faulted;
      try {
        const n = await pool.executeCommand<number>('INCR', counter.key);
        counter.acked++;
        if (after) counter.ackedAfter++;
        // Never more than was sent (nothing resent behind the caller's back); the lower bound is checked at the
        // end, since a failover may lose what the old master acknowledged last (see expectCounters).
        if (typeof n !== 'number' || n > counter.acked + counter.maybe) {
          report.mismatched.push(`INCR ${counter.key} got ${String(n)}`);
        }
      } catch (error) {
        if ((error as ConnectionError).commandMayHaveRun === true) counter.maybe++;
        fail(error);
      }
    }
  };
  const all = Array.from({ length: callers }, (_, i) => caller(i));
  return {
    report,
    markFault: () => {
      faulted = true;
    },
    stop: async () => {
      running = false;
      await Promise.all(all);
      return report;
    },
  };
}
