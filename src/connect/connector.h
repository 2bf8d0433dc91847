#pragma once
// What a connector is: the interfaces its tasks implement, and how a kind of connector is made
// from its configuration. The runtime (connect/worker.h) runs them; adding a connector is one
// folder with a file that defines a `kind` plus one line in connect/plugins.cc.
//
// A source task produces records for topics, each with the position it has reached in its own
// source (a source partition and an offset, both small JSON texts, as Kafka Connect keeps them).
// The runtime makes the records durable in sluice first, then stores those offsets, then calls
// commit(): a task that acknowledges something to its source (PostgreSQL's confirmed LSN, an
// MQTT QoS 1 PUBACK) does it there, so that after a crash nothing acknowledged is missing.
//
// A sink task receives records of a topic or of a view, puts them into its peer and flushes;
// the runtime stores the sink's positions once flush() succeeded, retries failures with backoff,
// and sends records that keep failing to the dead-letter topic when `errors.tolerance` is `all`.
//
// Tasks run on their connector's own thread: none of these calls overlap.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"

namespace sluice::connect {

using config = std::map<std::string, std::string>;

enum class connector_type : uint8_t { source, sink };
std::string_view to_string(connector_type t);

struct source_record {
  std::string topic;  // empty: no record, only a new position (the source moved past data
                      // that makes no records)
  std::optional<std::string> key;
  std::optional<std::string> value;  // nullopt: a tombstone
  int64_t timestamp = 0;             // epoch ms; 0: now
  std::vector<std::pair<std::string, std::string>> headers;
  // Where the source stands after this record: the partition of the source it came from and
  // the offset to resume after it (JSON texts; empty: the record moves no offset).
  std::string source_partition;
  std::string source_offset;
};

class source_task {
 public:
  virtual ~source_task() = default;
  // Connects and begins after `offsets` (source partition -> offset of the last record stored;
  // empty on the first start).
  virtual result<void> start(const std::map<std::string, std::string>& offsets) = 0;
  // Appends the records available now, waiting up to `wait` for the first one. An error stops
  // the task (the runtime restarts it with backoff).
  virtual result<void> poll(std::vector<source_record>& out, std::chrono::milliseconds wait) = 0;
  // Records up to `offsets` are durable in sluice and the offsets stored.
  virtual result<void> commit(const std::map<std::string, std::string>& /*offsets*/) { return {}; }
  virtual void stop() {}
};

struct sink_record {
  std::string topic;  // the topic, or the view, the record comes from
  int32_t partition = 0;
  int64_t offset = 0;
  std::optional<std::string> key;    // the record key; a view's key (text of a one-column key)
  std::optional<std::string> value;  // JSON text; nullopt: a delete (tombstone)
  int64_t timestamp = 0;
};

class sink_task {
 public:
  virtual ~sink_task() = default;
  virtual result<void> start() = 0;
  // Takes records (it may write them now or buffer them until flush()).
  virtual result<void> put(std::span<const sink_record> records) = 0;
  // Everything put so far is written to the peer.
  virtual result<void> flush() = 0;
  virtual void stop() {}
};

// One kind of connector (a plugin, as Kafka Connect lists them).
struct kind {
  std::string name;  // 'connector' = name in SQL
  connector_type type = connector_type::source;
  // Kafka Connect class names that mean this kind (connector.class), the first one listed by
  // GET /connector-plugins.
  std::vector<std::string> classes;
  std::string version;
  // Checks a configuration (required settings, values); the message names what is wrong.
  std::function<result<void>(const config&)> validate;
  std::function<std::unique_ptr<source_task>(const config&)> make_source;
  std::function<std::unique_ptr<sink_task>(const config&)> make_sink;
};

// Every kind this build has (connect/plugins.cc).
const std::vector<kind>& kinds();
// The kind that `name` (a short name or a class name) means, or null.
const kind* find_kind(std::string_view name);

// Reading settings: the value of `key`, or `def`; errors name the key.
std::string setting(const config& c, const std::string& key, std::string def = {});
result<std::string> required(const config& c, const std::string& key);
result<int64_t> integer_setting(const config& c, const std::string& key, int64_t def, int64_t min,
                                int64_t max);
// A comma-separated setting as its items, trimmed, empty ones left out.
std::vector<std::string> list_setting(const config& c, const std::string& key);
// An integer setting of a config already validated: `def` when absent or not a number.
int64_t integer_or(const config& c, const std::string& key, int64_t def);

}  // namespace sluice::connect
