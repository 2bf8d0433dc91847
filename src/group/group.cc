#include "group/group.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <random>

#include "base/bytes.h"

namespace sluice::group {

namespace {

std::string new_member_id(const std::string& client_id) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  char buf[40];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(rng()),
                static_cast<unsigned long long>(rng()));
  return (client_id.empty() ? std::string("member") : client_id) + "-" + buf;
}

bool same_protocols(const std::vector<protocol>& a, const std::vector<protocol>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].name != b[i].name || a[i].metadata != b[i].metadata) return false;
  return true;
}

// Topics named by a consumer-protocol subscription (version, [topic], ...), if it parses.
std::vector<std::string> topics_of_subscription(const bytes& m) {
  std::vector<std::string> out;
  if (m.size() < 6) return out;
  size_t pos = 2;
  auto n = static_cast<int32_t>(load_be32(m.data() + pos));
  pos += 4;
  for (int32_t i = 0; i < n && pos + 2 <= m.size(); ++i) {
    size_t len = load_be16(m.data() + pos);
    pos += 2;
    if (pos + len > m.size()) break;
    out.emplace_back(reinterpret_cast<const char*>(m.data() + pos), len);
    pos += len;
  }
  return out;
}

}  // namespace

const char* group::state_name(state s) {
  switch (s) {
    case state::empty:
      return "Empty";
    case state::preparing_rebalance:
      return "PreparingRebalance";
    case state::completing_rebalance:
      return "CompletingRebalance";
    case state::stable:
      return "Stable";
  }
  return "Dead";
}

const bytes* group::member::metadata_for(const std::string& proto) const {
  for (const auto& p : protocols)
    if (p.name == proto) return &p.metadata;
  return nullptr;
}

bool group::supports(const join_request& r) const {
  if (r.protocol_type.empty() || r.protocols.empty()) return false;
  if (members_.empty()) return true;
  if (protocol_type_ != r.protocol_type) return false;
  // Some protocol every member (and the newcomer) supports.
  for (const auto& p : r.protocols) {
    bool everyone = true;
    for (const auto& [id, m] : members_)
      everyone &= m.metadata_for(p.name) != nullptr || id == r.who.member_id;
    if (everyone) return true;
  }
  return false;
}

void group::add_member(member m, const std::string& protocol_type) {
  if (members_.empty()) protocol_type_ = protocol_type;
  if (m.instance_id) instances_[*m.instance_id] = m.id;
  order_.push_back(m.id);
  members_.emplace(m.id, std::move(m));
}

void group::fail_pending(member& m, errc e, deferred& out) {
  if (m.pending_join)
    out.push_back([f = std::move(m.pending_join), e, id = m.id] {
      join_result r;
      r.error = e;
      r.member_id = id;
      f(r);
    });
  if (m.pending_sync)
    out.push_back([f = std::move(m.pending_sync), e] {
      sync_result r;
      r.error = e;
      f(r);
    });
  m.pending_join = nullptr;
  m.pending_sync = nullptr;
}

std::vector<join_member> group::member_list() const {
  std::vector<join_member> out;
  for (const auto& id : order_) {
    const auto& m = members_.at(id);
    const bytes* md = m.metadata_for(protocol_);
    out.push_back({id, m.instance_id, md ? *md : bytes{}});
  }
  return out;
}

void group::remove_member(const std::string& id, deferred& out) {
  auto it = members_.find(id);
  if (it == members_.end()) return;
  member& m = it->second;
  fail_pending(m, errc::unknown_member_id, out);
  if (m.instance_id) {
    auto inst = instances_.find(*m.instance_id);
    if (inst != instances_.end() && inst->second == id) instances_.erase(inst);
  }
  std::erase(order_, id);
  if (leader_ == id) leader_.clear();
  members_.erase(it);
}

void group::prepare_rebalance(const coordinator_config& config, deferred& out) {
  if (state_ == state::completing_rebalance) {
    for (auto& [id, m] : members_)
      if (m.pending_sync)
        out.push_back([f = std::move(m.pending_sync)] {
          sync_result r;
          r.error = errc::rebalance_in_progress;
          f(r);
        });
  }
  bool was_empty = state_ == state::empty;
  state_ = state::preparing_rebalance;
  int32_t max_rt = 0;
  for (const auto& [id, m] : members_)
    max_rt = std::max(max_rt, m.rebalance_timeout_ms);
  initial_delay_ = was_empty;
  rebalance_deadline_ =
      clock_type::now() +
      std::chrono::milliseconds(was_empty ? std::min(max_rt, config.initial_rebalance_delay_ms)
                                          : max_rt);
  spdlog::debug("group {}: rebalancing (generation {}, {} members)", id_, generation_,
                members_.size());
}

void group::maybe_complete_join(deferred& out, bool deadline_passed) {
  if (state_ != state::preparing_rebalance) return;
  bool all = true;
  for (const auto& [id, m] : members_)
    all &= static_cast<bool>(m.pending_join);
  if (!deadline_passed && (!all || initial_delay_)) return;
  std::vector<std::string> gone;
  for (const auto& [id, m] : members_)
    if (!m.pending_join) gone.push_back(id);
  for (const auto& id : gone)
    remove_member(id, out);
  ++generation_;
  if (members_.empty()) {
    state_ = state::empty;
    protocol_.clear();
    leader_.clear();
    return;
  }
  // The protocol every member supports that most members prefer.
  std::map<std::string, int> votes;
  const auto& first = members_.at(order_.front());
  for (const auto& p : first.protocols) {
    bool everyone = true;
    for (const auto& [id, m] : members_)
      everyone &= m.metadata_for(p.name) != nullptr;
    if (everyone) votes[p.name] = 0;
  }
  for (const auto& [id, m] : members_)
    for (const auto& p : m.protocols)
      if (votes.contains(p.name)) {
        ++votes[p.name];
        break;
      }
  protocol_.clear();
  int best = -1;
  for (const auto& p : first.protocols)
    if (votes.contains(p.name) && votes[p.name] > best) {
      best = votes[p.name];
      protocol_ = p.name;
    }
  if (leader_.empty() || !members_.contains(leader_)) leader_ = order_.front();
  state_ = state::completing_rebalance;
  auto now = clock_type::now();
  auto all_members = member_list();
  for (auto& [id, m] : members_) {
    join_result r = current_state(id);
    if (id == leader_) r.members = all_members;
    m.heartbeat_deadline = now + std::chrono::milliseconds(m.session_timeout_ms);
    out.push_back([f = std::move(m.pending_join), r = std::move(r)] { f(r); });
    m.pending_join = nullptr;
  }
  spdlog::info("group {}: generation {} with {} members, protocol {}, leader {}", id_, generation_,
               members_.size(), protocol_, leader_);
}

void group::members_changed(const coordinator_config& config, deferred& out) {
  if (members_.empty()) {
    if (state_ != state::empty) {
      ++generation_;
      state_ = state::empty;
      protocol_.clear();
      leader_.clear();
    }
    return;
  }
  if (state_ == state::stable || state_ == state::completing_rebalance)
    prepare_rebalance(config, out);
  maybe_complete_join(out, false);
}

join_result group::current_state(const std::string& member_id) const {
  join_result r;
  r.generation = generation_;
  r.protocol_type = protocol_type_;
  r.protocol_name = protocol_;
  r.leader = leader_;
  r.member_id = member_id;
  return r;
}

errc group::check_instance(const member_identity& who) const {
  if (!who.instance_id) return errc::ok;
  auto inst = instances_.find(*who.instance_id);
  return inst != instances_.end() && inst->second != who.member_id ? errc::fenced_instance_id
                                                                   : errc::ok;
}

bool group::same_subscription(const member& m, const std::vector<protocol>& protocols) const {
  const bytes* before = m.metadata_for(protocol_);
  const bytes* after = nullptr;
  for (const auto& p : protocols)
    if (p.name == protocol_) after = &p.metadata;
  if (!before || !after) return false;  // the group's protocol is no longer offered
  if (protocol_type_ != "consumer") return *before == *after;
  // Consumers: the topics, not the bytes (owned partitions and user data change on a restart).
  auto a = topics_of_subscription(*before), b = topics_of_subscription(*after);
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  return a == b;
}

bool group::replace_static_member(const join_request& r, const std::string& id,
                                  const std::function<void(join_result)>& done, deferred& out) {
  std::string old_id = instances_.at(*r.who.instance_id);
  member m = std::move(members_.at(old_id));
  fail_pending(m, errc::fenced_instance_id, out);
  const bool unchanged = same_subscription(m, r.protocols);
  members_.erase(old_id);
  std::replace(order_.begin(), order_.end(), old_id, id);
  bool was_leader = leader_ == old_id;
  if (was_leader) leader_ = id;
  m.id = id;
  m.client_id = r.client_id;
  m.client_host = r.client_host;
  m.session_timeout_ms = r.session_timeout_ms;
  m.rebalance_timeout_ms = r.rebalance_timeout_ms;
  m.protocols = r.protocols;
  m.heartbeat_deadline = clock_type::now() + std::chrono::milliseconds(r.session_timeout_ms);
  instances_[*r.who.instance_id] = id;
  members_.emplace(id, std::move(m));
  if (state_ == state::stable && unchanged) {
    // No rebalance (as Kafka): the member syncs and gets the assignment it had. A leader
    // learns the members; one that knows KIP-814 is told not to assign again, an older one
    // assigns, and its SyncGroup in the stable group answers with what it had.
    auto res = current_state(id);
    if (was_leader) {
      res.skip_assignment = r.supports_skip_assignment;
      res.members = member_list();
    }
    out.push_back([done, res] { done(res); });
    return true;
  }
  return false;
}

void group::join(join_request r, std::function<void(join_result)> done,
                 const coordinator_config& config, deferred& out) {
  auto fail = [&](errc e, std::string member_id) {
    join_result res;
    res.error = e;
    res.member_id = std::move(member_id);
    out.push_back([done, res] { done(res); });
  };
  auto now = clock_type::now();
  if (r.rebalance_timeout_ms <= 0) r.rebalance_timeout_ms = r.session_timeout_ms;
  auto fill = [&](member& m) {
    m.client_id = r.client_id;
    m.client_host = r.client_host;
    m.session_timeout_ms = r.session_timeout_ms;
    m.rebalance_timeout_ms = r.rebalance_timeout_ms;
    m.protocols = r.protocols;
    m.heartbeat_deadline = now + std::chrono::milliseconds(r.session_timeout_ms);
  };
  auto admit = [&](const std::string& member_id) {
    member m;
    m.id = member_id;
    m.instance_id = r.who.instance_id;
    fill(m);
    add_member(std::move(m), r.protocol_type);
  };
  std::string id = r.who.member_id;
  if (!supports(r)) return fail(errc::inconsistent_group_protocol, id);
  if (id.empty()) {
    id = new_member_id(r.client_id);
    if (r.who.instance_id && instances_.contains(*r.who.instance_id)) {
      if (replace_static_member(r, id, done, out)) return;
    } else if (!r.who.instance_id && r.require_known_member_id) {
      pending_ids_[id] = now + std::chrono::milliseconds(r.session_timeout_ms);
      return fail(errc::member_id_required, id);
    } else {
      admit(id);
    }
  } else {
    auto it = members_.find(id);
    if (check_instance(r.who) != errc::ok) return fail(errc::fenced_instance_id, id);
    if (it != members_.end()) {
      bool unchanged = same_protocols(it->second.protocols, r.protocols);
      fill(it->second);
      if (state_ == state::stable && unchanged && id != leader_) {
        auto res = current_state(id);
        out.push_back([done, res] { done(res); });
        return;
      }
    } else if (pending_ids_.erase(id) > 0) {
      admit(id);
    } else {
      return fail(errc::unknown_member_id, id);
    }
  }
  members_.at(id).pending_join = std::move(done);
  if (state_ != state::preparing_rebalance) prepare_rebalance(config, out);
  maybe_complete_join(out, false);
}

void group::sync(sync_request r, std::function<void(sync_result)> done, deferred& out) {
  auto reply = [&](errc e, bytes assignment = {}) {
    sync_result res;
    res.error = e;
    if (e == errc::ok) {
      res.protocol_type = protocol_type_;
      res.protocol_name = protocol_;
    }
    res.assignment = std::move(assignment);
    out.push_back([done, res] { done(res); });
  };
  auto mit = members_.find(r.who.member_id);
  if (mit == members_.end()) return reply(errc::unknown_member_id);
  member& m = mit->second;
  if (check_instance(r.who) != errc::ok) return reply(errc::fenced_instance_id);
  if (r.generation != generation_) return reply(errc::illegal_generation);
  if ((r.protocol_type && *r.protocol_type != protocol_type_) ||
      (r.protocol_name && *r.protocol_name != protocol_))
    return reply(errc::inconsistent_group_protocol);
  if (state_ == state::preparing_rebalance) return reply(errc::rebalance_in_progress);
  if (state_ == state::stable) return reply(errc::ok, m.assignment);
  if (state_ != state::completing_rebalance) return reply(errc::unknown_member_id);
  m.heartbeat_deadline = clock_type::now() + std::chrono::milliseconds(m.session_timeout_ms);
  m.pending_sync = std::move(done);
  if (r.who.member_id != leader_) return;
  for (auto& [id, mem] : members_)
    mem.assignment.clear();
  for (auto& [id, a] : r.assignments) {
    auto it = members_.find(id);
    if (it != members_.end()) it->second.assignment = std::move(a);
  }
  state_ = state::stable;
  for (auto& [id, mem] : members_) {
    if (!mem.pending_sync) continue;
    sync_result res;
    res.protocol_type = protocol_type_;
    res.protocol_name = protocol_;
    res.assignment = mem.assignment;
    out.push_back([f = std::move(mem.pending_sync), res] { f(res); });
    mem.pending_sync = nullptr;
  }
}

errc group::heartbeat(int32_t generation, const member_identity& who) {
  if (auto e = check_instance(who); e != errc::ok) return e;
  auto mit = members_.find(who.member_id);
  if (mit == members_.end()) return errc::unknown_member_id;
  mit->second.heartbeat_deadline =
      clock_type::now() + std::chrono::milliseconds(mit->second.session_timeout_ms);
  if (state_ == state::preparing_rebalance) return errc::rebalance_in_progress;
  if (generation != generation_) return errc::illegal_generation;
  return errc::ok;
}

std::vector<errc> group::leave(const std::vector<member_identity>& who,
                               const coordinator_config& config, deferred& out) {
  std::vector<errc> errors;
  bool changed = false;
  for (const auto& w : who) {
    std::string id = w.member_id;
    errc e = errc::ok;
    if (w.instance_id) {
      auto inst = instances_.find(*w.instance_id);
      if (inst == instances_.end()) {
        e = errc::unknown_member_id;
      } else if (!w.member_id.empty() && w.member_id != inst->second) {
        e = errc::fenced_instance_id;
      } else {
        id = inst->second;
      }
    } else if (!members_.contains(id)) {
      e = errc::unknown_member_id;
    }
    if (e == errc::ok) {
      spdlog::info("group {}: member {} left", id_, id);
      remove_member(id, out);
      changed = true;
    }
    errors.push_back(e);
  }
  if (changed) members_changed(config, out);
  return errors;
}

errc group::check_commit(int32_t generation, const member_identity& who) {
  if (generation < 0 && who.member_id.empty())
    return members_.empty() ? errc::ok : errc::unknown_member_id;  // in use by members
  if (check_instance(who) != errc::ok) return errc::fenced_instance_id;
  auto mit = members_.find(who.member_id);
  if (mit == members_.end()) return errc::unknown_member_id;
  if (generation != generation_) return errc::illegal_generation;
  if (state_ == state::completing_rebalance) return errc::rebalance_in_progress;
  mit->second.heartbeat_deadline =
      clock_type::now() + std::chrono::milliseconds(mit->second.session_timeout_ms);
  return errc::ok;
}

void group::tick(clock_type::time_point now, const coordinator_config& config, deferred& out) {
  std::erase_if(pending_ids_, [&](const auto& p) { return p.second < now; });
  std::vector<std::string> expired;
  for (const auto& [id, m] : members_)
    if (!m.pending_join && m.heartbeat_deadline < now) expired.push_back(id);
  for (const auto& id : expired) {
    spdlog::info("group {}: member {} left (session timeout)", id_, id);
    remove_member(id, out);
  }
  if (!expired.empty()) members_changed(config, out);
  if (state_ == state::preparing_rebalance && now >= rebalance_deadline_)
    maybe_complete_join(out, true);
}

group_overview group::overview() const {
  return {id_, protocol_type_, state_name(state_)};
}

group_description group::describe() const {
  group_description d;
  d.group_id = id_;
  d.state = state_name(state_);
  d.protocol_type = protocol_type_;
  d.protocol = protocol_;
  for (const auto& id : order_) {
    const member& m = members_.at(id);
    const bytes* md = m.metadata_for(protocol_);
    d.members.push_back(
        {id, m.instance_id, m.client_id, m.client_host, md ? *md : bytes{}, m.assignment});
  }
  return d;
}

std::vector<std::string> group::subscribed_topics() const {
  std::vector<std::string> out;
  if (protocol_type_ != "consumer") return out;
  for (const auto& [id, m] : members_)
    if (const bytes* md = m.metadata_for(protocol_))
      for (auto& t : topics_of_subscription(*md))
        out.push_back(std::move(t));
  return out;
}

}  // namespace sluice::group
