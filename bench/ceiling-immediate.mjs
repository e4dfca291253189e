// The stronger ceiling (`ceiling` in the tables): one socket, every command written since the last flush leaves
// in one write per event-loop iteration (setImmediate, so the replies of a whole `data` burst and the commands
// they release share one write), and every reply is decoded into a value (bulk replies into JS strings, or
// Buffers for getBuffer), so it does the work a real client cannot skip and nothing else. Large bulk replies are
// collected as a list of chunks and joined once, never re-concatenated per chunk. Understands the reply shapes
// the benchmark provokes: simple strings, errors, integers, bulk strings (no arrays). Over TCP the socket reads
// into one reused 64 KiB buffer (`onread`), so nothing is allocated per read, and the body of a large bulk reply
// is read straight into a Buffer of its final size (over TLS: copied into it once), as ours does.
// Optional TLS: createImmediateCeilingClient(port, { tls: { ca } }) verifies the server against that CA.
import net from 'node:net';
import tls from 'node:tls';

const CRLF = '\r\n';

/** `direct()` gives the rest of a large body being received (or null), `filled(n)` says n bytes landed in it. */
function connect(port, tlsOptions, feed, direct, filled) {
  let socket;
  if (tlsOptions) {
    socket = tls.connect({ ...tlsOptions, host: '127.0.0.1', port });
    socket.on('data', feed);
  } else {
    const slab = Buffer.allocUnsafe(64 * 1024);
    let target = null;
    const buffer = () => (target = direct()) ?? slab;
    const callback = (n, buf) => {
      if (buf === target) filled(n);
      else feed(slab.subarray(0, n));
    };
    socket = net.connect({ host: '127.0.0.1', port, onread: { buffer, callback } });
  }
  socket.setNoDelay(true);
  return new Promise((resolve, reject) => {
    socket.once(tlsOptions ? 'secureConnect' : 'connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

export async function createImmediateCeilingClient(port, { tls: tlsOptions } = {}) {
  // Replies are matched to requests in order: resolvers and "wants a Buffer" flags in two parallel arrays.
  const waiting = [];
  const asBuffer = [];
  let head = 0;
  // Pending output: a string while only strings were queued; Buffers (large values) split it into parts.
  let out = '';
  const parts = [];
  let scheduled = false;
  // A reply frame cut by a chunk boundary: the short tail is copied (the read buffer is reused) and joined to the
  // next chunk; a large bulk body that did not fit is copied into `body` until `bodyLeft` bytes (body + CRLF)
  // have arrived.
  let pending = null;
  let body = null;
  let bodyHave = 0;
  let bodyLeft = 0;

  const flush = () => {
    scheduled = false;
    if (parts.length === 0) {
      socket.write(out);
    } else {
      if (out.length > 0) parts.push(out);
      socket.cork();
      for (const part of parts) socket.write(part);
      socket.uncork();
      parts.length = 0;
    }
    out = '';
  };
  const deliver = (value) => {
    const resolve = waiting[head];
    // Let go of the resolver at once: it keeps its promise, and so the reply (1 MB in the big scenario), alive.
    waiting[head] = undefined;
    head++;
    if (head > 4096) {
      waiting.splice(0, head);
      asBuffer.splice(0, head);
      head = 0;
    }
    resolve(value);
  };
  const bulk = (buf, start, end) =>
    asBuffer[head] ? Buffer.from(buf.subarray(start, end)) : buf.toString('utf8', start, end);

  const feed = (chunk) => {
    let pos = 0;
    if (body !== null) {
      pos = Math.min(chunk.length, bodyLeft);
      // The body's bytes go into `body`; the CRLF after it (the last 2 of bodyLeft) is skipped.
      const bodyBytes = Math.max(0, Math.min(pos, bodyLeft - 2));
      if (bodyBytes > 0) chunk.copy(body, bodyHave, 0, bodyBytes);
      bodyHave += bodyBytes;
      bodyLeft -= pos;
      if (bodyLeft > 0) return;
      const whole = body;
      body = null;
      deliver(asBuffer[head] ? whole : whole.toString('utf8'));
    }
    const buf = pending === null ? chunk : Buffer.concat([pending, chunk.subarray(pos)]);
    if (pending !== null) pos = 0;
    pending = null;
    while (pos < buf.length) {
      const lf = buf.indexOf(10, pos);
      if (lf === -1) break;
      const type = buf[pos];
      if (type === 36) {
        const len = Number(buf.toString('latin1', pos + 1, lf - 1));
        if (len < 0) {
          pos = lf + 1;
          deliver(null);
          continue;
        }
        const start = lf + 1;
        if (start + len + 2 > buf.length) {
          // The body did not arrive whole: collect it chunk by chunk (small bodies simply wait as a tail).
          if (len < 16 * 1024) break;
          body = Buffer.allocUnsafe(len);
          bodyHave = buf.copy(body, 0, start, Math.min(buf.length, start + len));
          bodyLeft = len + 2 - (buf.length - start);
          return;
        }
        pos = start + len + 2;
        deliver(bulk(buf, start, start + len));
      } else {
        const line = buf.toString('latin1', pos + 1, lf - 1);
        pos = lf + 1;
        if (type === 58) deliver(Number(line));
        else if (type === 45) deliver(new Error(line));
        else deliver(line);
      }
    }
    if (pos < buf.length) pending = Buffer.from(buf.subarray(pos));
  };
  const direct = () =>
    body !== null && bodyLeft - 2 >= 64 * 1024 ? body.subarray(bodyHave) : null;
  const filled = (n) => {
    bodyHave += n;
    bodyLeft -= n;
  };
  const socket = await connect(port, tlsOptions, feed, direct, filled);

  const send = (args, buffer = false) =>
    new Promise((resolve) => {
      waiting.push(resolve);
      asBuffer.push(buffer);
      let header = `*${args.length}${CRLF}`;
      for (const a of args) {
        if (Buffer.isBuffer(a)) {
          parts.push(out + header + `$${a.length}${CRLF}`, a);
          out = '';
          header = CRLF;
          continue;
        }
        const s = typeof a === 'string' ? a : String(a);
        header += `$${Buffer.byteLength(s)}${CRLF}${s}${CRLF}`;
      }
      out += header;
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    });
  return {
    get: (k) => send(['GET', k]),
    set: (k, v) => send(['SET', k, v]),
    getBuffer: (k) => send(['GET', k], true),
    pipeline: (cmds) => Promise.all(cmds.map((c) => send(c))),
    close: async () => socket.destroy(),
  };
}
