#pragma once
// The group coordinator: Kafka's classic consumer-group protocol (JoinGroup, SyncGroup,
// Heartbeat, LeaveGroup) and committed offsets. The public entry point of src/group/.
//
// The coordinator is assignment-agnostic, as Kafka's: the leader member computes the
// assignment (range, roundrobin, cooperative-sticky all work) and the coordinator only moves
// opaque metadata and assignments between members. Committed offsets are records of the
// internal topic __consumer_offsets (format in offset_store.h); a commit is answered once it
// is on disk, and the map is rebuilt from the topic at start-up. Membership is kept in
// memory: after a broker restart members rejoin (they get UNKNOWN_MEMBER_ID and do so).
//
// Thread safety: every member may be called from any thread. Completion callbacks run on the
// calling thread, the coordinator's timer thread or the log's flusher thread, and must only
// hand work off.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"

namespace sluice::log {
class log;
}

namespace sluice::group {

class offset_cache;

struct coordinator_config {
  // group.initial.rebalance.delay.ms: how long the first rebalance of an empty group waits
  // for more members. Default: 300 ms (Kafka's is 3000).
  int32_t initial_rebalance_delay_ms = 300;
  // group.min.session.timeout.ms / group.max.session.timeout.ms. Default: 1000 / 1800000.
  int32_t min_session_timeout_ms = 1000;
  int32_t max_session_timeout_ms = 1'800'000;
  // offset.metadata.max.bytes. Default: 4096.
  int32_t max_metadata_bytes = 4096;
};

struct protocol {
  std::string name;
  bytes metadata;
};

struct member_identity {
  std::string member_id;
  std::optional<std::string> instance_id;  // group.instance.id of a static member
};

struct join_request {
  std::string group_id;
  member_identity who;
  std::string client_id;
  std::string client_host;
  int32_t session_timeout_ms = 0;
  int32_t rebalance_timeout_ms = 0;
  std::string protocol_type;
  std::vector<protocol> protocols;
  bool require_known_member_id = false;   // JoinGroup v4+
  bool supports_skip_assignment = false;  // JoinGroup v9+ (KIP-814)
};

struct join_member {
  std::string member_id;
  std::optional<std::string> instance_id;
  bytes metadata;
};

struct join_result {
  errc error = errc::ok;
  int32_t generation = -1;
  std::string protocol_type;
  std::string protocol_name;
  std::string leader;
  std::string member_id;
  std::vector<join_member> members;  // filled for the leader only
  // A static leader that rejoined a stable group: it gets the members but must not compute a
  // new assignment (only with supports_skip_assignment; otherwise the group rebalances).
  bool skip_assignment = false;
};

struct sync_request {
  std::string group_id;
  int32_t generation = -1;
  member_identity who;
  std::optional<std::string> protocol_type;
  std::optional<std::string> protocol_name;
  std::vector<std::pair<std::string, bytes>> assignments;  // from the leader
};

struct sync_result {
  errc error = errc::ok;
  std::string protocol_type;
  std::string protocol_name;
  bytes assignment;
};

struct topic_partition {
  std::string topic;
  int32_t partition = 0;
  auto operator<=>(const topic_partition&) const = default;
};

struct committed_offset {
  int64_t offset = -1;
  int32_t leader_epoch = -1;
  std::string metadata;
  int64_t commit_ms = 0;
};

struct commit_request {
  std::string group_id;
  int32_t generation = -1;  // -1 with an empty member id: a commit outside any membership
  member_identity who;
  std::vector<std::pair<topic_partition, committed_offset>> offsets;
};

using partition_errors = std::vector<std::pair<topic_partition, errc>>;

struct group_overview {
  std::string group_id;
  std::string protocol_type;
  std::string state;
};

struct member_description {
  std::string member_id;
  std::optional<std::string> instance_id;
  std::string client_id;
  std::string client_host;
  bytes metadata;
  bytes assignment;
};

struct group_description {
  errc error = errc::ok;
  std::string group_id;
  std::string state;  // Empty, PreparingRebalance, CompletingRebalance, Stable, Dead
  std::string protocol_type;
  std::string protocol;
  std::vector<member_description> members;
};

struct partition_lag {
  topic_partition tp;
  int64_t committed = -1;
  int64_t end = -1;     // high watermark
  int64_t stable = -1;  // last stable offset: where read_committed consumers stop
  int64_t lag = 0;      // records a read_committed consumer can still read: stable - committed
};

class coordinator {
 public:
  // Loads committed offsets from __consumer_offsets (creating the topic if needed) and
  // starts the timer thread (session timeouts, rebalance deadlines).
  static result<std::unique_ptr<coordinator>> open(log::log& log, coordinator_config config);
  ~coordinator();  // stop()
  coordinator(const coordinator&) = delete;
  coordinator& operator=(const coordinator&) = delete;

  void join(join_request r, std::function<void(join_result)> done);
  void sync(sync_request r, std::function<void(sync_result)> done);
  errc heartbeat(const std::string& group_id, int32_t generation, const member_identity& who);
  // One error per member; `group_error` is set when the group itself is unknown.
  std::vector<errc> leave(const std::string& group_id, const std::vector<member_identity>& who,
                          errc& group_error);
  // Whether `who` at `generation` may commit offsets for the group now (generation -1 with an
  // empty member id: a commit outside any membership, refused while the group has members).
  errc check_membership(const std::string& group_id, int32_t generation,
                        const member_identity& who);
  // Answers once the offsets are on disk (or failed).
  void commit(commit_request r, std::function<void(errc group_error, partition_errors)> done);
  // Committed offsets of the group: all of them, or those in `which` (offset -1 when none).
  std::vector<std::pair<topic_partition, committed_offset>> fetch(
      const std::string& group_id, const std::optional<std::vector<topic_partition>>& which) const;
  // Whether an open transaction committed an offset of the group for `tp` (OffsetFetch with
  // require_stable answers UNSTABLE_OFFSET_COMMIT until it ends).
  bool unstable(const std::string& group_id, const topic_partition& tp) const;
  std::vector<group_overview> list() const;
  group_description describe(const std::string& group_id) const;
  // errc::group_id_not_found, errc::non_empty_group. Waits for the tombstones to be on disk.
  errc delete_group(const std::string& group_id);
  partition_errors delete_offsets(const std::string& group_id,
                                  const std::vector<topic_partition>& which, errc& group_error);
  // Committed offset, end offset and lag of every partition the group committed.
  std::vector<partition_lag> lag(const std::string& group_id) const;

  void stop();

  // The committed offsets (for the transaction coordinator, which stages and ends
  // transactional commits there).
  offset_cache& offsets();

  static constexpr const char* k_offsets_topic = "__consumer_offsets";

 private:
  struct impl;
  explicit coordinator(std::unique_ptr<impl> i);
  std::unique_ptr<impl> impl_;
};

}  // namespace sluice::group
