#pragma once
// One consumer group's membership: Kafka's classic group protocol as a state machine
// (Empty -> PreparingRebalance -> CompletingRebalance -> Stable) that owns its transitions.
// Private to src/group/; the coordinator routes requests to it.
//
// Thread safety: none; the coordinator calls it under its lock. Completion callbacks are not
// called here: they are appended to a `deferred` list that the caller runs after unlocking.

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "group/coordinator.h"

namespace sluice::group {

using clock_type = std::chrono::steady_clock;
using deferred = std::vector<std::function<void()>>;

class group {
 public:
  explicit group(std::string id) : id_(std::move(id)) {}

  const std::string& id() const { return id_; }
  bool has_members() const { return !members_.empty(); }
  // No members and no member id handed out that may still come back: nothing to keep.
  bool idle() const { return members_.empty() && pending_ids_.empty(); }

  // JoinGroup (REQUIRES: session timeout already checked against the broker's bounds).
  void join(join_request r, std::function<void(join_result)> done, const coordinator_config& config,
            deferred& out);
  void sync(sync_request r, std::function<void(sync_result)> done, deferred& out);
  errc heartbeat(int32_t generation, const member_identity& who);
  // One error per leaving member.
  std::vector<errc> leave(const std::vector<member_identity>& who, const coordinator_config& config,
                          deferred& out);
  // Whether an offset commit by `who` at `generation` is allowed now (a commit outside any
  // membership has generation -1 and an empty member id). Refreshes the member's session.
  errc check_commit(int32_t generation, const member_identity& who);
  // Session timeouts and rebalance deadlines.
  void tick(clock_type::time_point now, const coordinator_config& config, deferred& out);

  group_overview overview() const;
  group_description describe() const;
  // Topics the members subscribed to (consumer protocol only).
  std::vector<std::string> subscribed_topics() const;

 private:
  enum class state { empty, preparing_rebalance, completing_rebalance, stable };
  static const char* state_name(state s);

  struct member {
    std::string id;
    std::optional<std::string> instance_id;
    std::string client_id;
    std::string client_host;
    int32_t session_timeout_ms = 0;
    int32_t rebalance_timeout_ms = 0;
    std::vector<protocol> protocols;
    bytes assignment;
    clock_type::time_point heartbeat_deadline;
    std::function<void(join_result)> pending_join;
    std::function<void(sync_result)> pending_sync;

    const bytes* metadata_for(const std::string& proto) const;
  };

  bool supports(const join_request& r) const;
  void add_member(member m, const std::string& protocol_type);
  static void fail_pending(member& m, errc e, deferred& out);
  std::vector<join_member> member_list() const;
  void remove_member(const std::string& id, deferred& out);
  void prepare_rebalance(const coordinator_config& config, deferred& out);
  void maybe_complete_join(deferred& out, bool deadline_passed);
  void members_changed(const coordinator_config& config, deferred& out);
  join_result current_state(const std::string& member_id) const;
  // A static member back with a new member id takes over its old place. Returns whether the
  // join is answered already (no rebalance needed).
  bool replace_static_member(const join_request& r, const std::string& new_id,
                             const std::function<void(join_result)>& done, deferred& out);
  // Whether `protocols` keep the member's subscription under the group's protocol (for
  // consumers: the same topics; owned partitions and user data may differ).
  bool same_subscription(const member& m, const std::vector<protocol>& protocols) const;
  // errc::fenced_instance_id when `who` names a static instance now held by another member id.
  errc check_instance(const member_identity& who) const;

  const std::string id_;
  state state_ = state::empty;
  int32_t generation_ = 0;
  std::string protocol_type_;
  std::string protocol_;
  std::string leader_;
  std::vector<std::string> order_;  // member ids in joining order
  std::map<std::string, member> members_;
  std::map<std::string, std::string> instances_;               // group.instance.id -> member id
  std::map<std::string, clock_type::time_point> pending_ids_;  // MEMBER_ID_REQUIRED, not back yet
  clock_type::time_point rebalance_deadline_;
  bool initial_delay_ = false;
};

}  // namespace sluice::group
