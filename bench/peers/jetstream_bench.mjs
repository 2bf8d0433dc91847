// NATS JetStream peer for bench/run.sh: publishes N records of S bytes to a file-backed
// stream with a bounded window of unacknowledged publishes, then reads them all back with an
// ordered consumer. Prints the same kind of line as log_bench.
//   node jetstream_bench.mjs SERVER N SIZE
import { connect } from "nats";

const [server, nArg, sizeArg] = process.argv.slice(2);
const n = Number(nArg), size = Number(sizeArg);
const nc = await connect({ servers: server });
const jsm = await nc.jetstreamManager();
try { await jsm.streams.delete("BENCH"); } catch { /* none yet */ }
await jsm.streams.add({ name: "BENCH", subjects: ["bench"], storage: "file" });
const js = nc.jetstream();
const payload = new Uint8Array(size).fill(120);

const lat = new Float64Array(n);
const window = 2048;
let inflight = [];
let t0 = process.hrtime.bigint();
for (let i = 0; i < n; i++) {
  const sent = process.hrtime.bigint();
  inflight.push(js.publish("bench", payload).then(() => {
    lat[i] = Number(process.hrtime.bigint() - sent) / 1e6;
  }));
  if (inflight.length >= window) { await Promise.all(inflight); inflight = []; }
}
await Promise.all(inflight);
let secs = Number(process.hrtime.bigint() - t0) / 1e9;
const sorted = Array.from(lat).sort((a, b) => a - b);
const pct = (p) => sorted[Math.min(n - 1, Math.floor(p * n))].toFixed(2);
console.log(`produce size=${size} acks=jetstream records=${n}  ${(n / secs).toFixed(0)} records/s  ` +
  `${(n * size / secs / 1e6).toFixed(1)} MB/s  latency p50=${pct(0.5)}ms p99=${pct(0.99)}ms p999=${pct(0.999)}ms`);

t0 = process.hrtime.bigint();
const consumer = await js.consumers.get("BENCH");
const msgs = await consumer.consume({ max_messages: 10000 });
let got = 0;
for await (const m of msgs) {
  got++;
  if (got >= n) break;
}
secs = Number(process.hrtime.bigint() - t0) / 1e9;
console.log(`consume records=${got}  ${(got / secs).toFixed(0)} records/s  ${(got * size / secs / 1e6).toFixed(1)} MB/s`);
await nc.close();
