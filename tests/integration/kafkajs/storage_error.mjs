// kafkajs produce to a partition that cannot take writes (the broker below its free-space limit,
// or the partition failed): the send fails with the broker's KAFKA_STORAGE_ERROR (after kafkajs'
// own retries), not a timeout or an unknown error. Arguments: BROKER [TOPIC, default "data"].
import { Kafka, logLevel } from "kafkajs";

const kafka = new Kafka({ clientId: "kafkajs-space", brokers: [process.argv[2]],
                          logLevel: logLevel.NOTHING, retry: { retries: 1, initialRetryTime: 100 } });
const producer = kafka.producer();
await producer.connect();
try {
  await producer.send({ topic: process.argv[3] ?? "data", acks: -1, messages: [{ value: "v" }] });
  console.error("the send succeeded");
  process.exit(1);
} catch (e) {
  const cause = e.cause ?? e;
  const type = cause.type ?? e.type;
  if (type !== "KAFKA_STORAGE_ERROR") {
    console.error("unexpected error:", type, e.message);
    process.exit(1);
  }
} finally {
  await producer.disconnect();
}
