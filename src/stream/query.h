#pragma once
// A running continuous query: one thread that reads the partitions of all its source topics
// in batches, decodes records into rows, drives the dataflow (stream/dataflow.h) and the
// event-time watermark, routes what it cannot process to the dead-letter topic, and
// checkpoints.
//
// Watermarks: each partition's watermark is the largest event time read from it minus its
// source's delay (bounded out-of-orderness). The query's watermark is the minimum over the
// partitions of every source that are not idle; a partition is idle once it has been read to
// its end and has had no new record for its source's idle_timeout. When every partition is
// idle, the largest partition watermark counts (everything there is has been read).
//
// Checkpoints: source positions, watermarks and every operator's state are written together
// (one blob, CRC-checked, replaced atomically in a checkpoint_store) every checkpoint_interval
// and at stop; a restarted query resumes from its last checkpoint. Topic outputs written after
// that checkpoint are written again after a crash (at-least-once); views are exact.
//
// Partitions: a query reads every partition of its sources, or only `partitions` (a task of a
// query split over several processes, cluster/): the sources are then co-partitioned (the same
// partition count), and the watermark, lag and catching up count the partitions it owns.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/result.h"
#include "metrics/histogram.h"
#include "stream/checkpoint_store.h"
#include "stream/dataflow.h"
#include "stream/io.h"
#include "stream/json_decoder.h"
#include "stream/operator.h"

namespace sluice::stream {

struct query_options {
  std::string name;
  dataflow flow;                                  // with its sink attached to flow.output
  std::string dead_letter_topic;                  // created on first use
  std::unique_ptr<checkpoint_store> checkpoints;  // null: no checkpoints
  std::vector<int32_t> partitions;                // the partitions read; empty: all
  std::filesystem::path state_dir;                // operators' RocksDB stores (empty: memory only)
  std::chrono::milliseconds checkpoint_interval{1'000};
  size_t max_batch_bytes = 1 << 20;  // read per partition per round
  // Event-time alignment of the reads: while catching up, a partition whose newest event time
  // is this far ahead of the slowest partition with a backlog (of any input) waits for it, so
  // a join or window reading a backlog keeps the state a live run would, not a whole input
  // read ahead of the other. Only an order: a round that would read nothing reads them all.
  int64_t read_alignment_ms = 1'000;
  // Estimated bytes of operator state in memory (operator_node::state_bytes) beyond which the
  // query fails, naming the operator that holds the most.
  size_t max_state_bytes = SIZE_MAX;
};

struct query_stats {
  std::string name;
  std::string state;  // RUNNING, FAILED, STOPPED
  std::string error;
  std::string checkpoint_error;  // why the last checkpoint could not be written ("" when it was)
  int64_t records_in = 0;
  int64_t records_out = 0;
  int64_t dead_letters = 0;
  int64_t late_records = 0;
  int64_t watermark = INT64_MIN;  // INT64_MIN: none yet
  int64_t lag = 0;                // records in the sources not read yet
  int64_t state_rows = 0;
  int64_t state_bytes = 0;  // estimated, in memory (operator_node::state_bytes)
  // End-to-end latency: for each batch of records read from a partition, the wall-clock time
  // when the operators (sink included) were done with it minus the Kafka timestamp of its
  // oldest record (so it includes the time the records waited in the topic).
  std::shared_ptr<const metrics::histogram> latency;
};

// A continuous query as its owner sees it: one stream::query, or the tasks of one query that
// several processes share (cluster/task_group.h).
class running_query {
 public:
  virtual ~running_query() = default;
  // Starts it. Errors: unknown_topic, io_error (its checkpoint cannot be read).
  virtual result<void> start() = 0;
  // Stops it; writes a last checkpoint when `checkpoint` (not on DROP).
  virtual void stop(bool checkpoint = true) = 0;
  virtual query_stats stats() const = 0;
  // Waits until the query has read its sources to the end and finished two more rounds after
  // (so that the watermark those records allow has been applied). False on timeout. For tests
  // and tools.
  virtual bool wait_caught_up(std::chrono::milliseconds timeout) const = 0;
  virtual std::string explain() const = 0;
};

class query final : public running_query, private operator_context {
 public:
  query(topic_io& io, query_options options);
  ~query() override;  // stop()
  query(const query&) = delete;
  query& operator=(const query&) = delete;

  // Opens the sources, restores the checkpoint if there is one, and starts the thread.
  result<void> start() override;
  void stop(bool checkpoint = true) override;
  query_stats stats() const override;
  bool wait_caught_up(std::chrono::milliseconds timeout) const override;
  std::string explain() const override;
  const std::string& name() const { return o_.name; }

 private:
  struct partition_state {
    int64_t position = 0;
    int64_t max_ts = INT64_MIN;
    int64_t last_data_ms = 0;  // wall clock of the last record read (or of the start)
    bool owned = true;         // read by this query (query_options::partitions)
  };
  // One source topic of the dataflow.
  struct input {
    const source_spec* spec = nullptr;
    std::vector<operator_node*> heads;
    std::unique_ptr<topic_source> source;
    std::unique_ptr<record_decoder> decoder;
    std::unique_ptr<record_decoder> key_decoder;     // tables with a key format: tombstones' keys
    std::unique_ptr<json_decoder> json_key_decoder;  // tables: JSON tombstone keys
    std::vector<partition_state> parts;
    std::vector<int64_t> positions_pub;  // under status_mu_
  };

  void run();
  bool poll_once();
  // Reads the owned partitions of `in` whose event time is within `limit` (alignment_limit),
  // or, with `waiting`, those beyond it.
  bool poll_input(input& in, int64_t now, int64_t limit, bool waiting);
  int64_t alignment_limit() const;
  // Reads and decodes what partition `p` has from its position on; whether anything came.
  bool decode_partition(input& in, int32_t p, int64_t now);
  void deliver(input& in);
  bool caught_up() const;
  void update_watermark(int64_t now);
  // Publishes the operators' state rows and bytes; throws when the bytes are over the limit.
  void measure_state();
  void flush_dead_letters();
  void write_checkpoint();
  bool read_checkpoint(std::string_view blob);
  bool owns(int32_t p) const;
  void dead_letter(const std::string& reason, const row& r, const std::vector<std::string>& names,
                   int64_t ts) override;
  void late(const row& r, const std::vector<std::string>& names, int64_t ts) override;
  void send_to_dead_letters(const std::string& reason, const row& r,
                            const std::vector<std::string>& names, int64_t ts);
  void output(size_t n) override { records_out_ += static_cast<int64_t>(n); }
  void dead_letter_bytes(const input& in, const std::string& reason,
                         std::optional<std::string_view> key, std::optional<std::string_view> value,
                         int32_t p, int64_t offset, int64_t ts);

  topic_io& io_;
  query_options o_;
  std::vector<input> inputs_;
  std::shared_ptr<wakeup> wake_ = std::make_shared<wakeup>();  // shared by the sources
  std::string topics_;  // the source topics, comma-separated (dead letters' sluice.topic)
  std::unique_ptr<topic_sink> dlq_;
  int64_t watermark_ = INT64_MIN;
  element_batch batch_;
  bytes buf_;
  // Kept between checkpoints with their capacity: a state of megabytes serialized every
  // interval is not allocated, grown and faulted in again each time.
  state_writer checkpoint_;
  std::vector<state_writer> op_states_;
  std::vector<output_record> dead_;
  bool dirty_ = false;
  std::chrono::steady_clock::time_point last_checkpoint_;
  std::chrono::steady_clock::time_point last_measure_;  // of measure_state()

  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> records_in_{0}, records_out_{0}, dead_letters_{0}, late_{0};
  std::atomic<int64_t> watermark_pub_{INT64_MIN};
  std::atomic<uint64_t> rounds_{0};  // finished loop rounds
  std::atomic<int64_t> state_rows_{0};
  std::atomic<int64_t> state_bytes_{0};
  std::shared_ptr<metrics::histogram> latency_ = std::make_shared<metrics::histogram>();
  std::atomic<bool> caught_up_{false};
  mutable std::mutex status_mu_;
  std::string state_ = "CREATED";
  std::string error_;
  std::string checkpoint_error_;
};

}  // namespace sluice::stream
