#pragma once
// Operators pass batches of elements downstream and the event-time watermark after them; a
// query's operators form a DAG (stream/dataflow.h). Everything here runs on the query's own
// thread. Every operator can write its state into a checkpoint and read it back.
//
// Changelogs. An element is one of:
//   insert  a new row (in an append-only stream, the only kind);
//   upsert  the row of `key` is now `r` (replacing any earlier one);
//   remove  the row of `key` is gone. In a retracting stream `r` is the full row retracted
//           (an update is a remove of the old row, then an insert of the new one); in an
//           upserting stream `r` may be empty or stale and only the key counts.
// Each plan node states which of the three modes it produces (append, upsert, retract;
// EXPLAIN shows it), and an operator that needs retractions (aggregates, joins) reads an
// upserting input through a normalizer that remembers the last row of each key.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "stream/expression.h"
#include "stream/record_decoder.h"
#include "stream/state_codec.h"
#include "stream/value.h"

namespace sluice::stream {

enum class change_op : uint8_t { insert, upsert, remove };

struct element {
  row r;
  row key;         // the row's key for upsert/remove (and keyed inserts); empty for plain appends
  int64_t ts = 0;  // event time, epoch milliseconds
  change_op op = change_op::insert;
};

using element_batch = std::vector<element>;

// What operators report to the query that runs them.
class operator_context {
 public:
  virtual ~operator_context() = default;
  // A row the query cannot process: it goes to the dead-letter topic with the reason.
  virtual void dead_letter(const std::string& reason, const row& r,
                           const std::vector<std::string>& names, int64_t ts) = 0;
  // A record that arrived after the windows it belongs to were closed.
  virtual void late(const row& r, const std::vector<std::string>& names, int64_t ts) = 0;
  // A sink wrote `n` elements.
  virtual void output(size_t n) = 0;
};

class operator_node {
 public:
  virtual ~operator_node() = default;
  // Consumes `batch` (it may be reused as scratch) and passes results downstream.
  virtual void process(element_batch& batch) = 0;
  // Event time has reached `wm`: no element with ts < wm is expected any more.
  virtual void advance_watermark(int64_t wm) {
    if (next_) next_->advance_watermark(wm);
  }
  // Gives the operator a folder for state that may outgrow memory (before restore()).
  virtual result<void> open_state(const std::filesystem::path&) { return {}; }
  // Writes the state into the checkpoint being taken (the query's thread, between batches).
  virtual void snapshot(state_writer&) {}
  virtual void restore(state_reader&) {}
  // The checkpoint holding this operator's snapshot is durable (an exactly-once sink commits
  // the transaction its snapshot prepared).
  virtual void checkpoint_written() {}
  // The query starts, after restore() when there was a checkpoint (an exactly-once sink
  // finishes what the checkpoint prepared and aborts what else it left open).
  virtual void resume() {}
  // One line for EXPLAIN.
  virtual std::string describe() const = 0;
  // Drops state by key that has not been written for `ttl_ms` (state_ttl; operators whose
  // state is bounded by the watermark ignore it). Before open_state().
  virtual void set_state_ttl(int64_t /*ttl_ms*/) {}
  // Rows of state held (groups, open windows, buffered rows), for metrics.
  virtual size_t state_size() const { return 0; }
  // Estimated bytes of that state in memory (stream/memory.h; what a RocksDB store holds does
  // not count), for the query's max_state_bytes and metrics.
  virtual size_t state_bytes() const { return 0; }

  void set_next(operator_node* n) { next_ = n; }
  void set_context(operator_context* c) { ctx_ = c; }

 protected:
  void emit(element_batch& b) {
    if (next_ && !b.empty()) next_->process(b);
  }
  operator_node* next_ = nullptr;
  operator_context* ctx_ = nullptr;
};

using operator_ptr = std::unique_ptr<operator_node>;

// An operator with several inputs (joins, unions): input i arrives through port(i), which
// is what the upstream operator's next is set to. The operator sees the minimum of its
// inputs' watermarks.
class multi_input_operator : public operator_node {
 public:
  explicit multi_input_operator(int inputs);
  ~multi_input_operator() override;
  // REQUIRES: 0 <= i < inputs. port(0) is the operator itself.
  operator_node* port(int i);
  void process(element_batch& batch) final { process_input(0, batch); }
  void advance_watermark(int64_t wm) final { input_watermark(0, wm); }

 protected:
  virtual void process_input(int input, element_batch& batch) = 0;
  // The minimum over the inputs rose to `wm`. By default passes it on.
  virtual void on_watermark(int64_t wm) {
    if (next_) next_->advance_watermark(wm);
  }
  int64_t watermark() const { return watermark_; }

 private:
  class port_node;
  void input_watermark(int input, int64_t wm);
  std::vector<std::unique_ptr<port_node>> ports_;
  std::vector<int64_t> input_wms_;
  int64_t watermark_ = INT64_MIN;
};

// Stateless operators.
// WHERE / HAVING: keeps rows whose predicate is TRUE; an upsert that no longer passes becomes
// a remove of its key. With `retracting` input, a retraction is kept only when its row
// passes (it was let through when inserted); otherwise removes always pass.
operator_ptr make_filter(expression_ptr predicate, std::vector<std::string> input_names,
                         bool retracting = false);
// SELECT list: computes the output columns.
operator_ptr make_project(std::vector<expression_ptr> exprs, std::vector<std::string> input_names);
// TUMBLE/HOP table functions: appends window_start and window_end (one copy of the row per
// window for HOP). `time_column` is the row's event-time column (or -1: the element's ts).
operator_ptr make_window_assign(int time_column, int64_t size_ms, int64_t slide_ms);

// UNION ALL: passes every input's elements on; the watermark is the inputs' minimum. Over
// changelogs (retracting inputs) `key_whole_row` keys every element by its row, so that rows
// of different inputs with the same key stay apart downstream.
operator_ptr make_union(int inputs, bool key_whole_row = false);

class topic_sink;
// Writes each element to a topic as a JSON object (`names` are the keys), or as `encoder`
// writes it; its key (if any) becomes the record key as a JSON object of `key_names` (or as
// `key_encoder` writes the key's values); a remove becomes a tombstone.
operator_ptr make_topic_writer(std::unique_ptr<topic_sink> sink, std::vector<std::string> names,
                               std::vector<std::string> key_names, std::string topic,
                               std::unique_ptr<record_encoder> encoder = nullptr,
                               std::unique_ptr<record_encoder> key_encoder = nullptr);
// Hands each batch to `fn` (continuous SELECT ... EMIT CHANGES, one-off SELECTs).
operator_ptr make_collector(std::function<void(const element_batch&)> fn);

}  // namespace sluice::stream
