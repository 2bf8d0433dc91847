#pragma once
// The PostgreSQL change data capture source: logical replication with the `pgoutput` plugin
// through libpq, in Debezium's JSON envelope, so that what reads Debezium's topics reads these.
//
//   'connector' = 'postgres-cdc' (or io.debezium.connector.postgresql.PostgresConnector)
//   'database.hostname' (127.0.0.1), 'database.port' (5432), 'database.user',
//   'database.password', 'database.dbname'; or 'database.url', a libpq connection string
//   'topic.prefix'       (required) records go to <topic.prefix>.<schema>.<table>
//   'slot.name'          (sluice) the logical replication slot, created if missing
//   'publication.name'   (sluice_publication) created if missing: FOR ALL TABLES, or FOR
//                        TABLE of 'table.include.list' (schema.table, comma-separated)
//   'snapshot.mode'      initial (a consistent snapshot of every table first, op "r") | never
//   'heartbeat.interval.ms' (10000) how often the slot's position is confirmed while idle
//
// Each change is a record keyed by the primary key ({"id":1}), valued
//   {"before":{..}|null,"after":{..}|null,"source":{"version","connector":"postgresql","name",
//    "ts_ms","snapshot","db","schema","table","txId","lsn"},"op":"c|u|d|r","ts_ms":..}
// A delete is followed by a tombstone. Values: booleans and numbers as JSON, json/jsonb as
// JSON, everything else as text. An update's TOAST column that did not change comes from the
// old row when the table has REPLICA IDENTITY FULL, else it is "__debezium_unavailable_value"
// (Debezium's placeholder). Columns added to a table appear in the next change (PostgreSQL
// sends the relation again).
//
// Records of a transaction are handed over at its commit, the last one with the commit's LSN as
// the source offset; the slot's position is confirmed to PostgreSQL only once the runtime says
// they are durable (commit()), so after a crash of either side nothing is lost. While the
// database is idle the slot is moved to the server's WAL end, so it does not hold WAL back.

#include "connect/connector.h"

namespace sluice::connect {
kind postgres_cdc_kind();
}
