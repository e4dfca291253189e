import { inspect } from 'node:util';

/** A URL form with a password in it, as its user meant it. */
export interface UrlSecretCase {
  /** What the form tests. */
  form: string;
  url: string;
  /** The password as the user meant it (and, when it has valid percent-escapes, its decoded form is checked too). */
  password: string;
  /** The password the URL parses to, or `undefined` when it must be refused. */
  parsesTo?: string;
}

/** Port 1 on loopback: nothing listens there, so a pool built from these URLs fails fast with ECONNREFUSED. */
const AT = '127.0.0.1:1';
const ENCODED = 'Wd5/Fg6?Hj7#Kl8@Zx9';

/**
 * Passwords with raw `/ ? # @ & % + :` in every place of a Redis URL. Each has distinctive three-letter pieces, so
 * that finding any of them in an output means a leak.
 */
export const URL_SECRET_CASES: UrlSecretCase[] = [
  { form: 'raw "/" in the password', url: `redis://:Jx4/Tq9Rw@${AT}`, password: 'Jx4/Tq9Rw' },
  { form: 'raw "?" after a user name', url: `redis://user:Mb7?Kd2Hn@${AT}`, password: 'Mb7?Kd2Hn' },
  { form: 'raw "#" with a db', url: `redis://:Vc5#Yp8Gs@${AT}/0`, password: 'Vc5#Yp8Gs' },
  {
    form: 'raw "@" in the password',
    url: `redis://:Hf3@Wn6Qz@${AT}`,
    password: 'Hf3@Wn6Qz',
    parsesTo: 'Hf3@Wn6Qz',
  },
  {
    form: 'raw "@", "/" and "?" with rediss, db and query',
    url: `rediss://u:Pk2@Ss7/Wq?Rd4@${AT}/2?db=1`,
    password: 'Pk2@Ss7/Wq?Rd4',
  },
  { form: 'bad percent-encoding', url: `redis://:Tz9%zzLm4@${AT}`, password: 'Tz9%zzLm4' },
  {
    form: '?password= with raw "&" and "#"',
    url: `redis://${AT}?password=Qw8&Er5#Ty2&db=1`,
    password: 'Qw8&Er5#Ty2',
  },
  {
    form: '?password= with raw "&" and "="',
    url: `redis://${AT}?password=Ab3&Cd4=Ef5`,
    password: 'Ab3&Cd4=Ef5',
  },
  {
    form: 'unix socket, ?password= with raw "/", "?" and "@"',
    url: 'unix:///tmp/nrp-no-such.sock?password=Nu6/Ix?Op@Lq3&db=2',
    password: 'Nu6/Ix?Op@Lq3',
    parsesTo: 'Nu6/Ix?Op@Lq3',
  },
  { form: 'unparseable (no scheme)', url: `redis//:Gh5/Jk8?Lz2@${AT}`, password: 'Gh5/Jk8?Lz2' },
  {
    form: 'properly percent-encoded',
    url: `redis://:${encodeURIComponent(ENCODED)}@${AT}`,
    password: encodeURIComponent(ENCODED),
    parsesTo: ENCODED,
  },
  {
    form: 'a percent-escape that decodes',
    url: `redis://:Qa1%41Ws2@${AT}`,
    password: 'Qa1%41Ws2',
    parsesTo: 'Qa1AWs2',
  },
  { form: 'no "@" (host forgotten)', url: 'redis://:Lk9/Mn2Bv', password: 'Lk9/Mn2Bv' },
  {
    form: 'percent-encoded "password" query key',
    url: `redis://${AT}?pass%77ord=Df6Gh9Jk`,
    password: 'Df6Gh9Jk',
    parsesTo: 'Df6Gh9Jk',
  },
  {
    form: 'raw "@" in the password and in a query value',
    url: `redis://:Op4@Iu7@${AT}?clientName=app@x`,
    password: 'Op4@Iu7',
    parsesTo: 'Op4@Iu7',
  },
  {
    form: 'raw ":" and "/" after a user name with "@"',
    url: `redis://us@er:Rt4:Yu7/Io8@${AT}/3`,
    password: 'Rt4:Yu7/Io8',
  },
  { form: 'IPv6 host, raw "?"', url: 'redis://:Bn8?Mv3@[::1]:1/2', password: 'Bn8?Mv3' },
  { form: 'unknown scheme', url: `ftp://alice:Xc2/Vb3@${AT}`, password: 'Xc2/Vb3' },
  {
    form: 'a password that starts like a port',
    url: `redis://u:65/Ki9Lo0@${AT}`,
    password: '65/Ki9Lo0',
  },
  {
    form: '?password= with raw "+" and a space',
    url: `redis://${AT}?password=Ty6+Ui7 Op8`,
    password: 'Ty6+Ui7 Op8',
    parsesTo: 'Ty6+Ui7 Op8',
  },
];

/** The pieces of `password` (and of its percent-decoded form) that must appear nowhere: every 3 characters. */
export function secretPieces(password: string): string[] {
  const forms = new Set([password]);
  try {
    forms.add(decodeURIComponent(password));
  } catch {
    // Not valid percent-encoding: there is no decoded form.
  }
  const pieces = new Set<string>();
  for (const form of forms) {
    for (let i = 0; i + 3 <= form.length; i++) pieces.add(form.slice(i, i + 3));
  }
  return [...pieces];
}

/** The pieces of `password` found in `text`; `[]` when nothing leaked. */
export function leakedPieces(text: string, password: string): string[] {
  return secretPieces(password).filter((piece) => text.includes(piece));
}

/** Every way an error could show a secret: message, stack, inspect (also raw), JSON, along its cause chain. */
export function errorViews(error: unknown): string {
  const views: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && current !== null && depth < 8; depth++) {
    views.push(
      String(current),
      String((current as { stack?: unknown }).stack),
      inspect(current),
      inspect(current, { customInspect: false, showHidden: true, depth: 10 }),
      JSON.stringify(current) ?? '',
    );
    current = (current as { cause?: unknown }).cause;
  }
  return views.join('\n');
}

/** The error `fn` throws, or `undefined`. */
export function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}
