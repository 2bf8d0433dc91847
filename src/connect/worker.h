#pragma once
// The connector runtime: every connector instance of this server, its configuration, state and
// figures. What Kafka Connect's REST API (http/connect_api.h), SQL's CREATE SOURCE|SINK
// CONNECTOR and `sluice connector` act on.
//
// Configurations are kept in the compacted internal topic `_connect_configs` (key: the
// connector's name; value: its config as a JSON object) and source and sink positions in
// `_connect_offsets` (key `["name",{partition}]`, value `{offset}`, as Kafka Connect keeps
// them); both are read at start-up, and every connector stored is started again.
//
// Each connector runs one task on its own thread (connect/runner.h): RUNNING, PAUSED, FAILED
// (with the error; restarted by itself with backoff, 1 s doubling to 1 min), RESTARTING.
// Source records are written to their topics in one transaction per poll round where the log has
// transactions, and their offsets stored after it committed; sink positions are stored after
// the sink flushed. So after a crash (kill -9) nothing is lost; what was written after the last
// stored offset is written again (at least once).
//
// Thread-safe.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "base/result.h"
#include "connect/connector.h"
#include "sql/connectors.h"

namespace sluice::log {
class log;
}
namespace sluice::stream {
class topic_io;
}
namespace sluice::view {
class view;
}
namespace sluice::metrics {
class exposition;
}

namespace sluice::connect {

class runner;
class state_topic;

struct worker_options {
  // Where connectors' records are written and sink topics read (the log's io, with
  // transactions where it has them).
  std::shared_ptr<stream::topic_io> io;
  // A live view by name (sink connectors FROM a view); null when there is none.
  std::function<std::shared_ptr<view::view>(const std::string&)> find_view;
  // A value of a registry format (Confluent framing) as JSON, for sinks; nullopt when it is not.
  std::function<std::optional<std::string>(std::string_view)> framed_to_json;
  std::string worker_id = "sluice";  // host:port shown in statuses
  // Restart backoff of a failed task: first and longest pause.
  std::chrono::milliseconds restart_backoff{1000};
  std::chrono::milliseconds max_restart_backoff{60'000};
};

struct connect_error {
  int status = 400;  // the HTTP status Kafka Connect answers: 400, 404, 409, 500
  std::string message;
};

struct connector_status {
  std::string name;
  std::string kind;  // the plugin's short name
  connector_type type = connector_type::source;
  std::string state;           // RUNNING, PAUSED, FAILED, RESTARTING, UNASSIGNED
  std::string trace;           // the last error, while FAILED (and after, until it runs again)
  uint64_t records = 0;        // records moved (written to topics, or put into the peer)
  uint64_t errors = 0;         // failed attempts (retried or not)
  uint64_t dead_lettered = 0;  // records sent to the dead-letter topic
  uint64_t restarts = 0;
  int64_t lag = -1;            // sinks of topics: records not yet delivered (-1: unknown)
  int64_t last_record_ms = 0;  // when the last record moved
  int64_t last_error_ms = 0;
};

class worker : public sql::connector_host {
 public:
  // Reads the stored configurations and offsets; nothing runs before start().
  static result<std::unique_ptr<worker>> open(log::log& l, worker_options o);
  ~worker() override;

  // Starts every stored connector (once the views they read exist).
  void start();
  void stop();

  // Creates the connector, or replaces its configuration (it restarts with it). True when it
  // was created. The config names its kind with `connector` or `connector.class`.
  // Errors: 400 (unknown kind, bad config), 409 (exists, when !replace), 500 (storage).
  std::variant<bool, connect_error> put(const std::string& name, config c, bool replace);
  std::optional<connect_error> remove(const std::string& name);
  std::optional<connect_error> pause(const std::string& name);
  std::optional<connect_error> resume(const std::string& name);
  std::optional<connect_error> restart(const std::string& name);

  std::vector<std::string> names() const;
  std::optional<config> config_of(const std::string& name) const;
  std::optional<connector_status> status(const std::string& name) const;
  std::vector<connector_status> statuses() const;
  const std::string& worker_id() const { return o_.worker_id; }

  void write_metrics(metrics::exposition& out) const;

  // sql::connector_host: CREATE SOURCE|SINK CONNECTOR, DROP CONNECTOR, SHOW CONNECTORS.
  std::optional<std::string> create_connector(const std::string& name, bool source, config c,
                                              bool if_not_exists) override;
  std::optional<std::string> drop_connector(const std::string& name, bool if_exists) override;
  std::vector<sql::connector_row> connectors() const override;

 private:
  // Stops a runner without waiting for its thread (a caller may hold a lock its task waits
  // for, as SQL's engine does): it is joined later, at the latest by stop().
  void retire(std::unique_ptr<runner> r);
  std::vector<std::unique_ptr<runner>> retiring_;

  explicit worker(worker_options o);
  // Starts connector `name`'s runner (paused when its config says so). REQUIRES: mu_ held.
  void launch(const std::string& name, const config& c);
  std::optional<connect_error> set_paused(const std::string& name, bool paused);
  static connect_error not_found(const std::string& name);

  worker_options o_;
  std::unique_ptr<state_topic> configs_;
  std::unique_ptr<state_topic> offsets_;
  mutable std::mutex mu_;
  std::map<std::string, config> configs_by_name_;
  std::map<std::string, std::unique_ptr<runner>> runners_;
  bool started_ = false;
};

// A config as a JSON object, and back (values as strings; numbers and booleans are taken as
// their text). Nullopt and `err` when it is not an object.
std::string config_to_json(const config& c);
std::optional<config> config_from_json(std::string_view json, std::string& err);

}  // namespace sluice::connect
