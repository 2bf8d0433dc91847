// Reads a whole Redis stream from the start as one consumer would (XRANGE with an exclusive
// cursor, COUNT per call), for bench/run.sh. Prints the same kind of line as log_bench.
//   node redis_read_bench.mjs PORT KEY N
import { createClient } from "redis";

const [port, key, nArg] = process.argv.slice(2);
const n = Number(nArg);
const client = createClient({ socket: { host: "127.0.0.1", port: Number(port) } });
await client.connect();
let got = 0, bytes = 0, cursor = "-";
const t0 = process.hrtime.bigint();
while (got < n) {
  const entries = await client.xRange(key, cursor, "+", { COUNT: 10000 });
  if (entries.length === 0) break;
  for (const e of entries) bytes += e.message.v.length;
  got += entries.length;
  cursor = "(" + entries[entries.length - 1].id;
}
const secs = Number(process.hrtime.bigint() - t0) / 1e9;
console.log(`consume records=${got}  ${(got / secs).toFixed(0)} records/s  ${(bytes / secs / 1e6).toFixed(1)} MB/s`);
await client.quit();
