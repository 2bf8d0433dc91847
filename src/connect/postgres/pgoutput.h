#pragma once
// PostgreSQL's logical replication protocol as the `pgoutput` plugin writes it (protocol
// version 1; "Logical Replication Message Formats" in PostgreSQL's documentation), and the
// streaming replication messages around it ("Streaming Replication Protocol": XLogData,
// primary keepalive, standby status update). Decoding only: no I/O.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/result.h"

namespace sluice::connect::pg {

using lsn_t = uint64_t;
std::string format_lsn(lsn_t lsn);                   // "16/B374D848"
std::optional<lsn_t> parse_lsn(std::string_view s);  // the same form

// Microseconds since 2000-01-01, PostgreSQL's epoch, as Unix milliseconds.
int64_t pg_time_to_unix_ms(int64_t pg_us);
int64_t unix_ms_to_pg_time(int64_t unix_ms);

struct column {
  std::string name;
  uint32_t type_oid = 0;
  bool key = false;  // part of the replica identity (the primary key by default)
};

struct relation {
  uint32_t oid = 0;
  std::string schema, table;
  char replica_identity = 'd';  // d default, n nothing, f full, i index
  std::vector<column> columns;
};

// One column's value in a row image.
struct datum {
  enum class kind : uint8_t { null, unchanged_toast, text } k = kind::null;
  std::string_view text;  // into the message
};
using tuple = std::vector<datum>;

struct begin_msg {
  lsn_t final_lsn = 0;
  int64_t commit_time = 0;  // PostgreSQL microseconds
  uint32_t xid = 0;
};
struct commit_msg {
  lsn_t commit_lsn = 0, end_lsn = 0;
  int64_t commit_time = 0;
};
struct insert_msg {
  uint32_t relation = 0;
  tuple after;
};
struct update_msg {
  uint32_t relation = 0;
  std::optional<tuple> before;  // the key ('K') or the whole old row ('O', REPLICA IDENTITY FULL)
  bool before_is_key = false;
  tuple after;
};
struct delete_msg {
  uint32_t relation = 0;
  tuple before;
  bool before_is_key = true;
};
struct truncate_msg {
  std::vector<uint32_t> relations;
};
struct other_msg {
  char tag = 0;  // origin, type, message: nothing a change stream needs
};

using message = std::variant<begin_msg, commit_msg, relation, insert_msg, update_msg, delete_msg,
                             truncate_msg, other_msg>;

// Decodes one pgoutput message; its views point into `data`. Errors: corrupt_batch with what
// is wrong.
result<message> decode(std::string_view data);

// The messages of a COPY BOTH replication stream.
struct xlog_data {
  lsn_t start = 0, wal_end = 0;
  int64_t send_time = 0;
  std::string_view payload;  // a pgoutput message
};
struct keepalive {
  lsn_t wal_end = 0;
  int64_t send_time = 0;
  bool reply_requested = false;
};
result<std::variant<xlog_data, keepalive>> decode_copy_data(std::string_view data);
// A standby status update: everything up to `flushed` is durable on our side.
std::string standby_status(lsn_t written, lsn_t flushed, int64_t now_pg_us, bool reply = false);

}  // namespace sluice::connect::pg
