#pragma once
// The PostgreSQL sink: keeps a table current from a view or a changelog topic.
//
//   'connector' = 'postgres-sink', the connection settings of connect/postgres/connection.h
//   'table.name'   (required) schema.table or table
//   'pk.fields'    the primary key columns, comma-separated (required for upserts and deletes;
//                  a view's key columns)
//   'insert.mode'  upsert (INSERT ... ON CONFLICT (pk) DO UPDATE, the default) | insert
//   'auto.create'  true: CREATE TABLE IF NOT EXISTS from the first row's values (text, bigint,
//                  double precision, boolean, jsonb), with the primary key
//
// Each put() is one transaction: per key only the last change of the batch is applied (a
// delete as DELETE ... WHERE pk IN (...), rows as one multi-row INSERT), so a batch of many
// changes to few keys costs few rows. A delete's key is read from the record key: a JSON object
// of the key columns (Debezium's, sluice's topics), a JSON array in pk.fields order (a view's
// several key columns), or the bare value of a one-column key.

#include "connect/connector.h"

namespace sluice::connect {
kind postgres_sink_kind();
}
