import type { Connection } from '../connection/connection';
import type { RedisReply } from '../protocol/resp.types';
import { backoffDelay } from '../pool/backoff';
import { timerDelay } from '../utils/deadline';
import type { SentinelClient } from './sentinel-client';

/**
 * The sentinel events that may mean the master moved or is about to: the switch itself, a replica found, the down
 * states, and the failover's own steps (a replica about to be promoted, promoted, the failover ended or aborted).
 */
const CHANNELS = [
  '+switch-master',
  '+slave',
  '+sdown',
  '-sdown',
  '+odown',
  '-odown',
  '+failover-state-send-slaveof-noone',
  '+promoted-slave',
  '+failover-end',
  '-failover-abort-not-elected',
  '-failover-abort-no-good-slave',
  '-failover-abort-slave-timeout',
];

/**
 * Listens to the sentinels' events on one subscribed sentinel connection and calls `onSignal` when one concerns
 * our master. The connection is re-established (on the next sentinel, with backoff) and re-subscribed whenever it
 * drops, until `stop()`.
 */
export class SentinelWatcher {
  private connection: Connection | null = null;
  private timer: NodeJS.Timeout | null = null;
  private failures = 0;
  private next = 0;
  private stopped = false;
  private started = false;

  constructor(
    private readonly client: SentinelClient,
    private readonly masterName: string,
    private readonly backoff: { baseDelayMs: number; maxDelayMs: number },
    /** Called with the event's channel and its payload's words (`'reconnect'` and `[]` after a reconnect). */
    private readonly onSignal: (channel: string, words: readonly string[]) => void,
  ) {}

  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    void this.listen();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.connection?.destroy();
    this.connection = null;
  }

  private async listen(): Promise<void> {
    const sentinels = this.client.sentinels;
    const sentinel = sentinels[this.next++ % sentinels.length];
    try {
      const connection = await this.client.connect(sentinel);
      if (this.stopped) {
        connection.destroy();
        return;
      }
      // The subscription alone never keeps the process alive: a pool nobody closed must not hold it.
      connection.background = true;
      connection.on('push', (frame: RedisReply[]) => this.onFrame(frame));
      // Held from here on, so that a stop() while SUBSCRIBE is under way closes it too.
      this.connection = connection;
      try {
        await connection.executeCommand('SUBSCRIBE', ...CHANNELS);
      } catch (error) {
        this.connection = null;
        connection.destroy();
        throw error;
      }
      if (this.stopped) {
        connection.destroy();
        return;
      }
      this.failures = 0;
      connection.once('close', () => {
        this.connection = null;
        // A dropped watcher may have missed an event: ask where the master is, then listen again.
        this.onSignal('reconnect', []);
        this.retry();
      });
    } catch {
      this.failures++;
      this.retry();
    }
  }

  private retry(): void {
    if (this.stopped || this.timer !== null) return;
    const delay = backoffDelay(
      this.failures + 1,
      this.backoff.baseDelayMs,
      this.backoff.maxDelayMs,
    );
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.listen();
    }, timerDelay(delay));
    this.timer.unref();
  }

  private onFrame(frame: RedisReply[]): void {
    if (String(frame[0]) !== 'message') return;
    const channel = String(frame[1]);
    // Payloads name the instance first: "master <name> <ip> <port>", "slave <ip:port> <ip> <port> @ <master> ...",
    // or "<name> <old ip> <old port> <new ip> <new port>" for +switch-master.
    const words = String(frame[2]).split(' ');
    const concerns =
      channel === '+switch-master'
        ? words[0] === this.masterName
        : (words[0] === 'master' && words[1] === this.masterName) ||
          (words[4] === '@' && words[5] === this.masterName);
    if (concerns) this.onSignal(channel, words);
  }
}
