#pragma once
// The Redis sink (hiredis): keeps a view's rows, or a topic's records, in Redis.
//
//   'connector' = 'redis', 'host' (default 127.0.0.1), 'port' (6379), 'password', 'db' (0)
//   'mode' = 'hash'   each row as a hash at key <key.prefix><record key>, a field per column
//                     (values as text; null columns left out); a delete removes the key
//          | 'json'   the row's JSON text as a string at that key; a delete removes it
//          | 'stream' each record appended to the Redis stream 'stream' (XADD, MAXLEN ~
//                     'stream.maxlen' when set) with fields key, value (and op=delete for one)
//   'key.prefix'      (default: none)
//
// Writes are pipelined: one round trip per put(). Records without a key are refused in hash
// and json modes (the record goes to the dead-letter topic with errors.tolerance = all).

#include "connect/connector.h"

namespace sluice::connect {
kind redis_sink_kind();
}
