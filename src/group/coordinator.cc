#include "group/coordinator.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "base/clock.h"
#include "group/offset_store.h"
#include "log/log.h"
#include "log/record_batch.h"
#include "log/records.h"
#include "log/segment_format.h"

namespace sluice::group {

namespace {

using clock_type = std::chrono::steady_clock;
using deferred = std::vector<std::function<void()>>;

enum class group_state { empty, preparing_rebalance, completing_rebalance, stable };

const char* state_name(group_state s) {
  switch (s) {
    case group_state::empty:
      return "Empty";
    case group_state::preparing_rebalance:
      return "PreparingRebalance";
    case group_state::completing_rebalance:
      return "CompletingRebalance";
    case group_state::stable:
      return "Stable";
  }
  return "Dead";
}

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

  const bytes* metadata_for(const std::string& proto) const {
    for (const auto& p : protocols)
      if (p.name == proto) return &p.metadata;
    return nullptr;
  }
};

struct group_t {
  std::string id;
  group_state state = group_state::empty;
  int32_t generation = 0;
  std::string protocol_type;
  std::string protocol;
  std::string leader;
  std::vector<std::string> order;  // member ids in joining order
  std::map<std::string, member> members;
  std::map<std::string, std::string> instances;               // group.instance.id -> member id
  std::map<std::string, clock_type::time_point> pending_ids;  // MEMBER_ID_REQUIRED, not back yet
  clock_type::time_point rebalance_deadline;
  bool initial_delay = false;
  std::map<topic_partition, committed_offset> offsets;
};

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
std::vector<std::string> subscribed_topics(const bytes& m) {
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

struct coordinator::impl {
  impl(log::log& l, coordinator_config c) : log(l), config(c) {}

  log::log& log;
  coordinator_config config;
  std::shared_ptr<log::partition> offsets_partition;

  mutable std::mutex mu;
  std::map<std::string, group_t> groups;

  std::mutex stop_mu;
  std::condition_variable stop_cv;
  bool stopping = false;
  std::thread ticker;

  static void run(deferred& d) {
    for (auto& f : d)
      f();
  }

  // ---- membership (all REQUIRE mu held) ----

  bool supports(const group_t& g, const join_request& r) const {
    if (r.protocol_type.empty() || r.protocols.empty()) return false;
    if (g.members.empty()) return true;
    if (g.protocol_type != r.protocol_type) return false;
    // Some protocol every member (and the newcomer) supports.
    for (const auto& p : r.protocols) {
      bool everyone = true;
      for (const auto& [id, m] : g.members)
        everyone &= m.metadata_for(p.name) != nullptr || id == r.who.member_id;
      if (everyone) return true;
    }
    return false;
  }

  void add_member(group_t& g, member m, const std::string& protocol_type) {
    if (g.members.empty()) g.protocol_type = protocol_type;
    if (m.instance_id) g.instances[*m.instance_id] = m.id;
    g.order.push_back(m.id);
    g.members.emplace(m.id, std::move(m));
  }

  // Answers a member's waiting JoinGroup and SyncGroup with `e`.
  static void fail_pending(member& m, errc e, deferred& out) {
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

  // Every member with its metadata for the group's protocol, in joining order.
  static std::vector<join_member> member_list(const group_t& g) {
    std::vector<join_member> out;
    for (const auto& id : g.order) {
      const auto& m = g.members.at(id);
      const bytes* md = m.metadata_for(g.protocol);
      out.push_back({id, m.instance_id, md ? *md : bytes{}});
    }
    return out;
  }

  void remove_member(group_t& g, const std::string& id, deferred& out) {
    auto it = g.members.find(id);
    if (it == g.members.end()) return;
    member& m = it->second;
    fail_pending(m, errc::unknown_member_id, out);
    if (m.instance_id) {
      auto inst = g.instances.find(*m.instance_id);
      if (inst != g.instances.end() && inst->second == id) g.instances.erase(inst);
    }
    std::erase(g.order, id);
    if (g.leader == id) g.leader.clear();
    g.members.erase(it);
  }

  void prepare_rebalance(group_t& g, deferred& out) {
    if (g.state == group_state::completing_rebalance) {
      for (auto& [id, m] : g.members)
        if (m.pending_sync)
          out.push_back([f = std::move(m.pending_sync)] {
            sync_result r;
            r.error = errc::rebalance_in_progress;
            f(r);
          });
    }
    bool was_empty = g.state == group_state::empty;
    g.state = group_state::preparing_rebalance;
    int32_t max_rt = 0;
    for (const auto& [id, m] : g.members)
      max_rt = std::max(max_rt, m.rebalance_timeout_ms);
    auto now = clock_type::now();
    g.initial_delay = was_empty;
    g.rebalance_deadline =
        now + std::chrono::milliseconds(
                  was_empty ? std::min(max_rt, config.initial_rebalance_delay_ms) : max_rt);
    spdlog::debug("group {}: rebalancing (generation {}, {} members)", g.id, g.generation,
                  g.members.size());
  }

  // Completes the join phase once every member rejoined (or the deadline passed).
  void maybe_complete_join(group_t& g, deferred& out, bool deadline_passed) {
    if (g.state != group_state::preparing_rebalance) return;
    bool all = true;
    for (const auto& [id, m] : g.members)
      all &= static_cast<bool>(m.pending_join);
    if (!deadline_passed && (!all || g.initial_delay)) return;
    std::vector<std::string> gone;
    for (const auto& [id, m] : g.members)
      if (!m.pending_join) gone.push_back(id);
    for (const auto& id : gone)
      remove_member(g, id, out);
    ++g.generation;
    if (g.members.empty()) {
      g.state = group_state::empty;
      g.protocol.clear();
      g.leader.clear();
      return;
    }
    // The protocol every member supports that most members prefer.
    std::map<std::string, int> votes;
    const auto& first = g.members.at(g.order.front());
    for (const auto& p : first.protocols) {
      bool everyone = true;
      for (const auto& [id, m] : g.members)
        everyone &= m.metadata_for(p.name) != nullptr;
      if (everyone) votes[p.name] = 0;
    }
    for (const auto& [id, m] : g.members)
      for (const auto& p : m.protocols)
        if (votes.contains(p.name)) {
          ++votes[p.name];
          break;
        }
    g.protocol.clear();
    int best = -1;
    for (const auto& p : first.protocols)
      if (votes.contains(p.name) && votes[p.name] > best) {
        best = votes[p.name];
        g.protocol = p.name;
      }
    if (g.leader.empty() || !g.members.contains(g.leader)) g.leader = g.order.front();
    g.state = group_state::completing_rebalance;
    auto now = clock_type::now();
    auto all_members = member_list(g);
    for (auto& [id, m] : g.members) {
      join_result r = current_state(g, id);
      if (id == g.leader) r.members = all_members;
      m.heartbeat_deadline = now + std::chrono::milliseconds(m.session_timeout_ms);
      out.push_back([f = std::move(m.pending_join), r = std::move(r)] { f(r); });
      m.pending_join = nullptr;
    }
    spdlog::info("group {}: generation {} with {} members, protocol {}, leader {}", g.id,
                 g.generation, g.members.size(), g.protocol, g.leader);
  }

  void members_changed(group_t& g, deferred& out) {
    if (g.members.empty()) {
      if (g.state != group_state::empty) {
        ++g.generation;
        g.state = group_state::empty;
        g.protocol.clear();
        g.leader.clear();
      }
      return;
    }
    if (g.state == group_state::stable || g.state == group_state::completing_rebalance)
      prepare_rebalance(g, out);
    maybe_complete_join(g, out, false);
  }

  join_result current_state(const group_t& g, const std::string& member_id) const {
    join_result r;
    r.generation = g.generation;
    r.protocol_type = g.protocol_type;
    r.protocol_name = g.protocol;
    r.leader = g.leader;
    r.member_id = member_id;
    return r;
  }

  void tick() {
    deferred out;
    {
      std::lock_guard lk(mu);
      auto now = clock_type::now();
      for (auto it = groups.begin(); it != groups.end();) {
        group_t& g = it->second;
        std::erase_if(g.pending_ids, [&](const auto& p) { return p.second < now; });
        std::vector<std::string> expired;
        for (const auto& [id, m] : g.members)
          if (!m.pending_join && m.heartbeat_deadline < now) expired.push_back(id);
        for (const auto& id : expired) {
          spdlog::info("group {}: member {} left (session timeout)", g.id, id);
          remove_member(g, id, out);
        }
        if (!expired.empty()) members_changed(g, out);
        if (g.state == group_state::preparing_rebalance && now >= g.rebalance_deadline)
          maybe_complete_join(g, out, true);
        if (g.members.empty() && g.offsets.empty() && g.pending_ids.empty()) {
          it = groups.erase(it);
        } else {
          ++it;
        }
      }
    }
    run(out);
  }

  // ---- offsets ----

  void apply_record(const log::record_view& r) {
    if (!r.key) return;
    auto k = offset_store::decode_key(*r.key);
    if (!k) return;
    if (!r.value) {
      auto g = groups.find(k->first);
      if (g != groups.end()) g->second.offsets.erase(k->second);
      return;
    }
    auto v = offset_store::decode_value(*r.value);
    if (!v) return;
    group_t& g = groups[k->first];
    g.id = k->first;
    g.offsets[k->second] = *v;
  }

  result<void> load() {
    // Compacted, kept forever, small segments so that compaction reaches old commits soon.
    const std::map<std::string, std::string> configs = {
        {"cleanup.policy", "compact"}, {"retention.ms", "-1"}, {"segment.bytes", "16777216"}};
    auto t = log.find_topic(k_offsets_topic);
    if (!t) {
      auto created = log.create_topic(k_offsets_topic, 1, configs);
      if (!created && created.code() != errc::topic_exists) return created.error();
      t = log.find_topic(k_offsets_topic);
    } else if (!t->config().compact()) {
      if (auto r = log.set_topic_config(k_offsets_topic, configs); !r) return r;
    }
    offsets_partition = t->get(0);
    int64_t next = offsets_partition->log_start().value();
    int64_t end = offsets_partition->high_watermark().value();
    size_t records = 0;
    while (next < end) {
      auto r = offsets_partition->read(model::offset(next), 4 << 20);
      if (!r) return r.error();
      if (r->len == 0) break;
      bytes buf(r->len);
      if (auto c = r->copy_to(buf.data()); !c) return c;
      size_t pos = 0;
      int64_t before = next;
      while (pos + log::format::k_batch_header_size <= buf.size()) {
        auto h = log::parse_batch_header(buf.data() + pos);
        if (pos + h.size_bytes() > buf.size()) break;
        if (h.last_offset() >= next) {
          auto res = log::for_each_record(bytes_view(buf.data() + pos, h.size_bytes()),
                                          [&](const log::record_view& rv) {
                                            if (rv.offset < next) return;
                                            apply_record(rv);
                                            ++records;
                                          });
          if (!res) spdlog::warn("{}: skipping a batch: {}", k_offsets_topic, res.error().message);
          next = h.last_offset() + 1;
        }
        pos += h.size_bytes();
      }
      if (next == before) break;  // no progress: a batch larger than the read
    }
    spdlog::info("groups: loaded {} offset records for {} groups", records, groups.size());
    return {};
  }

  // Appends the batch and calls `done` once it is durable (or failed).
  void write_durably(bytes batch, std::function<void(result<void>)> done) {
    auto r = offsets_partition->append(batch, now_ms());
    if (!r) {
      done(r.error());
      return;
    }
    offsets_partition->when_durable(r->last_offset, std::move(done));
  }
};

coordinator::coordinator(std::unique_ptr<impl> i) : impl_(std::move(i)) {}

coordinator::~coordinator() {
  stop();
}

result<std::unique_ptr<coordinator>> coordinator::open(log::log& log, coordinator_config config) {
  auto i = std::make_unique<impl>(log, config);
  if (auto r = i->load(); !r) return r.error();
  std::unique_ptr<coordinator> c(new coordinator(std::move(i)));
  auto* im = c->impl_.get();
  im->ticker = std::thread([im] {
    std::unique_lock lk(im->stop_mu);
    while (!im->stopping) {
      im->stop_cv.wait_for(lk, std::chrono::milliseconds(50), [im] { return im->stopping; });
      if (im->stopping) break;
      lk.unlock();
      im->tick();
      lk.lock();
    }
  });
  return c;
}

void coordinator::stop() {
  {
    std::lock_guard lk(impl_->stop_mu);
    if (impl_->stopping) return;
    impl_->stopping = true;
  }
  impl_->stop_cv.notify_all();
  if (impl_->ticker.joinable()) impl_->ticker.join();
}

void coordinator::join(join_request r, std::function<void(join_result)> done) {
  auto& im = *impl_;
  deferred out;
  auto fail = [&](errc e, std::string member_id = {}) {
    join_result res;
    res.error = e;
    res.member_id = std::move(member_id);
    out.push_back([done, res] { done(res); });
  };
  {
    std::lock_guard lk(im.mu);
    auto now = clock_type::now();
    if (r.group_id.empty()) {
      fail(errc::invalid_group_id);
    } else if (r.session_timeout_ms < im.config.min_session_timeout_ms ||
               r.session_timeout_ms > im.config.max_session_timeout_ms) {
      fail(errc::invalid_session_timeout, r.who.member_id);
    } else {
      group_t& g = im.groups[r.group_id];
      g.id = r.group_id;
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
        im.add_member(g, std::move(m), r.protocol_type);
      };
      std::string id = r.who.member_id;
      bool proceed = true;
      if (!im.supports(g, r)) {
        fail(errc::inconsistent_group_protocol, id);
        proceed = false;
      } else if (id.empty()) {
        id = new_member_id(r.client_id);
        auto known = r.who.instance_id ? g.instances.find(*r.who.instance_id) : g.instances.end();
        if (r.who.instance_id && known != g.instances.end()) {
          // A static member back with a new id: it takes over its old place (and assignment);
          // whoever still holds the old id is fenced.
          std::string old_id = known->second;
          member m = std::move(g.members.at(old_id));
          impl::fail_pending(m, errc::fenced_instance_id, out);
          bool unchanged = same_protocols(m.protocols, r.protocols);
          g.members.erase(old_id);
          std::replace(g.order.begin(), g.order.end(), old_id, id);
          bool was_leader = g.leader == old_id;
          if (was_leader) g.leader = id;
          m.id = id;
          fill(m);
          g.instances[*r.who.instance_id] = id;
          g.members.emplace(id, std::move(m));
          if (g.state == group_state::stable && unchanged &&
              (!was_leader || r.supports_skip_assignment)) {
            // No rebalance: the member syncs and gets the assignment it had. A leader learns
            // the members but is told not to assign again.
            auto res = im.current_state(g, id);
            if (was_leader) {
              res.skip_assignment = true;
              res.members = impl::member_list(g);
            }
            out.push_back([done, res] { done(res); });
            proceed = false;
          }
        } else if (!r.who.instance_id && r.require_known_member_id) {
          g.pending_ids[id] = now + std::chrono::milliseconds(r.session_timeout_ms);
          fail(errc::member_id_required, id);
          proceed = false;
        } else {
          admit(id);
        }
      } else {
        auto inst = r.who.instance_id ? g.instances.find(*r.who.instance_id) : g.instances.end();
        auto it = g.members.find(id);
        if (r.who.instance_id && inst != g.instances.end() && inst->second != id) {
          fail(errc::fenced_instance_id, id);
          proceed = false;
        } else if (it != g.members.end()) {
          bool unchanged = same_protocols(it->second.protocols, r.protocols);
          fill(it->second);
          if (g.state == group_state::stable && unchanged && id != g.leader) {
            auto res = im.current_state(g, id);
            out.push_back([done, res] { done(res); });
            proceed = false;
          }
        } else if (g.pending_ids.erase(id) > 0) {
          admit(id);
        } else {
          fail(errc::unknown_member_id, id);
          proceed = false;
        }
      }
      if (proceed) {
        g.members.at(id).pending_join = std::move(done);
        if (g.state != group_state::preparing_rebalance) im.prepare_rebalance(g, out);
        im.maybe_complete_join(g, out, false);
      }
    }
  }
  impl::run(out);
}

void coordinator::sync(sync_request r, std::function<void(sync_result)> done) {
  auto& im = *impl_;
  deferred out;
  auto reply = [&](errc e, const group_t* g = nullptr, bytes assignment = {}) {
    sync_result res;
    res.error = e;
    if (g) {
      res.protocol_type = g->protocol_type;
      res.protocol_name = g->protocol;
    }
    res.assignment = std::move(assignment);
    out.push_back([done, res] { done(res); });
  };
  {
    std::lock_guard lk(im.mu);
    auto git = im.groups.find(r.group_id);
    member* m = nullptr;
    if (git != im.groups.end()) {
      auto mit = git->second.members.find(r.who.member_id);
      if (mit != git->second.members.end()) m = &mit->second;
    }
    if (!m) {
      reply(errc::unknown_member_id);
    } else {
      group_t& g = git->second;
      auto inst = r.who.instance_id ? g.instances.find(*r.who.instance_id) : g.instances.end();
      if (r.who.instance_id && inst != g.instances.end() && inst->second != r.who.member_id) {
        reply(errc::fenced_instance_id);
      } else if (r.generation != g.generation) {
        reply(errc::illegal_generation);
      } else if ((r.protocol_type && *r.protocol_type != g.protocol_type) ||
                 (r.protocol_name && *r.protocol_name != g.protocol)) {
        reply(errc::inconsistent_group_protocol);
      } else if (g.state == group_state::preparing_rebalance) {
        reply(errc::rebalance_in_progress);
      } else if (g.state == group_state::stable) {
        reply(errc::ok, &g, m->assignment);
      } else if (g.state == group_state::completing_rebalance) {
        m->heartbeat_deadline =
            clock_type::now() + std::chrono::milliseconds(m->session_timeout_ms);
        m->pending_sync = std::move(done);
        if (r.who.member_id == g.leader) {
          for (auto& [id, mem] : g.members)
            mem.assignment.clear();
          for (auto& [id, a] : r.assignments) {
            auto it = g.members.find(id);
            if (it != g.members.end()) it->second.assignment = std::move(a);
          }
          g.state = group_state::stable;
          for (auto& [id, mem] : g.members) {
            if (!mem.pending_sync) continue;
            sync_result res;
            res.protocol_type = g.protocol_type;
            res.protocol_name = g.protocol;
            res.assignment = mem.assignment;
            out.push_back([f = std::move(mem.pending_sync), res] { f(res); });
            mem.pending_sync = nullptr;
          }
        }
      } else {
        reply(errc::unknown_member_id);
      }
    }
  }
  impl::run(out);
}

errc coordinator::heartbeat(const std::string& group_id, int32_t generation,
                            const member_identity& who) {
  auto& im = *impl_;
  std::lock_guard lk(im.mu);
  auto git = im.groups.find(group_id);
  if (git == im.groups.end()) return errc::unknown_member_id;
  group_t& g = git->second;
  auto inst = who.instance_id ? g.instances.find(*who.instance_id) : g.instances.end();
  if (who.instance_id && inst != g.instances.end() && inst->second != who.member_id)
    return errc::fenced_instance_id;
  auto mit = g.members.find(who.member_id);
  if (mit == g.members.end()) return errc::unknown_member_id;
  mit->second.heartbeat_deadline =
      clock_type::now() + std::chrono::milliseconds(mit->second.session_timeout_ms);
  if (g.state == group_state::preparing_rebalance) return errc::rebalance_in_progress;
  if (generation != g.generation) return errc::illegal_generation;
  return errc::ok;
}

std::vector<errc> coordinator::leave(const std::string& group_id,
                                     const std::vector<member_identity>& who, errc& group_error) {
  auto& im = *impl_;
  std::vector<errc> errors;
  deferred out;
  group_error = errc::ok;
  {
    std::lock_guard lk(im.mu);
    auto git = im.groups.find(group_id);
    if (git == im.groups.end()) {
      group_error = errc::unknown_member_id;
      errors.assign(who.size(), errc::unknown_member_id);
    } else {
      group_t& g = git->second;
      bool changed = false;
      for (const auto& w : who) {
        std::string id = w.member_id;
        errc e = errc::ok;
        if (w.instance_id) {
          auto inst = g.instances.find(*w.instance_id);
          if (inst == g.instances.end()) {
            e = errc::unknown_member_id;
          } else if (!w.member_id.empty() && w.member_id != inst->second) {
            e = errc::fenced_instance_id;
          } else {
            id = inst->second;
          }
        } else if (!g.members.contains(id)) {
          e = errc::unknown_member_id;
        }
        if (e == errc::ok) {
          spdlog::info("group {}: member {} left", g.id, id);
          im.remove_member(g, id, out);
          changed = true;
        }
        errors.push_back(e);
      }
      if (changed) im.members_changed(g, out);
    }
  }
  impl::run(out);
  return errors;
}

void coordinator::commit(commit_request r, std::function<void(errc, partition_errors)> done) {
  auto& im = *impl_;
  partition_errors results;
  log::batch_builder batch;
  std::vector<std::pair<topic_partition, committed_offset>> accepted;
  errc group_error = errc::ok;
  {
    std::lock_guard lk(im.mu);
    if (r.group_id.empty()) {
      group_error = errc::invalid_group_id;
    } else {
      auto git = im.groups.find(r.group_id);
      bool simple = r.generation < 0 && r.who.member_id.empty();
      if (simple) {
        if (git != im.groups.end() && !git->second.members.empty())
          group_error = errc::unknown_member_id;  // the group is in use by members
      } else if (git == im.groups.end()) {
        group_error = errc::unknown_member_id;
      } else {
        group_t& g = git->second;
        auto mit = g.members.find(r.who.member_id);
        auto inst = r.who.instance_id ? g.instances.find(*r.who.instance_id) : g.instances.end();
        if (r.who.instance_id && inst != g.instances.end() && inst->second != r.who.member_id) {
          group_error = errc::fenced_instance_id;
        } else if (mit == g.members.end()) {
          group_error = errc::unknown_member_id;
        } else if (r.generation != g.generation) {
          group_error = errc::illegal_generation;
        } else if (g.state == group_state::completing_rebalance) {
          group_error = errc::rebalance_in_progress;
        } else {
          mit->second.heartbeat_deadline =
              clock_type::now() + std::chrono::milliseconds(mit->second.session_timeout_ms);
        }
      }
    }
    int64_t now = now_ms();
    for (auto& [tp, o] : r.offsets) {
      errc e = group_error;
      if (e == errc::ok) {
        auto t = im.log.find_topic(tp.topic);
        if (!t || !t->get(tp.partition)) {
          e = errc::unknown_topic;
        } else if (static_cast<int32_t>(o.metadata.size()) > im.config.max_metadata_bytes) {
          e = errc::offset_metadata_too_large;
        }
      }
      results.emplace_back(tp, e);
      if (e != errc::ok) continue;
      o.commit_ms = now;
      auto k = offset_store::encode_key(r.group_id, tp);
      auto v = offset_store::encode_value(o);
      batch.add(bytes_view(k), bytes_view(v), now);
      accepted.emplace_back(tp, o);
    }
  }
  if (batch.empty()) {
    done(group_error, std::move(results));
    return;
  }
  auto* im_ptr = impl_.get();
  im.write_durably(batch.build(),
                   [im_ptr, group = r.group_id, accepted = std::move(accepted),
                    results = std::move(results), done = std::move(done)](result<void> ok) mutable {
                     if (ok) {
                       std::lock_guard lk(im_ptr->mu);
                       group_t& g = im_ptr->groups[group];
                       g.id = group;
                       for (auto& [tp, o] : accepted)
                         g.offsets[tp] = o;
                     } else {
                       spdlog::error("groups: commit for {} failed: {}", group, ok.error().message);
                       for (auto& [tp, e] : results)
                         if (e == errc::ok) e = ok.code();
                     }
                     done(errc::ok, std::move(results));
                   });
}

std::vector<std::pair<topic_partition, committed_offset>> coordinator::fetch(
    const std::string& group_id, const std::optional<std::vector<topic_partition>>& which) const {
  auto& im = *impl_;
  std::lock_guard lk(im.mu);
  std::vector<std::pair<topic_partition, committed_offset>> out;
  auto git = im.groups.find(group_id);
  if (!which) {
    if (git != im.groups.end())
      for (const auto& [tp, o] : git->second.offsets)
        out.emplace_back(tp, o);
    return out;
  }
  for (const auto& tp : *which) {
    committed_offset o;
    if (git != im.groups.end()) {
      auto it = git->second.offsets.find(tp);
      if (it != git->second.offsets.end()) o = it->second;
    }
    out.emplace_back(tp, o);
  }
  return out;
}

std::vector<group_overview> coordinator::list() const {
  auto& im = *impl_;
  std::lock_guard lk(im.mu);
  std::vector<group_overview> out;
  for (const auto& [id, g] : im.groups)
    out.push_back({id, g.protocol_type, state_name(g.state)});
  return out;
}

group_description coordinator::describe(const std::string& group_id) const {
  auto& im = *impl_;
  std::lock_guard lk(im.mu);
  group_description d;
  d.group_id = group_id;
  auto git = im.groups.find(group_id);
  if (git == im.groups.end()) {
    d.state = "Dead";
    return d;
  }
  const group_t& g = git->second;
  d.state = state_name(g.state);
  d.protocol_type = g.protocol_type;
  d.protocol = g.protocol;
  for (const auto& id : g.order) {
    const member& m = g.members.at(id);
    const bytes* md = m.metadata_for(g.protocol);
    d.members.push_back(
        {id, m.instance_id, m.client_id, m.client_host, md ? *md : bytes{}, m.assignment});
  }
  return d;
}

errc coordinator::delete_group(const std::string& group_id) {
  auto& im = *impl_;
  log::batch_builder batch;
  {
    std::lock_guard lk(im.mu);
    auto git = im.groups.find(group_id);
    if (git == im.groups.end()) return errc::group_id_not_found;
    if (!git->second.members.empty()) return errc::non_empty_group;
    int64_t now = now_ms();
    for (const auto& [tp, o] : git->second.offsets) {
      auto k = offset_store::encode_key(group_id, tp);
      batch.add(bytes_view(k), std::nullopt, now);
    }
    im.groups.erase(git);
  }
  if (batch.empty()) return errc::ok;
  std::promise<errc> p;
  auto f = p.get_future();
  im.write_durably(batch.build(), [&p](result<void> r) { p.set_value(r.code()); });
  return f.get();
}

partition_errors coordinator::delete_offsets(const std::string& group_id,
                                             const std::vector<topic_partition>& which,
                                             errc& group_error) {
  auto& im = *impl_;
  partition_errors out;
  log::batch_builder batch;
  group_error = errc::ok;
  {
    std::lock_guard lk(im.mu);
    auto git = im.groups.find(group_id);
    if (git == im.groups.end()) {
      group_error = errc::group_id_not_found;
      return out;
    }
    group_t& g = git->second;
    std::set<std::string> subscribed;
    if (g.protocol_type == "consumer")
      for (const auto& [id, m] : g.members)
        if (const bytes* md = m.metadata_for(g.protocol))
          for (auto& t : subscribed_topics(*md))
            subscribed.insert(t);
    int64_t now = now_ms();
    for (const auto& tp : which) {
      if (subscribed.contains(tp.topic)) {
        out.emplace_back(tp, errc::group_subscribed_to_topic);
        continue;
      }
      out.emplace_back(tp, errc::ok);
      if (g.offsets.erase(tp) > 0) {
        auto k = offset_store::encode_key(group_id, tp);
        batch.add(bytes_view(k), std::nullopt, now);
      }
    }
  }
  if (!batch.empty()) {
    std::promise<errc> p;
    auto f = p.get_future();
    im.write_durably(batch.build(), [&p](result<void> r) { p.set_value(r.code()); });
    errc e = f.get();
    if (e != errc::ok)
      for (auto& [tp, pe] : out)
        if (pe == errc::ok) pe = e;
  }
  return out;
}

std::vector<partition_lag> coordinator::lag(const std::string& group_id) const {
  auto offsets = fetch(group_id, std::nullopt);
  std::vector<partition_lag> out;
  for (const auto& [tp, o] : offsets) {
    partition_lag l;
    l.tp = tp;
    l.committed = o.offset;
    auto t = impl_->log.find_topic(tp.topic);
    auto p = t ? t->get(tp.partition) : nullptr;
    if (p) {
      l.end = p->high_watermark().value();
      l.lag = o.offset >= 0 ? std::max<int64_t>(0, l.end - o.offset) : l.end;
    }
    out.push_back(l);
  }
  return out;
}

}  // namespace sluice::group
