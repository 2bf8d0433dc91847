// kafkajs against sluice: admin (create topic, metadata, offsets), idempotent producer,
// a consumer group that reads everything and commits, then resumes after the commit.
// Exits non-zero with a message on the first thing that is wrong.
import { Kafka, logLevel, CompressionTypes } from "kafkajs";
import assert from "node:assert/strict";

const broker = process.argv[2];
const kafka = new Kafka({ clientId: "kafkajs-test", brokers: [broker], logLevel: logLevel.ERROR,
                          retry: { retries: 5 } });
const topic = "js-orders";
const admin = kafka.admin();
await admin.connect();
assert.equal(await admin.createTopics({ topics: [{ topic, numPartitions: 3 }] }), true);
const md = await admin.fetchTopicMetadata({ topics: [topic] });
assert.equal(md.topics[0].partitions.length, 3);

const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
await producer.connect();
const sent = [];
for (let batch = 0; batch < 10; batch++) {
  const messages = [];
  for (let i = 0; i < 100; i++) {
    const n = batch * 100 + i;
    messages.push({ key: `k${n % 7}`, value: `v${n}` });
    sent.push(`v${n}`);
  }
  await producer.send({ topic, messages, acks: -1,
                        compression: batch % 2 ? CompressionTypes.GZIP : CompressionTypes.None });
}
const offsets = await admin.fetchTopicOffsets(topic);
assert.equal(offsets.reduce((s, p) => s + Number(p.high), 0), 1000);

async function consumeAll(groupId, expected) {
  const consumer = kafka.consumer({ groupId, sessionTimeout: 10000, heartbeatInterval: 500 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const got = [];
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out with ${got.length}/${expected}`)), 30000);
    consumer.run({ eachMessage: async ({ message }) => {
      got.push(message.value.toString());
      if (got.length >= expected) { clearTimeout(timer); resolve(); }
    } }).catch(reject);
  });
  await consumer.disconnect();  // commits and leaves the group
  return got;
}
const first = await consumeAll("js-group", 1000);
assert.deepEqual([...first].sort(), [...sent].sort());
await producer.send({ topic, messages: [{ key: "k", value: "late" }], acks: -1 });
const second = await consumeAll("js-group", 1);
assert.deepEqual(second, ["late"]);
const committed = await admin.fetchOffsets({ groupId: "js-group", topics: [topic] });
assert.equal(committed[0].partitions.reduce((s, p) => s + Number(p.offset), 0), 1001);

// Admin calls tools make beside produce and fetch: DescribeCluster and DeleteRecords.
const cluster = await admin.describeCluster();
assert.equal(cluster.brokers.length, 1);
assert.equal(cluster.controller, cluster.brokers[0].nodeId);
assert.equal(cluster.clusterId, "sluice");
const before = await admin.fetchTopicOffsets(topic);
const p0 = before.find((p) => p.partition === 0);
assert.ok(Number(p0.high) > 2);
await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: "2" }] });
const after = await admin.fetchTopicOffsets(topic);
assert.equal(after.find((p) => p.partition === 0).low, "2", "DeleteRecords moved the log start");
await admin.deleteTopicRecords({ topic, partitions: [{ partition: 1, offset: "-1" }] });
const emptied = (await admin.fetchTopicOffsets(topic)).find((p) => p.partition === 1);
assert.equal(emptied.low, emptied.high, "offset -1 deletes up to the high watermark");

await producer.disconnect();
await admin.disconnect();
console.log("kafkajs: 1 passed, 0 failed");
