// kafkajs over SASL_SSL with SCRAM-SHA-256 against sluice: an allowed producer and consumer
// group, a topic the ACLs deny, and a wrong password. Exits non-zero on the first thing wrong.
// usage: node security.mjs HOST:PORT CA_FILE
import { Kafka, logLevel } from "kafkajs";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";

const [broker, caFile] = process.argv.slice(2);
const ssl = { ca: [readFileSync(caFile, "utf8")], servername: "localhost" };
const client = (user, password) => new Kafka({
  clientId: "kafkajs-sec", brokers: [broker], ssl, logLevel: logLevel.NOTHING,
  sasl: { mechanism: "scram-sha-256", username: user, password },
  retry: { retries: 2, initialRetryTime: 100 },
});

const alice = client("alice", "alice-secret");
const producer = alice.producer();
await producer.connect();
await producer.send({ topic: "orders", messages: [{ key: "js", value: "from-kafkajs" }] });

// Bob may read orders (prefix "ord") in group g-bob, not write it.
const bob = client("bob", "bob-secret");
const bobProducer = bob.producer();
await bobProducer.connect();
await assert.rejects(
  bobProducer.send({ topic: "orders", messages: [{ value: "nope" }] }),
  (e) => /authoriz/i.test(e.message) || e.type === "TOPIC_AUTHORIZATION_FAILED",
  "bob must not write orders");
await bobProducer.disconnect();

const consumer = bob.consumer({ groupId: "g-bob" });
await consumer.connect();
await consumer.subscribe({ topic: "orders", fromBeginning: true });
const seen = [];
await new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error(`read ${seen.length} records`)), 20000);
  consumer.run({ eachMessage: async ({ message }) => {
    seen.push(message.value.toString());
    if (seen.includes("from-kafkajs")) { clearTimeout(timer); resolve(); }
  } });
});
await consumer.disconnect();

// A wrong password is refused at login.
const mallory = client("alice", "wrong");
const bad = mallory.producer();
await assert.rejects(bad.connect(), (e) => /SASL|auth/i.test(e.message), "wrong password");

await producer.disconnect();
console.log(`kafkajs: produced with SCRAM-SHA-256 over TLS, bob read ${seen.length} records, denials ok`);
