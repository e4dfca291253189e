// The first, weaker ceiling (`ceiling (nextTick)` in the tables): one socket, commands written in one coalesced
// write per tick (process.nextTick, so once per `data` event), replies counted, not decoded, by a minimal scanner
// that understands only the reply shapes the benchmark provokes. The `ceiling` row is the stronger
// bench/ceiling-immediate.mjs (one write per event-loop iteration, replies decoded into values).
import net from 'node:net';

function encode(args) {
  let out = `*${args.length}\r\n`;
  for (const a of args) {
    const s = typeof a === 'string' ? a : String(a);
    out += `$${Buffer.byteLength(s)}\r\n${s}\r\n`;
  }
  return out;
}

export async function createCeilingClient(port) {
  const socket = net.connect({ host: '127.0.0.1', port });
  socket.setNoDelay(true);
  await new Promise((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const waiting = [];
  let head = 0;
  let out = '';
  let scheduled = false;
  let pending = Buffer.alloc(0);
  const flush = () => {
    scheduled = false;
    socket.write(out);
    out = '';
  };
  socket.on('data', (chunk) => {
    let buf = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    let pos = 0;
    for (;;) {
      if (pos >= buf.length) break;
      const lf = buf.indexOf(10, pos);
      if (lf === -1) break;
      let end = lf + 1;
      if (buf[pos] === 36) {
        const len = Number(buf.toString('latin1', pos + 1, lf - 1));
        if (len >= 0) {
          end = lf + 1 + len + 2;
          if (end > buf.length) break;
        }
      }
      pos = end;
      waiting[head++]();
      if (head > 4096) {
        waiting.splice(0, head);
        head = 0;
      }
    }
    pending = pos < buf.length ? buf.subarray(pos) : Buffer.alloc(0);
  });
  const send = (args) =>
    new Promise((resolve) => {
      waiting.push(resolve);
      out += encode(args);
      if (!scheduled) {
        scheduled = true;
        process.nextTick(flush);
      }
    });
  return {
    get: (k) => send(['GET', k]),
    set: (k, v) => send(['SET', k, v]),
    pipeline: (cmds) => Promise.all(cmds.map((c) => send(c))),
    close: async () => socket.destroy(),
  };
}
