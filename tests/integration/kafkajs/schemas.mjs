// Confluent's schema registry client for Node (@kafkajs/confluent-schema-registry, which
// encodes Avro with avsc: no code shared with sluice) against sluice's registry, with kafkajs
// for the records (tests/integration/schema_registry_test.sh).
//
//   node schemas.mjs BROKERS REGISTRY_URL produce N1 N2
//     registers Bid v1, writes N1 bids with it, is refused an incompatible v2 (409), registers
//     a compatible v2 (a new optional field), writes N2 bids with it; prints the ids
//   node schemas.mjs BROKERS REGISTRY_URL decode TOPIC N
//     reads N records of TOPIC from the start, decodes them (and framed keys) through the
//     registry and prints each as a JSON line {"key":..,"value":..}
//   node schemas.mjs BROKERS REGISTRY_URL tombstone TOPIC KEY_SUBJECT KEY_JSON
//     writes a tombstone whose key is encoded with KEY_SUBJECT's latest schema
import { Kafka, logLevel } from 'kafkajs';
import registryPkg from '@kafkajs/confluent-schema-registry';

const { SchemaRegistry, SchemaType } = registryPkg;
const [brokers, url, command, ...args] = process.argv.slice(2);
const kafka = new Kafka({ clientId: 'schemas', brokers: [brokers], logLevel: logLevel.NOTHING });
// ajv (the client's JSON Schema validator) knows no formats without ajv-formats: ignore them.
const registry = new SchemaRegistry({ host: url },
                                    { [SchemaType.JSON]: { strict: false, logger: false } });

function fail(message) {
  console.error('FAIL ' + message);
  process.exit(1);
}

const bidV1 = {
  type: 'record', name: 'Bid', namespace: 'nexmark',
  fields: [
    { name: 'auction', type: 'long' },
    { name: 'bidder', type: 'long' },
    { name: 'price', type: 'long' },
    { name: 'channel', type: 'string' },
    { name: 'dateTime', type: { type: 'long', logicalType: 'timestamp-millis' } },
  ],
};
const bidV2 = { ...bidV1, fields: [...bidV1.fields, { name: 'url', type: ['null', 'string'], default: null }] };
const bidBad = { ...bidV1, fields: [...bidV1.fields, { name: 'extra', type: 'string' }] };

function bid(i, withUrl) {
  const b = { auction: i % 5, bidder: 1000 + i, price: i * 10, channel: i % 2 ? 'web' : 'app',
              dateTime: 1_700_000_000_000 + i * 1000 };
  if (withUrl) b.url = i % 2 === 0 ? `https://shop.example/${i}` : null;
  return b;
}

if (command === 'produce') {
  const [n1, n2] = args.map(Number);
  const subject = 'bids-value';
  const { id: id1 } = await registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(bidV1) },
                                              { subject });
  const producer = kafka.producer();
  await producer.connect();
  const write = async (id, from, to, withUrl) => {
    const messages = [];
    for (let i = from; i < to; i++)
      messages.push({ key: String(i % 5), value: await registry.encode(id, bid(i, withUrl)) });
    await producer.send({ topic: 'bids', messages });
  };
  await write(id1, 0, n1, false);
  let refused = null;
  try {
    await registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(bidBad) }, { subject });
  } catch (e) {
    refused = e;
  }
  if (!refused) fail('an incompatible schema was registered');
  if (refused.status !== 409 || !/READER_FIELD_MISSING_DEFAULT_VALUE/.test(refused.message))
    fail(`the incompatible schema's error: ${refused.status} ${refused.message}`);
  const { id: id2 } = await registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(bidV2) },
                                              { subject });
  await write(id2, n1, n1 + n2, true);
  const latest = await registry.getLatestSchemaId(subject);
  const again = await registry.getRegistryIdBySchema(subject, { type: SchemaType.AVRO, schema: JSON.stringify(bidV1) });
  await producer.disconnect();
  console.log(JSON.stringify({ id1, id2, latest, lookup: again, refused: refused.status }));
} else if (command === 'protobuf') {
  // A Protobuf schema (protobufjs inside the client), records framed with message indexes.
  const n = Number(args[0]);
  const subject = 'readings_pb-value';
  const proto = `syntax = "proto3";
package iot;
message Reading {
  enum Status { OK = 0; HOT = 1; }
  string sensor = 1;
  double temp = 2;
  int64 at = 3;
  repeated string tags = 4;
  Status status = 5;
  map<string, int32> counts = 6;
  Place place = 7;
}
message Place { string site = 1; int32 floor = 2; }
`;
  const { id } = await registry.register({ type: SchemaType.PROTOBUF, schema: proto }, { subject });
  const producer = kafka.producer();
  await producer.connect();
  const messages = [];
  for (let i = 0; i < n; i++) {
    const r = { sensor: 's' + (i % 3), temp: 20 + i, at: 1700000000000 + i, tags: i % 2 ? ['a', 'b'] : [],
                status: i % 4 === 0 ? 1 : 0, counts: { x: i }, place: { site: 'lab', floor: i % 3 } };
    messages.push({ value: await registry.encode(id, r) });
  }
  await producer.send({ topic: 'readings_pb', messages });
  await producer.disconnect();
  let refused = null;
  try {
    await registry.register({ type: SchemaType.PROTOBUF,
                              schema: proto.replace('double temp = 2;', 'string temp = 2;') }, { subject });
  } catch (e) {
    refused = e;
  }
  console.log(JSON.stringify({ id, refused: refused ? refused.status : null,
                               kind: refused && /FIELD_SCALAR_KIND_CHANGED/.test(refused.message) }));
} else if (command === 'jsonschema') {
  // A JSON Schema (ajv inside the client validates what it encodes); one record that breaks
  // the schema framed by hand, which sluice must refuse; an incompatible and a compatible
  // evolution.
  const n = Number(args[0]);
  const subject = 'orders_js-value';
  const base = {
    type: 'object',
    properties: {
      id: { type: 'integer' }, customer: { type: 'string' }, amount: { type: 'number', minimum: 0 },
      at: { type: 'string', format: 'date-time' }, items: { type: 'array', items: { type: 'string' } },
    },
    required: ['id', 'amount'], additionalProperties: false,
  };
  const { id } = await registry.register({ type: SchemaType.JSON, schema: JSON.stringify(base) }, { subject });
  const producer = kafka.producer();
  await producer.connect();
  const messages = [];
  for (let i = 0; i < n; i++) {
    const o = { id: i, customer: 'c' + (i % 2), amount: 10 * i, at: new Date(1700000000000 + i * 1000).toISOString(),
                items: i % 2 ? ['x'] : [] };
    messages.push({ value: await registry.encode(id, o) });
  }
  const header = Buffer.alloc(5);
  header.writeInt32BE(id, 1);
  messages.push({ value: Buffer.concat([header, Buffer.from('{"id":99,"amount":-5}')]) });
  await producer.send({ topic: 'orders_js', messages });
  await producer.disconnect();
  let refused = null;
  try {
    await registry.register({ type: SchemaType.JSON,
                              schema: JSON.stringify({ ...base, required: ['id', 'amount', 'customer'] }) }, { subject });
  } catch (e) {
    refused = e;
  }
  const evolved = { ...base, properties: { ...base.properties, note: { type: 'string' } } };
  const { id: id2 } = await registry.register({ type: SchemaType.JSON, schema: JSON.stringify(evolved) }, { subject });
  console.log(JSON.stringify({ id, id2, refused: refused ? refused.status : null,
                               kind: refused && /REQUIRED_ATTRIBUTE_ADDED/.test(refused.message) }));
} else if (command === 'tombstone') {
  // A tombstone whose key is framed with the latest schema of SUBJECT.
  const [topic, subject, keyJson] = args;
  const id = await registry.getLatestSchemaId(subject);
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic, messages: [{ key: await registry.encode(id, JSON.parse(keyJson)), value: null }] });
  await producer.disconnect();
  console.log(JSON.stringify({ id }));
} else if (command === 'decode') {
  const [topic, n] = [args[0], Number(args[1])];
  const consumer = kafka.consumer({ groupId: 'schemas-decode-' + Date.now() });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const out = [];
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${out.length} of ${n} records`)), 20000);
    consumer.run({
      eachMessage: async ({ message }) => {
        const value = message.value === null ? null : await registry.decode(message.value);
        const framed = message.key && message.key.length > 5 && message.key[0] === 0;
        const key = framed ? await registry.decode(message.key) : message.key?.toString() ?? null;
        out.push({ key, value });
        if (out.length >= n) {
          clearTimeout(timer);
          resolve();
        }
      },
    }).catch(reject);
  }).catch(e => fail(e.message));
  await consumer.disconnect();
  for (const r of out) console.log(JSON.stringify(r, (k, v) => (typeof v === 'bigint' ? Number(v) : v)));
} else {
  fail('unknown command ' + command);
}
process.exit(0);
