#include "group/coordinator.h"

#include <spdlog/spdlog.h>

#include <set>

#include "base/clock.h"
#include "group/coordinator_impl.h"
#include "log/log.h"

namespace sluice::group {

coordinator::coordinator(std::unique_ptr<impl> i) : impl_(std::move(i)) {}

coordinator::~coordinator() {
  stop();
}

result<std::unique_ptr<coordinator>> coordinator::open(log::log& log, coordinator_config config) {
  auto i = std::make_unique<impl>(log, config);
  auto offsets = offset_cache::open(log);
  if (!offsets) return offsets.error();
  i->offsets = std::move(*offsets);
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

offset_cache& coordinator::offsets() {
  return *impl_->offsets;
}

void coordinator::join(join_request r, std::function<void(join_result)> done) {
  auto& im = *impl_;
  deferred out;
  auto fail = [&](errc e, std::string member_id) {
    join_result res;
    res.error = e;
    res.member_id = std::move(member_id);
    out.push_back([done, res] { done(res); });
  };
  {
    std::lock_guard lk(im.mu);
    if (r.group_id.empty()) {
      fail(errc::invalid_group_id, {});
    } else if (r.session_timeout_ms < im.config.min_session_timeout_ms ||
               r.session_timeout_ms > im.config.max_session_timeout_ms) {
      fail(errc::invalid_session_timeout, r.who.member_id);
    } else {
      auto id = r.group_id;
      im.get(id).join(std::move(r), std::move(done), im.config, out);
    }
  }
  impl::run(out);
}

void coordinator::sync(sync_request r, std::function<void(sync_result)> done) {
  auto& im = *impl_;
  deferred out;
  {
    std::lock_guard lk(im.mu);
    if (group* g = im.find(r.group_id)) {
      g->sync(std::move(r), std::move(done), out);
    } else {
      sync_result res;
      res.error = errc::unknown_member_id;
      out.push_back([done, res] { done(res); });
    }
  }
  impl::run(out);
}

errc coordinator::heartbeat(const std::string& group_id, int32_t generation,
                            const member_identity& who) {
  auto& im = *impl_;
  std::lock_guard lk(im.mu);
  group* g = im.find(group_id);
  return g ? g->heartbeat(generation, who) : errc::unknown_member_id;
}

std::vector<errc> coordinator::leave(const std::string& group_id,
                                     const std::vector<member_identity>& who, errc& group_error) {
  auto& im = *impl_;
  std::vector<errc> errors;
  deferred out;
  group_error = errc::ok;
  {
    std::lock_guard lk(im.mu);
    if (group* g = im.find(group_id)) {
      errors = g->leave(who, im.config, out);
    } else {
      group_error = errc::unknown_member_id;
      errors.assign(who.size(), errc::unknown_member_id);
    }
  }
  impl::run(out);
  return errors;
}

errc coordinator::check_membership(const std::string& group_id, int32_t generation,
                                   const member_identity& who) {
  if (group_id.empty()) return errc::invalid_group_id;
  auto& im = *impl_;
  std::lock_guard lk(im.mu);
  if (group* g = im.find(group_id)) return g->check_commit(generation, who);
  bool simple = generation < 0 && who.member_id.empty();
  return simple ? errc::ok : errc::unknown_member_id;
}

void coordinator::commit(commit_request r, std::function<void(errc, partition_errors)> done) {
  auto& im = *impl_;
  partition_errors results;
  offset_list accepted;
  errc group_error = check_membership(r.group_id, r.generation, r.who);
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
    accepted.emplace_back(tp, o);
  }
  if (accepted.empty()) {
    done(group_error, std::move(results));
    return;
  }
  im.offsets->commit(r.group_id, std::move(accepted),
                     [group = r.group_id, results = std::move(results),
                      done = std::move(done)](result<void> ok) mutable {
                       if (!ok) {
                         spdlog::error("groups: commit for {} failed: {}", group,
                                       ok.error().message);
                         for (auto& [tp, e] : results)
                           if (e == errc::ok) e = ok.code();
                       }
                       done(errc::ok, std::move(results));
                     });
}

errc coordinator::delete_group(const std::string& group_id) {
  auto& im = *impl_;
  bool had_members = false;
  {
    std::lock_guard lk(im.mu);
    group* g = im.find(group_id);
    if (g && g->has_members()) return errc::non_empty_group;
    had_members = g != nullptr;
    if (g) im.groups.erase(group_id);
  }
  auto had_offsets = im.offsets->erase(group_id, std::nullopt);
  if (!had_offsets) return had_offsets.code();
  return had_members || *had_offsets ? errc::ok : errc::group_id_not_found;
}

partition_errors coordinator::delete_offsets(const std::string& group_id,
                                             const std::vector<topic_partition>& which,
                                             errc& group_error) {
  auto& im = *impl_;
  partition_errors out;
  group_error = errc::ok;
  std::set<std::string> subscribed;
  {
    std::lock_guard lk(im.mu);
    group* g = im.find(group_id);
    if (!g && !im.offsets->has_group(group_id)) {
      group_error = errc::group_id_not_found;
      return out;
    }
    if (g)
      for (auto& t : g->subscribed_topics())
        subscribed.insert(std::move(t));
  }
  std::vector<topic_partition> doomed;
  for (const auto& tp : which) {
    bool in_use = subscribed.contains(tp.topic);
    out.emplace_back(tp, in_use ? errc::group_subscribed_to_topic : errc::ok);
    if (!in_use) doomed.push_back(tp);
  }
  if (doomed.empty()) return out;
  auto r = im.offsets->erase(group_id, doomed);
  if (!r)
    for (auto& [tp, pe] : out)
      if (pe == errc::ok) pe = r.code();
  return out;
}

}  // namespace sluice::group
