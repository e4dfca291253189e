import type { EventEmitter } from 'node:events';
import { AuthenticationError, ConnectionError, ResponseError } from '../errors/redis-pool.errors';
import { encodeCommand } from '../protocol/resp-encoder';
import type { RedisArgument, RedisReply } from '../protocol/resp.types';
import { CommandRequest } from './command-request';
import type { ConnectionOptions } from './connection-options';

/** One handshake command and its arguments. */
export type HandshakeStep = [command: string, args: RedisArgument[]];

/** What a handshake failure was: the step and the error it got. */
export interface HandshakeFailure {
  step: string;
  error: Error;
}

/**
 * The steps of a RESP3 handshake: HELLO 3 (with AUTH and SETNAME folded in), then CLIENT TRACKING ON, SELECT and
 * READONLY when asked for. Sent in one write.
 */
export function helloSteps(o: ConnectionOptions, password: string | undefined): HandshakeStep[] {
  const hello: RedisArgument[] = ['3'];
  if (password !== undefined) hello.push('AUTH', o.username ?? 'default', password);
  if (o.clientName !== undefined) hello.push('SETNAME', o.clientName);
  const tracking: HandshakeStep[] = o.tracking === true ? [['CLIENT', ['TRACKING', 'ON']]] : [];
  return [['HELLO', hello], ...tracking, ...afterIdentity(o)];
}

/** The steps of a RESP2 handshake: AUTH, CLIENT SETNAME, SELECT, READONLY, or a PING when none applies. */
export function classicSteps(o: ConnectionOptions, password: string | undefined): HandshakeStep[] {
  const steps: HandshakeStep[] = [];
  if (password !== undefined) {
    steps.push(['AUTH', o.username !== undefined ? [o.username, password] : [password]]);
  }
  if (o.clientName !== undefined) steps.push(['CLIENT', ['SETNAME', o.clientName]]);
  steps.push(...afterIdentity(o));
  // Without anything else to send, a PING still proves the server answers before the pool trusts us.
  if (steps.length === 0) steps.push(['PING', []]);
  return steps;
}

function afterIdentity(o: ConnectionOptions): HandshakeStep[] {
  const steps: HandshakeStep[] = [];
  if (o.db !== 0) steps.push(['SELECT', [o.db]]);
  if (o.readOnly === true) steps.push(['READONLY', []]);
  if (o.expectRole !== undefined) steps.push(['ROLE', []]);
  return steps;
}

/** Whether a HELLO failure means "this server predates RESP3": fall back to RESP2 then. */
export function isHelloUnsupported(failure: HandshakeFailure): boolean {
  return (
    failure.step === 'HELLO' && /unknown command|NOPROTO/i.test(failure.error.message) === true
  );
}

/** Commands whose arguments carry credentials, so an error reply that echoes arguments must not be kept. */
const CREDENTIAL_COMMANDS = new Set(['AUTH', 'HELLO', 'MIGRATE']);

/** Whether an error reply to this command is redacted by `redactEcho`. */
export function carriesCredentials(name: string): boolean {
  return CREDENTIAL_COMMANDS.has(name);
}

/**
 * An error reply to AUTH/HELLO with anything that could be an argument removed. A server that does not know the
 * command (renamed, or a proxy) answers "unknown command 'AUTH', with args beginning with: '<password>'"; a
 * proxy may echo more. The code and the server's own fixed words survive; quoted text and what follows the
 * echo marker do not, nor any part of `secret` (four characters or more) that is still there.
 */
export function redactEcho(message: string, secret?: string): string {
  let text = message.replace(/,?\s*with args beginning with:.*$/is, ' (arguments withheld)');
  text = text.replace(/'[^']*'|"[^"]*"|`[^`]*`/g, "'…'");
  if (secret !== undefined && secret !== '' && containsPart(text, secret)) {
    const space = text.indexOf(' ');
    text = `${space === -1 ? text : text.slice(0, space)} (message withheld: it may contain credentials)`;
  }
  return text;
}

/** Whether `text` contains any piece of `secret` at least 4 characters long (or all of a shorter one). */
function containsPart(text: string, secret: string): boolean {
  const size = Math.min(4, secret.length);
  for (let i = 0; i + size <= secret.length; i++) {
    if (text.includes(secret.slice(i, i + size))) return true;
  }
  return false;
}

/** What to check when the server refused the credentials, as the error message says it. */
function credentialsHint(code: string, text: string, username: string | undefined): string {
  if (code === 'NOAUTH') {
    return 'the server needs a password: set the password option or put it in the URL';
  }
  if (/without any password configured/i.test(text)) {
    return 'the server has no password set: remove the password option';
  }
  return username !== undefined ? 'check the username and password' : 'check the password';
}

/**
 * A handshake failure as a clear, typed error that says what to do: `AuthenticationError` for refused
 * credentials ("credentials rejected (check the password); not retrying"), a `ResponseError` `NOPERM` for an ACL
 * user that may not run a handshake step, else a `ResponseError` naming the step and the address. Any server text
 * that might echo credentials is redacted; neither the password nor any argument is ever in the message.
 */
export function handshakeError(
  failure: HandshakeFailure,
  address: string,
  password: string | undefined,
  username?: string,
): Error {
  const { step, error } = failure;
  if (!(error instanceof ResponseError)) return error;
  const context = `(${step} while connecting to ${address})`;
  const text = carriesCredentials(step) ? redactEcho(error.message, password) : error.message;
  let mapped: ResponseError;
  if (
    error.code === 'WRONGPASS' ||
    error.code === 'NOAUTH' ||
    /without any password configured|invalid password/i.test(text)
  ) {
    const hint = credentialsHint(error.code, text, username);
    mapped = new AuthenticationError(
      `${text} ${context}: credentials rejected (${hint}); not retrying`,
    );
  } else if (error.code === 'NOPERM') {
    mapped = new ResponseError(
      `${text} ${context}: the server's ACL does not let this user run ${step} (grant it with ACL SETUSER, ` +
        'or drop the option that sends it); not retrying',
    );
  } else {
    mapped = new ResponseError(`${text} ${context}`);
  }
  mapped.command = step;
  return mapped;
}

/**
 * Runs the handshake through `accept` (which queues each step for the connection's next write): HELLO 3
 * when asked for, falling back to the RESP2 commands on servers before 6.0. Resolves with the protocol spoken;
 * rejects with a typed, redacted error.
 */
export async function runHandshake(
  o: ConnectionOptions,
  address: string,
  accept: (request: CommandRequest) => void,
): Promise<2 | 3> {
  const send = (steps: HandshakeStep[]) =>
    steps.map(
      ([command, args]) =>
        new Promise<RedisReply>((resolve, reject) => {
          accept(
            new CommandRequest(
              command,
              encodeCommand(command, args),
              false,
              Infinity,
              resolve,
              reject,
            ),
          );
        }),
    );
  const run = async (steps: HandshakeStep[]): Promise<HandshakeFailure | undefined> => {
    const results = await Promise.allSettled(send(steps));
    const at = results.findIndex((result) => result.status === 'rejected');
    if (at !== -1) {
      return { step: steps[at][0], error: (results[at] as PromiseRejectedResult).reason as Error };
    }
    const last = results[results.length - 1] as PromiseFulfilledResult<RedisReply>;
    if (o.expectRole !== undefined) checkRole(last.value, o.expectRole, address);
    return undefined;
  };
  if (o.protocol === 3) {
    const failure = await run(helloSteps(o, o.password));
    if (failure === undefined) return 3;
    if (!isHelloUnsupported(failure))
      throw handshakeError(failure, address, o.password, o.username);
  }
  const failure = await run(classicSteps(o, o.password));
  if (failure !== undefined) throw handshakeError(failure, address, o.password, o.username);
  return 2;
}

/**
 * Checks the reply of the handshake's ROLE step.
 * @throws ConnectionError when the node has another role (a demoted master, a replica named as a master).
 */
function checkRole(reply: RedisReply, expected: 'master' | 'slave', address: string): void {
  const role = Array.isArray(reply) ? String(reply[0]) : String(reply);
  if (role !== expected) {
    throw new ConnectionError(`${address} is a ${role}, not a ${expected} (ROLE at connect)`);
  }
}

/** Resolves on the connection's `ready` event; rejects with the cause if it emits `close` first. */
export function readyOrClosed(connection: EventEmitter, address: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onReady = () => {
      connection.off('close', onClose);
      resolve();
    };
    const onClose = (cause?: Error) => {
      connection.off('ready', onReady);
      reject(cause ?? new ConnectionError(`Connection to ${address} closed during the handshake`));
    };
    connection.once('ready', onReady);
    connection.once('close', onClose);
  });
}
