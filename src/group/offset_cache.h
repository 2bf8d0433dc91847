#pragma once
// Committed offsets of every group: the map in memory, the records of __consumer_offsets on
// disk (format in offset_store.h). Rebuilt from the topic at start-up; a commit is applied
// once its batch is durable. Offsets committed inside a transaction are staged per producer
// and applied (or dropped) when the producer's marker is written. Private to src/group/.
//
// Thread safety: every member may be called from any thread (one mutex). Completion callbacks
// run on the calling thread or the log's flusher thread and must only hand work off.

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/result.h"
#include "group/coordinator.h"
#include "log/partition.h"

namespace sluice::log {
class log;
}

namespace sluice::group {

using offset_list = std::vector<std::pair<topic_partition, committed_offset>>;

class offset_cache {
 public:
  // Opens __consumer_offsets (creating it, compacted, if needed) and replays it.
  static result<std::unique_ptr<offset_cache>> open(log::log& log);

  // Writes the offsets; they are visible once durable, when `done` is called.
  void commit(const std::string& group, offset_list offsets,
              std::function<void(result<void>)> done);
  // Writes the offsets in the transaction of `producer_id` at `epoch`; they are visible once
  // its commit marker is written (end_transaction). Errors: invalid_producer_epoch, io_error.
  void commit_in_transaction(int64_t producer_id, int16_t epoch, const std::string& group,
                             offset_list offsets, std::function<void(result<void>)> done);
  // Writes the producer's marker and applies (commit) or drops (abort) what it staged.
  // `done` once the marker is durable.
  void end_transaction(int64_t producer_id, int16_t epoch, log::control_type type,
                       int32_t coordinator_epoch, std::function<void(result<void>)> done);
  // Deletes the offsets of `group` (all of them, or those in `which`); waits until the
  // tombstones are durable. Returns whether the group had offsets.
  result<bool> erase(const std::string& group,
                     const std::optional<std::vector<topic_partition>>& which);

  offset_list get(const std::string& group,
                  const std::optional<std::vector<topic_partition>>& which) const;
  // Whether a transaction not yet ended staged an offset of `group` for `tp`.
  bool pending(const std::string& group, const topic_partition& tp) const;
  bool has_group(const std::string& group) const;
  std::vector<std::string> groups() const;

  static constexpr const char* k_topic = "__consumer_offsets";

 private:
  explicit offset_cache(std::shared_ptr<log::partition> p) : partition_(std::move(p)) {}
  result<void> replay();
  void apply(const std::string& group, const topic_partition& tp,
             std::optional<committed_offset> o);  // REQUIRES: mu_ held; nullopt erases
  void write_durably(bytes batch, std::function<void(result<void>)> done);

  using staged_key = std::pair<std::string, topic_partition>;

  std::shared_ptr<log::partition> partition_;
  mutable std::mutex mu_;
  std::map<std::string, std::map<topic_partition, committed_offset>, std::less<>> offsets_;
  // Producer id -> offsets its open transaction committed (nullopt: a tombstone).
  std::map<int64_t, std::map<staged_key, committed_offset>> staged_;
};

}  // namespace sluice::group
