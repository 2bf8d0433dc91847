// kafkajs transactions against sluice: commit and abort, sendOffsets in a
// consume-transform-produce step, and a read_committed consumer that never sees aborted data.
// Exits non-zero with a message on the first thing that is wrong.
import { Kafka, logLevel } from "kafkajs";
import assert from "node:assert/strict";

const broker = process.argv[2];
const kafka = new Kafka({ clientId: "kafkajs-txn", brokers: [broker], logLevel: logLevel.ERROR,
                          retry: { retries: 5 } });
const admin = kafka.admin();
await admin.connect();
await admin.createTopics({ topics: [{ topic: "js-tx-in", numPartitions: 2 },
                                    { topic: "js-tx-out", numPartitions: 2 }] });

const producer = kafka.producer({ transactionalId: "js-tx", maxInFlightRequests: 1,
                                  idempotent: true });
await producer.connect();
let tx = await producer.transaction();
await tx.send({ topic: "js-tx-in", messages: Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: `in-${i}` })) });
await tx.commit();
tx = await producer.transaction();
await tx.send({ topic: "js-tx-in", messages: [{ value: "aborted" }] });
await tx.abort();

async function readAll(topic, groupId, expected) {
  const consumer = kafka.consumer({ groupId, readUncommitted: false });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const got = [];
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => resolve(), 8000);
    consumer.run({ autoCommit: false, eachMessage: async ({ message }) => {
      got.push(message.value.toString());
      if (got.length > expected) { clearTimeout(timer); resolve(); }
    } }).catch(reject);
  });
  await consumer.disconnect();
  return got;
}

const input = await readAll("js-tx-in", "js-reader", 20);
assert.equal(input.length, 20, `read_committed saw ${input.length} records, want 20`);
assert.ok(!input.includes("aborted"), "read_committed saw an aborted record");

// Consume-transform-produce: the outputs and the input offsets in one transaction.
tx = await producer.transaction();
await tx.send({ topic: "js-tx-out", messages: input.map((v) => ({ value: v.replace("in-", "out-") })) });
const topicOffsets = await admin.fetchTopicOffsets("js-tx-in");
await tx.sendOffsets({ consumerGroupId: "js-ctp", topics: [{ topic: "js-tx-in",
  partitions: topicOffsets.map((p) => ({ partition: p.partition, offset: p.high })) }] });
await tx.commit();
const committed = await admin.fetchOffsets({ groupId: "js-ctp", topics: ["js-tx-in"] });
const ends = Object.fromEntries(topicOffsets.map((p) => [p.partition, p.high]));
for (const p of committed[0].partitions)
  assert.equal(p.offset, ends[p.partition], `group offset of partition ${p.partition}`);

// An aborted sendOffsets leaves the group's offsets where they were.
tx = await producer.transaction();
await tx.sendOffsets({ consumerGroupId: "js-ctp", topics: [{ topic: "js-tx-in",
  partitions: [{ partition: 0, offset: "0" }] }] });
await tx.abort();
const after = await admin.fetchOffsets({ groupId: "js-ctp", topics: ["js-tx-in"] });
assert.equal(after[0].partitions.find((p) => p.partition === 0).offset, ends[0]);

const output = await readAll("js-tx-out", "js-out-reader", 20);
assert.equal(output.length, 20);
await producer.disconnect();
await admin.disconnect();
console.log("kafkajs transactions: ok");
