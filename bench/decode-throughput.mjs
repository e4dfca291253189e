// Decoder throughput: one large array reply of bulk strings, fed whole and in 64 KiB socket-sized chunks,
// decoded to strings and to Buffers. Usage: node bench/decode-throughput.mjs [elements] [bytes per element]
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { RespDecoder } = require('../dist/protocol/resp-decoder.js');

const elements = Number(process.argv[2] ?? 100_000);
const size = Number(process.argv[3] ?? 100);
const value = 'v'.repeat(size);
const wire = Buffer.from(`*${elements}\r\n${`$${size}\r\n${value}\r\n`.repeat(elements)}`);
const chunks = [];
for (let i = 0; i < wire.length; i += 65536) chunks.push(wire.subarray(i, i + 65536));

function run(feed, returnBuffers) {
  let got = null;
  const decoder = new RespDecoder({
    onReply: (r) => (got = r),
    onPush: () => {},
    onError: (e) => {
      throw e;
    },
  });
  decoder.returnBuffers = returnBuffers;
  for (const chunk of feed) decoder.write(chunk);
  if (got === null || got.length !== elements) throw new Error('incomplete decode');
}

for (const [label, feed] of [
  ['whole', [wire]],
  ['64 KiB chunks', chunks],
]) {
  for (const returnBuffers of [false, true]) {
    for (let i = 0; i < 3; i++) run(feed, returnBuffers);
    const rounds = 10;
    const started = process.hrtime.bigint();
    for (let i = 0; i < rounds; i++) run(feed, returnBuffers);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const mb = (wire.length * rounds) / 2 ** 20;
    console.log(
      `${label.padEnd(14)} ${returnBuffers ? 'Buffers' : 'strings'}: ${(mb / seconds).toFixed(0)} MB/s, ` +
        `${((elements * rounds) / seconds / 1e6).toFixed(2)} M elements/s (${elements} × ${size} B, ${(wire.length / 2 ** 20).toFixed(1)} MB)`,
    );
  }
}
