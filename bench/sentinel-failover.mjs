// The sentinel-failover scenario (issue 13): ours (SentinelPool), ioredis (`sentinels`) and node-redis
// (`createSentinel`) side by side. For each client, on a fresh topology (bench/sentinel-servers.mjs: master, 2
// replicas, 3 sentinels, quorum 2, down-after 1 s), in a child process of its own: `--callers` loops each
// alternating `SET k<i> <n>` and `INCR c<i>`, each awaiting its reply; after 1 s of warm-up the parent SIGKILLs
// the master and tells the child when (IPC). The child records the first write acknowledged after the kill (only
// the new master can ack it) and the errors its callers saw until then, keeps writing 2 s more and reports. The
// parent records Sentinel's own promotion time: kill -> the first +switch-master on a raw subscription to any
// sentinel. The client order rotates between repetitions.
// Usage: node bench/sentinel-failover.mjs [--reps 1] [--callers 20] [--clients nestjs-redis-pool,ioredis,node-redis]
//        [--trace] (timestamps what the SentinelPool does during the failover, printed with each run)
// (ours is loaded from dist/, built by `npm run build`; SENTINEL_BENCH_DIST=/some/dir loads it from there instead.)
import { fork } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ensureBuilt,
  exitCleanups,
  machineLine,
  nextMessage,
  parseFlags,
  redisServerVersion,
  root,
} from './bench-kit.mjs';
import { startSentinelTopology } from './sentinel-servers.mjs';

const here = fileURLToPath(import.meta.url);
const OURS = 'nestjs-redis-pool';
const CLIENT_NAMES = [OURS, 'ioredis', 'node-redis'];
const WARMUP_MS = 1000;
const TAIL_MS = 2000;
/** A client that has not acknowledged a write this long after the kill is reported as not recovered. */
const RECOVERY_BOUND_MS = 30_000;
/** The same command deadline for every client that has one. */
const COMMAND_TIMEOUT_MS = 10_000;
/**
 * Acks this soon after the kill still come from the old master (replies it sent just before it died, read a
 * moment later): no sentinel can promote a replica before down-after-milliseconds (1 s) has passed.
 */
const STRAGGLER_MS = 100;
/** A caller that just saw an error waits this long before its next write, so a fast-failing client cannot spin. */
const ERROR_PAUSE_MS = 10;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------------------------
// Child: one client, `callers` write loops.

/**
 * --trace: wraps a few of the SentinelPool's own (TypeScript-private) methods on this one instance to timestamp
 * what it does during the failover: the sentinel events it acts on, the write pause, each question to the
 * sentinels and its answer, and the retry back-off sleeps of callers. For diagnosis only; it changes nothing.
 */
function traceSentinelPool(pool, mark) {
  const wrap = (name, around) => {
    const original = pool[name];
    if (typeof original !== 'function')
      throw new Error(`SentinelPool has no method ${name} to trace`);
    pool[name] = around(original.bind(pool));
  };
  wrap('onSignal', (original) => (channel) => {
    mark(`signal ${channel}`);
    return original(channel);
  });
  wrap('pause', (original) => () => {
    const was = pool.paused;
    original();
    if (was === null && pool.paused !== null) mark('pause');
  });
  wrap('resume', (original) => () => {
    if (pool.paused !== null) mark('resume');
    return original();
  });
  wrap('findMaster', (original) => async () => {
    const started = Date.now();
    try {
      const node = await original();
      mark(`discover -> ${node.key} (${Date.now() - started} ms)`);
      return node;
    } catch (error) {
      mark(`discover failed (${Date.now() - started} ms): ${String(error.message).slice(0, 80)}`);
      throw error;
    }
  });
  wrap('sleep', (original) => async (attempt, deadline) => {
    const started = Date.now();
    await original(attempt, deadline);
    mark(`backoff a${attempt} ${Date.now() - started} ms`);
  });
}

async function connectClient({ client, masterName, sentinels, dist, trace }) {
  const marks = [];
  const mark = (what) => marks.push({ what, at: Date.now() });
  if (client === OURS) {
    const require = createRequire(import.meta.url);
    const { SentinelPool } = require(path.join(dist, 'sentinel/sentinel-pool.js'));
    // Defaults, with the command deadline stated (10 s is also the default).
    const pool = new SentinelPool({ sentinels, masterName, commandTimeoutMs: COMMAND_TIMEOUT_MS });
    pool.on('failover', (e) => mark(`failover ${e.from} -> ${e.to}`));
    if (trace) traceSentinelPool(pool, mark);
    await pool.executeCommand('PING');
    return {
      marks,
      set: (k, v) => pool.executeCommand('SET', k, v),
      incr: (k) => pool.executeCommand('INCR', k),
      close: () => pool.disconnect({ drainTimeoutMs: 0 }),
    };
  }
  if (client === 'ioredis') {
    const { default: Redis } = await import('ioredis');
    // Defaults (retryStrategy, maxRetriesPerRequest 20, offline queue, failoverDetector off), plus the same
    // command deadline, and an error listener so that reconnect errors are not printed as unhandled.
    const redis = new Redis({
      sentinels,
      name: masterName,
      commandTimeout: COMMAND_TIMEOUT_MS,
      lazyConnect: true,
    });
    redis.on('error', () => undefined);
    redis.on('ready', () => mark('ready'));
    redis.on('reconnecting', () => mark('reconnecting'));
    await redis.connect();
    return {
      marks,
      set: (k, v) => redis.set(k, v),
      incr: (k) => redis.incr(k),
      close: async () => redis.disconnect(),
    };
  }
  if (client === 'node-redis') {
    const { createSentinel } = await import('redis');
    // Defaults, plus the same command deadline; the error listener is required (an unhandled 'error' throws).
    const sentinel = createSentinel({
      name: masterName,
      sentinelRootNodes: sentinels,
      commandOptions: { timeout: COMMAND_TIMEOUT_MS },
    });
    sentinel.on('error', () => undefined);
    sentinel.on('topology-change', (e) => {
      if (e.type === 'MASTER_CHANGE') mark(`MASTER_CHANGE ${e.node.host}:${e.node.port}`);
    });
    await sentinel.connect();
    return {
      marks,
      set: (k, v) => sentinel.set(k, v),
      incr: (k) => sentinel.incr(k),
      close: async () => sentinel.close(),
    };
  }
  throw new Error(`unknown client ${client}`);
}

/** An error's class and message with addresses and numbers taken out, so that kinds can be counted. */
function errorKind(error) {
  const name = error?.constructor?.name ?? typeof error;
  const message = String(error?.message ?? error)
    .replace(/\[?[\d.:a-f]*\]?:\d+/gi, '<addr>')
    .replace(/\d+/g, 'N')
    .slice(0, 160);
  return `${name}: ${message}`;
}

async function child(job) {
  // Orphaned (the parent died): stop at once.
  process.once('disconnect', () => process.exit(1));
  const send = (message) => process.send(message);
  const client = await connectClient(job);
  let killAt = null;
  let stopping = false;
  let firstAck = null;
  let acksBeforeKill = 0;
  let acksAfterRecovery = 0;
  let stragglers = 0;
  // The last acks before the kill message arrived, to count those that were in fact after the kill.
  const recent = new Float64Array(4096);
  let recentCount = 0;
  const errors = [];
  let errorCount = 0;
  const startedAt = Date.now();

  const onAck = (at, caller, sentAt) => {
    if (killAt === null) {
      acksBeforeKill++;
      recent[recentCount++ % recent.length] = at;
    } else if (at < killAt + STRAGGLER_MS) {
      stragglers++;
    } else if (firstAck === null) {
      firstAck = { at, caller, sentAt };
    } else {
      acksAfterRecovery++;
    }
  };
  const onError = (error, at, caller) => {
    errorCount++;
    // Enough to classify; a client failing fast for 30 s cannot fill memory.
    if (errors.length < 200_000) errors.push({ at, caller, kind: errorKind(error) });
  };
  const caller = async (i) => {
    for (let n = 0; !stopping; n++) {
      const sentAt = Date.now();
      try {
        if (n % 2 === 0) await client.set(`k${i}`, String(n));
        else await client.incr(`c${i}`);
        onAck(Date.now(), i, sentAt);
      } catch (error) {
        onError(error, Date.now(), i);
        await sleep(ERROR_PAUSE_MS);
      }
    }
  };
  const callers = Array.from({ length: job.callers }, (_, i) => caller(i));

  await sleep(WARMUP_MS);
  const warmOps = acksBeforeKill;
  const killed = new Promise((resolve) =>
    process.on('message', (message) => {
      if (message?.type === 'killed') resolve(message.at);
    }),
  );
  send({ type: 'warm', opsPerSec: (warmOps * 1000) / (Date.now() - startedAt) });
  killAt = await killed;
  for (let i = 0; i < Math.min(recentCount, recent.length); i++) {
    if (recent[i] >= killAt) stragglers++;
  }

  // Until the first ack after the kill, bounded; then 2 s more of writes.
  const deadline = killAt + RECOVERY_BOUND_MS;
  while (firstAck === null && Date.now() < deadline) await sleep(5);
  const recoveredAt = firstAck?.at ?? null;
  const tailFrom = Date.now();
  acksAfterRecovery = 0;
  if (recoveredAt !== null) await sleep(TAIL_MS);
  const tailMs = Date.now() - tailFrom;
  stopping = true;

  // Callers still waiting on a command get its deadline (and a little) to finish; the client then closes.
  const bounded = (promise, ms) => Promise.race([promise, sleep(ms)]);
  await bounded(Promise.allSettled(callers), COMMAND_TIMEOUT_MS + 1000);
  await bounded(
    Promise.resolve()
      .then(() => client.close())
      .catch(() => undefined),
    3000,
  );

  const until = recoveredAt ?? Infinity;
  const before = errors.filter((e) => e.at >= killAt && e.at < until);
  const kinds = {};
  for (const e of before) kinds[e.kind] = (kinds[e.kind] ?? 0) + 1;
  const after = errors.filter((e) => e.at >= until);
  const afterKinds = {};
  for (const e of after) afterKinds[e.kind] = (afterKinds[e.kind] ?? 0) + 1;
  send({
    type: 'result',
    result: {
      recovered: recoveredAt !== null,
      firstAckMs: recoveredAt === null ? null : recoveredAt - killAt,
      firstAckSentMs: firstAck === null ? null : firstAck.sentAt - killAt,
      firstErrorMs: before.length > 0 ? before[0].at - killAt : null,
      errorsUntilFirstAck: before.length,
      callersWithErrors: new Set(before.map((e) => e.caller)).size,
      errorKinds: kinds,
      errorsBeforeKill: errors.filter((e) => e.at < killAt).length,
      errorsAfterFirstAck: after.length,
      errorKindsAfterFirstAck: afterKinds,
      errorsTotal: errorCount,
      stragglers,
      warmOpsPerSec: (warmOps * 1000) / WARMUP_MS,
      tailOpsPerSec: tailMs > 0 ? (acksAfterRecovery * 1000) / tailMs : 0,
      marks: client.marks.map((m) => ({ what: m.what, ms: m.at - killAt })),
    },
  });
  // Let the IPC message leave before exiting.
  await sleep(50);
  process.exit(0);
}

// ---------------------------------------------------------------------------------------------------------------
// Parent: topologies, children, the table.

/** Sentinel's own milestones of the failover, in ms after the kill (the first sentinel that reported each). */
function milestones(events, killAt, masterName) {
  const first = (channel, pick = () => true) => {
    const event = events.find((e) => e.channel === channel && pick(e));
    return event === undefined ? null : { ms: event.at - killAt, sentinel: event.sentinel };
  };
  const ours = (e) => String(e.payload).includes(masterName);
  const leader = first('+elected-leader', ours);
  return {
    odown: first('+odown', ours),
    electedLeader: leader,
    sendSlaveofNoOne: first('+failover-state-send-slaveof-noone', ours),
    promotedSlave: first('+promoted-slave', ours),
    firstSwitchMaster: first('+switch-master', ours),
    leaderSwitchMaster:
      leader === null
        ? null
        : first('+switch-master', (e) => ours(e) && e.sentinel === leader.sentinel),
    failoverEnd: first('+failover-end', ours),
    switchMasterBySentinel: Object.fromEntries(
      events
        .filter((e) => e.channel === '+switch-master' && ours(e))
        .map((e) => [String(e.sentinel), e.at - killAt]),
    ),
  };
}

/** Children still running, killed (by their PID) if this process ends early. */
const liveChildren = new Set();

async function runOne(client, { callers, dist, trace }) {
  const topology = await startSentinelTopology({ downAfterMs: 1000, failoverTimeoutMs: 3000 });
  let proc;
  try {
    const job = {
      client,
      callers,
      dist,
      trace,
      masterName: topology.masterName,
      sentinels: topology.sentinels,
    };
    proc = fork(here, ['--child', JSON.stringify(job)], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    liveChildren.add(proc);
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    const warm = await nextMessage(proc, 'warm', 30_000);
    const watchers = await topology.subscribers().catch((error) => [{ error: error.message }]);
    const resultP = nextMessage(
      proc,
      'result',
      RECOVERY_BOUND_MS + TAIL_MS + COMMAND_TIMEOUT_MS + 10_000,
    );
    resultP.catch(() => undefined);
    const killAt = topology.master.kill();
    proc.send({ type: 'killed', at: killAt });
    const switchAt = await topology.waitForSwitch(RECOVERY_BOUND_MS).catch(() => null);
    const { result } = await resultP;
    await Promise.race([exited, sleep(5000)]);
    const sentinel = milestones(topology.events, killAt, topology.masterName);
    const leader = sentinel.electedLeader?.sentinel;
    return {
      client,
      promotionMs: switchAt === null ? null : switchAt - killAt,
      ...result,
      // The sentinel(s) the client listened to for events, and whether one was the failover's leader: only the
      // leader publishes +failover-state-send-slaveof-noone / +promoted-slave, and its own +switch-master comes last.
      watchers: watchers.map((w) => ({ ...w, leader: w.sentinel === leader })),
      warmOpsPerSec: warm.opsPerSec,
      sentinels: topology.sentinels.map((s) => s.port),
      sentinel,
      events: topology.events
        .filter((e) => e.at >= killAt)
        .map((e) => ({
          ms: e.at - killAt,
          sentinel: e.sentinel,
          channel: e.channel,
          payload: e.payload,
        })),
    };
  } finally {
    if (proc && proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    if (proc) liveChildren.delete(proc);
    topology.stop();
  }
}

const median = (values) => {
  const sorted = values.filter((v) => v !== null && Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return null;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

async function parent() {
  const a = parseFlags();
  const reps = Number(a.reps ?? 1);
  const callers = Number(a.callers ?? 20);
  const trace = process.argv.includes('--trace');
  let dist = process.env.SENTINEL_BENCH_DIST ?? path.join(root, 'dist');
  dist = path.resolve(dist);
  if (!existsSync(path.join(dist, 'sentinel/sentinel-pool.js'))) {
    if (process.env.SENTINEL_BENCH_DIST !== undefined)
      throw new Error(`no sentinel/sentinel-pool.js in ${dist}`);
    ensureBuilt(path.join(dist, 'sentinel/sentinel-pool.js'));
  }
  exitCleanups().add(() => {
    for (const proc of liveChildren) proc.kill('SIGKILL');
  });

  const machine = machineLine(redisServerVersion());
  console.log(`Machine: ${machine}`);
  console.log(
    `sentinel-failover: master + 2 replicas + 3 sentinels (quorum 2, down-after 1000 ms, failover-timeout 3000 ms), ` +
      `${callers} callers writing SET/INCR, SIGKILL of the master after ${WARMUP_MS} ms; ${reps} rep(s), a fresh topology per client per rep.\n`,
  );

  const names =
    a.clients === undefined
      ? CLIENT_NAMES
      : CLIENT_NAMES.filter((c) => a.clients.split(',').includes(c));
  if (names.length === 0) throw new Error(`--clients: pick from ${CLIENT_NAMES.join(',')}`);
  const runs = [];
  for (let rep = 0; rep < reps; rep++) {
    const order = names.map((_, i) => names[(i + rep) % names.length]);
    for (const client of order) {
      try {
        const run = await runOne(client, { callers, dist, trace });
        run.rep = rep;
        runs.push(run);
        const f = (x) => (x === null ? 'n/a' : `${x}`);
        const s = run.sentinel;
        console.log(
          `  rep ${rep + 1} ${client.padEnd(18)} promotion ${f(run.promotionMs)} ms, first ack ${
            run.recovered ? `${run.firstAckMs} ms` : `none within ${RECOVERY_BOUND_MS} ms`
          }, errors ${run.errorsUntilFirstAck} (${run.callersWithErrors}/${callers} callers); ` +
            `sentinel: slaveof-no-one ${f(s.sendSlaveofNoOne?.ms)}, promoted ${f(s.promotedSlave?.ms)}, ` +
            `leader +switch-master ${f(s.leaderSwitchMaster?.ms)}, leader ${s.electedLeader?.sentinel} ` +
            `(seeds ${run.sentinels.join(',')}), watched ${
              run.watchers.map((w) => `${w.sentinel}${w.leader ? ' (leader)' : ''}`).join(',') ||
              'none'
            }` +
            (trace ? '' : `; marks ${run.marks.map((m) => `${m.what}@${m.ms}`).join(' ') || '-'}`),
        );
        if (trace) {
          const KEY = new Set([
            '+odown',
            '+elected-leader',
            '+failover-state-send-slaveof-noone',
            '+promoted-slave',
            '+switch-master',
            '+failover-end',
          ]);
          const timeline = [
            ...run.marks
              .filter((m) => m.ms >= 0)
              .map((m) => ({ ms: m.ms, what: `client   ${m.what}` })),
            ...run.events
              .filter((e) => KEY.has(e.channel))
              .map((e) => ({ ms: e.ms, what: `sentinel ${e.sentinel} ${e.channel}` })),
            { ms: run.firstAckMs ?? Infinity, what: 'client   FIRST ACKED WRITE' },
          ].sort((x, y) => x.ms - y.ms);
          for (const t of timeline) console.log(`      ${String(t.ms).padStart(6)} ms  ${t.what}`);
        }
      } catch (error) {
        console.error(`  rep ${rep + 1} ${client}: ${error.message}`);
        runs.push({ client, rep, failed: error.message });
      }
    }
  }

  const rows = names.map((client) => {
    const mine = runs.filter((r) => r.client === client && !r.failed);
    const recovered = mine.filter((r) => r.recovered);
    return {
      client,
      runs: mine.length,
      recovered: recovered.length,
      promotionMs: median(mine.map((r) => r.promotionMs)),
      firstAckMs: median(recovered.map((r) => r.firstAckMs)),
      overPromotionMs: median(
        recovered.filter((r) => r.promotionMs !== null).map((r) => r.firstAckMs - r.promotionMs),
      ),
      errors: median(mine.map((r) => r.errorsUntilFirstAck)),
      callersWithErrors: median(mine.map((r) => r.callersWithErrors)),
    };
  });
  // Sentinel's own promotion time differs from one topology to the next (by up to an info-period, 1 s: when the
  // leader's next INFO sees the promoted replica), so peers are compared on both the first write and the first
  // write minus that run's promotion time.
  const peers = rows.filter((r) => r.client !== OURS && r.firstAckMs !== null);
  const best = peers.reduce((x, y) => (y.firstAckMs < x.firstAckMs ? y : x), peers[0]);
  const bestOver = peers.reduce(
    (x, y) => (y.overPromotionMs < x.overPromotionMs ? y : x),
    peers[0],
  );
  const round = (x) => (x === null ? 'n/a' : Math.round(x));
  console.log(
    `\n## sentinel-failover (median of ${reps} rep(s); ms after the SIGKILL of the master)`,
  );
  console.table(
    rows.map((r) => ({
      client: r.client,
      recovered: `${r.recovered}/${r.runs}`,
      'promotion ms': round(r.promotionMs),
      'first write ms': round(r.firstAckMs),
      'write − promotion ms': round(r.overPromotionMs),
      errors: round(r.errors),
      'callers w/ errors': round(r.callersWithErrors),
      'first write vs best peer':
        best && r.firstAckMs !== null ? (r.firstAckMs / best.firstAckMs).toFixed(2) : 'n/a',
      '(write − promotion) vs best peer ms':
        bestOver && r.overPromotionMs !== null
          ? round(r.overPromotionMs - bestOver.overPromotionMs)
          : 'n/a',
    })),
  );
  const ours = rows.find((r) => r.client === OURS);
  const goal =
    ours === undefined
      ? null
      : {
          withinPromotionPlus200: ours.overPromotionMs !== null && ours.overPromotionMs <= 200,
          noSlowerThanBestPeer:
            best !== undefined && ours.firstAckMs !== null && ours.firstAckMs <= best.firstAckMs,
          noSlowerThanBestPeerOverPromotion:
            bestOver !== undefined &&
            ours.overPromotionMs !== null &&
            ours.overPromotionMs <= bestOver.overPromotionMs,
        };
  const yes = (x) => (x ? 'yes' : 'NO');
  if (goal !== null) {
    console.log(
      `   ours first write − promotion ≤ 200 ms: ${yes(goal.withinPromotionPlus200)}; ` +
        (best === undefined
          ? 'no peer to compare with'
          : `first write no later than the best peer (${best.client}): ${yes(goal.noSlowerThanBestPeer)}; ` +
            `write − promotion no more than the best peer's (${bestOver.client}): ${yes(goal.noSlowerThanBestPeerOverPromotion)}`),
    );
  }
  for (const r of rows) {
    const kinds = {};
    for (const run of runs.filter((x) => x.client === r.client && !x.failed)) {
      for (const [kind, n] of Object.entries(run.errorKinds)) kinds[kind] = (kinds[kind] ?? 0) + n;
    }
    const list = Object.entries(kinds).sort((x, y) => y[1] - x[1]);
    console.log(
      `   errors seen by ${r.client} callers (all reps): ${list.length === 0 ? 'none' : ''}`,
    );
    for (const [kind, n] of list) console.log(`     ${String(n).padStart(6)}  ${kind}`);
  }

  const report = {
    scenario: 'sentinel-failover',
    machine,
    date: new Date().toISOString(),
    reps,
    callers,
    settings: {
      downAfterMs: 1000,
      failoverTimeoutMs: 3000,
      quorum: 2,
      warmupMs: WARMUP_MS,
      tailMs: TAIL_MS,
      commandTimeoutMs: COMMAND_TIMEOUT_MS,
      errorPauseMs: ERROR_PAUSE_MS,
      stragglerMs: STRAGGLER_MS,
    },
    rows,
    bestPeer: best?.client ?? null,
    bestPeerOverPromotion: bestOver?.client ?? null,
    goal,
    runs,
  };
  mkdirSync(path.join(root, 'bench/results'), { recursive: true });
  const out = path.join(root, 'bench/results/sentinel-failover.json');
  writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\nResults written to ${path.relative(root, out)}`);
}

if (process.argv[2] === '--child') await child(JSON.parse(process.argv[3]));
else await parent();
