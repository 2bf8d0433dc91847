// Send-receive-ack throughput and latency of a durable work queue with per-message acks, for
// sluice (HTTP API, /v1/queues) and RabbitMQ (AMQP 0-9-1 with amqplib: durable classic queue,
// persistent messages, publisher confirms, manual acks one message at a time); and how close
// to the configured retry backoff a nacked message comes back. Run by bench/queue.sh.
//
//   node bench.mjs sluice HOST:PORT MESSAGES CONSUMERS
//   node bench.mjs rabbitmq AMQP_URL MESSAGES CONSUMERS
//   node bench.mjs sluice-retry HOST:PORT MESSAGES BACKOFF_MS
//   node bench.mjs rabbitmq-retry AMQP_URL MESSAGES BACKOFF_MS
import amqp from 'amqplib';

const [target, addr, nArg, cArg] = process.argv.slice(2);
const total = Number(nArg);
const consumers = Number(cArg);
const batch = 100;
const window = 8;  // batches a producer has in flight
const pad = 'x'.repeat(80);  // about 100-byte messages

function pct(sorted, p) {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] : NaN;
}

function report(name, started, latencies, extra = '') {
  const secs = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  console.log(`${name}: ${total} messages, ${consumers} consumer(s): ${(total / secs).toFixed(0)} msg/s ` +
    `(${secs.toFixed(2)} s); send-to-receive latency p50 ${pct(latencies, 0.5).toFixed(1)} ms, ` +
    `p99 ${pct(latencies, 0.99).toFixed(1)} ms${extra}`);
}

async function http(path, body) {
  const res = await fetch(`http://${addr}${path}`, { method: 'POST', body: JSON.stringify(body) });
  const json = await res.json();
  if (!res.ok) throw new Error(`${path}: ${res.status} ${json.message}`);
  return json;
}

async function sluice() {
  const name = `bench-${Date.now()}`;
  await http('/v1/queues', { name, partitions: 4, visibility_timeout_ms: 60000 });
  const latencies = [];
  let acked = 0;
  const started = performance.now();
  // The producer keeps up to `window` batches in flight (each answered once on disk).
  let next = 0;
  const sender = async () => {
    while (next < total) {
      const i = next;
      next += batch;
      const messages = [];
      for (let j = i; j < Math.min(total, i + batch); ++j) messages.push({ value: { i: j, t: Date.now(), pad } });
      await http(`/v1/queues/${name}/messages`, { messages });
    }
  };
  const producer = Promise.all(Array.from({ length: window }, sender));
  // Like an AMQP consumer, which sends basic.ack without waiting for an answer, a consumer
  // does not wait for its acks (each answered once durable) before taking the next batch;
  // at most two are outstanding.
  let received = 0;
  const consumer = async id => {
    const pending = [];
    while (received < total) {
      const { messages } = await http(`/v1/queues/${name}/receive`,
        { max_messages: batch, wait_ms: 200, consumer: `c${id}` });
      if (!messages.length) continue;
      received += messages.length;
      const now = Date.now();
      for (const m of messages) latencies.push(now - m.value.t);
      pending.push(http(`/v1/queues/${name}/ack`, { receipts: messages.map(m => m.receipt) })
        .then(({ results }) => { acked += results.filter(r => r === 'ok').length; }));
      if (pending.length >= 2) await pending.shift();
    }
    await Promise.all(pending);
  };
  await Promise.all([producer, ...Array.from({ length: consumers }, (_, i) => consumer(i))]);
  if (acked !== total) throw new Error(`acked ${acked} of ${total}`);
  report('sluice', started, latencies);
}

async function rabbitmq() {
  const name = `bench-${Date.now()}`;
  const conn = await amqp.connect(addr);
  const pub = await conn.createConfirmChannel();
  await pub.assertQueue(name, { durable: true });
  const latencies = [];
  let acked = 0;
  const started = performance.now();
  let finish;
  const done = new Promise(r => { finish = r; });
  for (let c = 0; c < consumers; ++c) {
    const ch = await conn.createChannel();
    await ch.prefetch(batch);
    await ch.consume(name, msg => {
      const v = JSON.parse(msg.content.toString());
      latencies.push(Date.now() - v.t);
      ch.ack(msg);  // one message at a time
      if (++acked === total) finish();
    }, { noAck: false });
  }
  // Up to `window` batches unconfirmed, as for sluice.
  let unconfirmed = 0, wake = null;
  for (let j = 0; j < total; ++j) {
    while (unconfirmed >= window * batch) await new Promise(r => { wake = r; });
    ++unconfirmed;
    pub.sendToQueue(name, Buffer.from(JSON.stringify({ i: j, t: Date.now(), pad })), { persistent: true }, () => {
      --unconfirmed;
      if (wake && unconfirmed < window * batch) { const w = wake; wake = null; w(); }
    });
  }
  await pub.waitForConfirms();
  await done;
  report('rabbitmq', started, latencies);
  await conn.close();
}

// Nack every message once and measure when each comes back, against the configured backoff.
async function sluiceRetry() {
  const backoff = consumers;  // 4th argument
  const name = `retry-${Date.now()}`;
  await http('/v1/queues', { name, visibility_timeout_ms: 60000, max_deliveries: 10, backoff_base_ms: backoff, backoff_jitter: 0 });
  const messages = [];
  for (let j = 0; j < total; ++j) messages.push({ value: { i: j } });
  await http(`/v1/queues/${name}/messages`, { messages });
  const nackedAt = new Map();
  let got = [];
  while (got.length < total) got = got.concat((await http(`/v1/queues/${name}/receive`, { max_messages: total, wait_ms: 1000 })).messages);
  // A consumer waiting for the redeliveries while the nacks go out, in small groups spread
  // over time so that they do not all come back at once.
  const errors = [];
  const waiting = (async () => {
    while (errors.length < total) {
      const { messages: back } = await http(`/v1/queues/${name}/receive`, { max_messages: total, wait_ms: 5000 });
      const now = Date.now();
      for (const m of back) errors.push(now - nackedAt.get(m.value.i) - backoff);
      if (back.length) await http(`/v1/queues/${name}/ack`, { receipts: back.map(m => m.receipt) });
    }
  })();
  for (let i = 0; i < got.length; i += 10) {
    const group = got.slice(i, i + 10);
    for (const m of group) nackedAt.set(m.value.i, Date.now());
    await http(`/v1/queues/${name}/nack`, { receipts: group.map(m => m.receipt) });
    await new Promise(r => setTimeout(r, 5));
  }
  await waiting;
  reportRetry('sluice', backoff, errors);
}

// RabbitMQ has no retry backoff of its own: the usual set-up is a retry queue with a message
// TTL that dead-letters back into the work queue.
async function rabbitRetry() {
  const backoff = consumers;
  const name = `retry-${Date.now()}`;
  const conn = await amqp.connect(addr);
  const ch = await conn.createConfirmChannel();
  await ch.assertQueue(name, { durable: true });
  await ch.assertQueue(`${name}.wait`, {
    durable: true, messageTtl: backoff, deadLetterExchange: '', deadLetterRoutingKey: name,
  });
  for (let j = 0; j < total; ++j) ch.sendToQueue(name, Buffer.from(String(j)), { persistent: true });
  await ch.waitForConfirms();
  const nackedAt = new Map();
  const errors = [];
  let finish;
  const done = new Promise(r => { finish = r; });
  const cons = await conn.createChannel();
  await cons.prefetch(total);
  await cons.consume(name, msg => {
    const i = Number(msg.content.toString());
    if (!nackedAt.has(i)) {
      // "nack with backoff": park it in the TTL queue, then settle the delivery.
      nackedAt.set(i, Date.now());
      ch.sendToQueue(`${name}.wait`, msg.content, { persistent: true });
    } else {
      errors.push(Date.now() - nackedAt.get(i) - backoff);
      if (errors.length === total) finish();
    }
    cons.ack(msg);
  }, { noAck: false });
  await done;
  reportRetry('rabbitmq (TTL + dead-letter exchange)', backoff, errors);
  await conn.close();
}

function reportRetry(name, backoff, errors) {
  const abs = errors.map(Math.abs).sort((a, b) => a - b);
  errors.sort((a, b) => a - b);
  console.log(`${name}: ${total} nacked messages, backoff ${backoff} ms: redelivered after backoff ` +
    `+ p50 ${pct(errors, 0.5)} ms, p99 ${pct(errors, 0.99)} ms (|error| p99 ${pct(abs, 0.99)} ms, ` +
    `max ${abs[abs.length - 1]} ms)`);
}

const runs = { sluice, rabbitmq, 'sluice-retry': sluiceRetry, 'rabbitmq-retry': rabbitRetry };
await runs[target]();
