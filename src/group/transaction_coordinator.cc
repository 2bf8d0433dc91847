#include "group/transaction_coordinator.h"

#include <spdlog/spdlog.h>

#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "base/all_done.h"
#include "base/clock.h"
#include "group/offset_cache.h"
#include "group/transaction_log.h"
#include "log/internal_topic.h"
#include "log/log.h"
#include "log/records.h"
#include "log/replay.h"

namespace sluice::group {

namespace {

struct txn {
  txn_record rec;
  bool busy = false;  // a state write or a completion is in flight
};

bool preparing(txn_state s) {
  return s == txn_state::prepare_commit || s == txn_state::prepare_abort ||
         s == txn_state::prepare_epoch_fence;
}

const topic_partition k_offsets_partition{offset_cache::k_topic, 0};

}  // namespace

struct transaction_coordinator::impl : std::enable_shared_from_this<impl> {
  impl(log::log& l, coordinator& g, transaction_config c) : log(l), groups(g), config(c) {}

  log::log& log;
  coordinator& groups;
  const transaction_config config;
  std::shared_ptr<log::partition> state_partition;

  // Taken through `locked` wherever state may be written (a write's answer may come at once);
  // the read-only paths (check_produce on every transactional Produce, commit_offsets' check,
  // describe, list) take it plainly.
  mutable std::mutex mu;
  std::map<std::string, txn> txns;
  std::unordered_map<int64_t, std::string> by_producer;
  std::vector<std::function<void()>> deferred;  // run by `locked` once it releases mu

  std::mutex stop_mu;
  std::condition_variable stop_cv;
  bool stopping = false;
  std::thread ticker;

  // Holds mu for a scope. A state write's callback takes mu, and log::partition::when_durable
  // calls it at once when the data is already on disk (or the partition failed): on the thread
  // that holds mu, it waits in `deferred` until this guard has released mu.
  class locked {
   public:
    explicit locked(impl& i) : impl_(i), lock_(i.mu), outer_(holder) { holder = &i; }
    ~locked() {
      holder = outer_;
      auto later = std::move(impl_.deferred);
      impl_.deferred.clear();
      lock_.unlock();
      for (auto& f : later)
        f();
    }
    locked(const locked&) = delete;
    locked& operator=(const locked&) = delete;

   private:
    impl& impl_;
    std::unique_lock<std::mutex> lock_;
    impl* outer_;
  };
  static thread_local impl* holder;

  // Runs `f` once this thread does not hold mu: now, or when its `locked` scope ends.
  void after_unlock(std::function<void()> f) {
    if (holder == this)
      deferred.push_back(std::move(f));
    else
      f();
  }

  result<void> load() {
    auto p = log::open_internal_topic(log, k_topic);
    if (!p) return p.error();
    state_partition = std::move(*p);
    locked lk(*this);
    auto batches =
        log::replay_partition(*state_partition, [&](const log::batch_header&, bytes_view batch) {
          auto r = log::for_each_record(batch, [&](const log::record_view& rv) {
            if (!rv.key) return;
            auto id = transaction_log::decode_key(*rv.key);
            if (!id) return;
            if (!rv.value) {
              forget(*id);
              return;
            }
            if (auto rec = transaction_log::decode_value(*rv.value)) remember(*id, *rec);
          });
          if (!r) spdlog::warn("{}: skipping a batch: {}", k_topic, r.error().message);
        });
    if (!batches) return batches.error();
    spdlog::info("transactions: loaded {} transactional ids", txns.size());
    return {};
  }

  // REQUIRES: mu held.
  void remember(const std::string& id, const txn_record& rec) {
    auto& t = txns[id];
    if (t.rec.producer_id >= 0 && t.rec.producer_id != rec.producer_id)
      by_producer.erase(t.rec.producer_id);
    t.rec = rec;
    by_producer[rec.producer_id] = id;
  }
  void forget(const std::string& id) {
    auto it = txns.find(id);
    if (it == txns.end()) return;
    by_producer.erase(it->second.rec.producer_id);
    txns.erase(it);
  }

  // Appends the state of `id` and calls `done` once it is durable. REQUIRES: mu held.
  void write(const std::string& id, txn_record& rec, all_done::callback done) {
    rec.update_ms = now_ms();
    log::batch_builder b;
    auto k = transaction_log::encode_key(id);
    auto v = transaction_log::encode_value(rec);
    b.add(bytes_view(k), bytes_view(v), rec.update_ms);
    auto batch = b.build();
    auto r = state_partition->append(batch, rec.update_ms);
    if (!r) {
      spdlog::error("transactions: writing the state of {} failed: {}", id, r.error().message);
      done(r.error());
      return;
    }
    state_partition->when_durable(r->last_offset, std::move(done));
  }

  // Writes `t`'s state and answers `done` once durable, clearing `busy`. REQUIRES: mu held.
  void write_then(const std::string& id, txn& t, std::function<void(errc)> done) {
    t.busy = true;
    write(id, t.rec,
          [self = shared_from_this(), id, done = std::move(done)](result<void> r) mutable {
            self->after_unlock([self, id = std::move(id), done = std::move(done), e = r.code()] {
              {
                locked lk(*self);
                if (auto it = self->txns.find(id); it != self->txns.end()) it->second.busy = false;
              }
              done(e);
            });
          });
  }

  errc check_owner(const txn& t, producer_identity who) const {
    if (t.rec.producer_id != who.producer_id) return errc::invalid_producer_id_mapping;
    if (who.epoch != t.rec.epoch) return errc::producer_fenced;
    return errc::ok;
  }

  // Starts completing `t` (REQUIRES: mu held, its state a Prepare one): the Prepare state and
  // a marker in every partition of the transaction, all made durable in one round; then the
  // Complete state. The caller seals the returned join after unlocking.
  std::shared_ptr<all_done> start_completion(const std::string& id, txn& t,
                                             std::function<void(errc)> done) {
    t.busy = true;
    const auto type = t.rec.state == txn_state::prepare_commit ? log::control_type::commit
                                                               : log::control_type::abort;
    auto join = all_done::start(
        [self = shared_from_this(), id, type, done = std::move(done)](result<void> r) {
          self->completed(id, type, r);
          if (done) done(r.code());
        });
    const int64_t pid = t.rec.producer_id;
    const int16_t epoch = t.rec.epoch;
    log::sync_batch syncs(log);
    write(id, t.rec, join->part());
    for (const auto& tp : t.rec.partitions) {
      if (tp == k_offsets_partition) {
        groups.offsets().end_transaction(pid, epoch, type, 0, join->part());
        continue;
      }
      auto topic = log.find_topic(tp.topic);
      auto p = topic ? topic->get(tp.partition) : nullptr;
      if (!p) continue;  // deleted since: nothing to close
      auto r = p->append_marker(pid, epoch, type, 0, now_ms());
      if (!r) {
        if (r.code() != errc::unknown_topic) join->fail(r.error());
        continue;
      }
      p->when_durable(r->last_offset, join->part());
    }
    return join;
  }

  void completed(const std::string& id, log::control_type type, const result<void>& r) {
    locked lk(*this);
    auto it = txns.find(id);
    if (it == txns.end()) return;
    txn& t = it->second;
    t.busy = false;
    if (!r) {
      // Stays in its Prepare state; the timer tries again.
      spdlog::error("transactions: completing {} failed: {}", id, r.error().message);
      return;
    }
    t.rec.state =
        type == log::control_type::commit ? txn_state::complete_commit : txn_state::complete_abort;
    t.rec.partitions.clear();
    t.rec.start_ms = -1;
    // Not waited for: if it is lost, the Prepare state completes again at start-up.
    write(id, t.rec, [](result<void>) {});
  }

  // Aborts the open transaction of `t` with a bumped epoch (fencing its producer).
  // REQUIRES: mu held, t ongoing and not busy.
  std::shared_ptr<all_done> fence_and_abort(const std::string& id, txn& t,
                                            std::function<void(errc)> done) {
    t.rec.epoch = static_cast<int16_t>(t.rec.epoch + 1);
    t.rec.state = txn_state::prepare_abort;
    return start_completion(id, t, std::move(done));
  }

  // Forgets a transactional id idle past transactional.id.expiration.ms (a tombstone in the
  // state topic). REQUIRES: mu held; the id neither busy nor in a transaction.
  void expire(const std::string& id) {
    spdlog::info("transactions: {} expired after {} ms without use", id, config.id_expiration_ms);
    log::batch_builder b;
    auto k = transaction_log::encode_key(id);
    b.add(bytes_view(k), std::nullopt, now_ms());
    auto batch = b.build();
    if (auto r = state_partition->append(batch, now_ms()); !r)
      spdlog::warn("transactions: forgetting {}: {}", id, r.error().message);
  }

  void tick() {
    std::vector<std::shared_ptr<all_done>> joins;
    {
      locked lk(*this);
      const int64_t now = now_ms();
      std::vector<std::string> expired;
      for (auto& [id, t] : txns) {
        if (t.busy) continue;
        const bool idle = t.rec.state == txn_state::empty ||
                          t.rec.state == txn_state::complete_commit ||
                          t.rec.state == txn_state::complete_abort;
        if (idle && now - t.rec.update_ms > config.id_expiration_ms) {
          expired.push_back(id);
          continue;
        }
        if (t.rec.state == txn_state::ongoing && now - t.rec.start_ms > t.rec.timeout_ms) {
          spdlog::info("transactions: {} timed out after {} ms: aborting it", id, t.rec.timeout_ms);
          joins.push_back(fence_and_abort(id, t, nullptr));
        } else if (preparing(t.rec.state)) {
          if (t.rec.state == txn_state::prepare_epoch_fence) t.rec.state = txn_state::prepare_abort;
          joins.push_back(start_completion(id, t, nullptr));
        }
      }
      for (const auto& id : expired) {
        expire(id);
        forget(id);
      }
    }
    for (auto& j : joins)
      j->seal();
  }
};

thread_local transaction_coordinator::impl* transaction_coordinator::impl::holder = nullptr;

transaction_coordinator::transaction_coordinator(std::shared_ptr<impl> i) : impl_(std::move(i)) {}

transaction_coordinator::~transaction_coordinator() {
  stop();
}

result<std::unique_ptr<transaction_coordinator>> transaction_coordinator::open(
    log::log& log, coordinator& groups, transaction_config config) {
  auto i = std::make_shared<impl>(log, groups, config);
  if (auto r = i->load(); !r) return r.error();
  i->tick();  // completes what a stop left in a Prepare state
  std::unique_ptr<transaction_coordinator> c(new transaction_coordinator(i));
  auto* im = i.get();
  im->ticker = std::thread([im] {
    std::unique_lock lk(im->stop_mu);
    while (!im->stopping) {
      im->stop_cv.wait_for(lk, std::chrono::milliseconds(im->config.timeout_check_interval_ms),
                           [im] { return im->stopping; });
      if (im->stopping) break;
      lk.unlock();
      im->tick();
      lk.lock();
    }
  });
  return c;
}

void transaction_coordinator::stop() {
  {
    std::lock_guard lk(impl_->stop_mu);
    if (impl_->stopping) return;
    impl_->stopping = true;
  }
  impl_->stop_cv.notify_all();
  if (impl_->ticker.joinable()) impl_->ticker.join();
}

int32_t transaction_coordinator::max_timeout_ms() const {
  return impl_->config.max_timeout_ms;
}

void transaction_coordinator::init_producer(const std::string& id, int32_t timeout_ms,
                                            producer_identity expected,
                                            std::function<void(init_producer_result)> done) {
  auto& im = *impl_;
  auto fail = [&](errc e) { done(init_producer_result{e, {}}); };
  if (timeout_ms <= 0 || timeout_ms > im.config.max_timeout_ms)
    return fail(errc::invalid_transaction_timeout);
  std::shared_ptr<all_done> join;
  {
    impl::locked lk(im);
    auto it = im.txns.find(id);
    if (it == im.txns.end()) {
      txn_record rec;
      rec.producer_id = im.log.allocate_producer_id();
      rec.epoch = 0;
      rec.timeout_ms = timeout_ms;
      im.remember(id, rec);
      it = im.txns.find(id);
    } else {
      txn& t = it->second;
      if (t.busy || preparing(t.rec.state)) return fail(errc::concurrent_transactions);
      if (expected.producer_id >= 0 &&
          (expected.producer_id != t.rec.producer_id || expected.epoch != t.rec.epoch))
        return fail(errc::producer_fenced);
      t.rec.timeout_ms = timeout_ms;
      if (t.rec.state == txn_state::ongoing) {
        // The previous instance left a transaction open: abort it under a new epoch, which
        // fences that instance, and hand the new epoch to this one.
        auto answer = [done, pid = t.rec.producer_id,
                       epoch = static_cast<int16_t>(t.rec.epoch + 1)](errc e) {
          done(init_producer_result{
              e, e == errc::ok ? producer_identity{pid, epoch} : producer_identity{}});
        };
        join = im.fence_and_abort(id, t, std::move(answer));
      } else if (t.rec.epoch >= INT16_MAX - 1) {
        im.by_producer.erase(t.rec.producer_id);
        t.rec.producer_id = im.log.allocate_producer_id();
        t.rec.epoch = 0;
        im.by_producer[t.rec.producer_id] = id;
      } else {
        t.rec.epoch = static_cast<int16_t>(t.rec.epoch + 1);
      }
      if (!join) t.rec.state = txn_state::empty;
    }
    if (!join) {
      txn& t = it->second;
      producer_identity p{t.rec.producer_id, t.rec.epoch};
      im.write_then(id, t, [done, p](errc e) {
        done(init_producer_result{e, e == errc::ok ? p : producer_identity{}});
      });
    }
  }
  if (join) join->seal();
}

void transaction_coordinator::add_partitions(const std::string& id, producer_identity who,
                                             std::vector<topic_partition> partitions,
                                             done_fn done) {
  auto& im = *impl_;
  impl::locked lk(im);
  auto it = im.txns.find(id);
  if (it == im.txns.end()) return done(errc::invalid_producer_id_mapping);
  txn& t = it->second;
  if (auto e = im.check_owner(t, who); e != errc::ok) return done(e);
  if (t.busy || preparing(t.rec.state)) return done(errc::concurrent_transactions);
  if (t.rec.state != txn_state::ongoing) {
    t.rec.state = txn_state::ongoing;
    t.rec.start_ms = now_ms();
    t.rec.partitions.clear();
  }
  bool added = false;
  for (auto& tp : partitions)
    added |= t.rec.partitions.insert(std::move(tp)).second;
  if (!added) return done(errc::ok);
  im.write_then(id, t, std::move(done));
}

void transaction_coordinator::add_offsets(const std::string& id, producer_identity who,
                                          const std::string& group_id, done_fn done) {
  if (group_id.empty()) return done(errc::invalid_group_id);
  add_partitions(id, who, {k_offsets_partition}, std::move(done));
}

void transaction_coordinator::commit_offsets(
    const std::string& id, producer_identity who, const std::string& group_id, int32_t generation,
    member_identity member, std::vector<std::pair<topic_partition, committed_offset>> offsets,
    std::function<void(errc, partition_errors)> done) {
  auto& im = *impl_;
  auto fail_all = [&](errc e) {
    partition_errors errors;
    for (const auto& [tp, o] : offsets)
      errors.emplace_back(tp, e);
    done(e, std::move(errors));
  };
  {
    std::lock_guard lk(im.mu);
    auto it = im.txns.find(id);
    if (it == im.txns.end()) return fail_all(errc::invalid_producer_id_mapping);
    const txn& t = it->second;
    if (auto e = im.check_owner(t, who); e != errc::ok) return fail_all(e);
    if (t.rec.state != txn_state::ongoing || !t.rec.partitions.contains(k_offsets_partition))
      return fail_all(errc::invalid_txn_state);
  }
  if (generation >= 0 || !member.member_id.empty()) {
    if (auto e = im.groups.check_membership(group_id, generation, member); e != errc::ok)
      return fail_all(e);
  }
  partition_errors results;
  offset_list accepted;
  const int64_t now = now_ms();
  for (auto& [tp, o] : offsets) {
    auto topic = im.log.find_topic(tp.topic);
    errc e = topic && topic->get(tp.partition) ? errc::ok : errc::unknown_topic;
    results.emplace_back(tp, e);
    if (e != errc::ok) continue;
    o.commit_ms = now;
    accepted.emplace_back(tp, std::move(o));
  }
  if (accepted.empty()) return done(errc::ok, std::move(results));
  im.groups.offsets().commit_in_transaction(
      who.producer_id, who.epoch, group_id, std::move(accepted),
      [results = std::move(results), done = std::move(done)](result<void> r) mutable {
        if (!r)
          for (auto& [tp, e] : results)
            if (e == errc::ok) e = r.code();
        done(errc::ok, std::move(results));
      });
}

void transaction_coordinator::end_transaction(const std::string& id, producer_identity who,
                                              bool commit, done_fn done) {
  auto& im = *impl_;
  std::shared_ptr<all_done> join;
  {
    impl::locked lk(im);
    auto it = im.txns.find(id);
    if (it == im.txns.end()) return done(errc::invalid_producer_id_mapping);
    txn& t = it->second;
    if (auto e = im.check_owner(t, who); e != errc::ok) return done(e);
    const auto s = t.rec.state;
    if (t.busy && s == txn_state::ongoing) return done(errc::concurrent_transactions);
    switch (s) {
      case txn_state::ongoing:
        t.rec.state = commit ? txn_state::prepare_commit : txn_state::prepare_abort;
        join = im.start_completion(id, t, std::move(done));
        break;
      case txn_state::prepare_commit:
        return done(commit ? errc::concurrent_transactions : errc::invalid_txn_state);
      case txn_state::prepare_abort:
      case txn_state::prepare_epoch_fence:
        return done(commit ? errc::invalid_txn_state : errc::concurrent_transactions);
      case txn_state::complete_commit:  // a retry of what completed
        return done(commit ? errc::ok : errc::invalid_txn_state);
      case txn_state::complete_abort:
        return done(commit ? errc::invalid_txn_state : errc::ok);
      case txn_state::empty:
      case txn_state::dead:
        return done(errc::invalid_txn_state);
    }
  }
  if (join) join->seal();
}

errc transaction_coordinator::check_produce(producer_identity who,
                                            const topic_partition& tp) const {
  auto& im = *impl_;
  std::lock_guard lk(im.mu);
  auto id = im.by_producer.find(who.producer_id);
  if (id == im.by_producer.end()) return errc::invalid_producer_id_mapping;
  const txn& t = im.txns.at(id->second);
  if (who.epoch < t.rec.epoch) return errc::producer_fenced;
  if (t.rec.state != txn_state::ongoing || !t.rec.partitions.contains(tp))
    return errc::invalid_txn_state;
  return errc::ok;
}

transaction_description transaction_coordinator::describe(const std::string& id) const {
  auto& im = *impl_;
  std::lock_guard lk(im.mu);
  transaction_description d;
  d.transactional_id = id;
  auto it = im.txns.find(id);
  if (it == im.txns.end()) {
    d.error = errc::transactional_id_not_found;
    return d;
  }
  const auto& r = it->second.rec;
  d.state = txn_state_name(r.state);
  d.timeout_ms = r.timeout_ms;
  d.start_ms = r.start_ms;
  d.producer = {r.producer_id, r.epoch};
  d.partitions.assign(r.partitions.begin(), r.partitions.end());
  return d;
}

std::vector<transaction_overview> transaction_coordinator::list(
    const std::vector<std::string>& states, const std::vector<int64_t>& producer_ids) const {
  auto& im = *impl_;
  std::lock_guard lk(im.mu);
  std::vector<transaction_overview> out;
  for (const auto& [id, t] : im.txns) {
    std::string state = txn_state_name(t.rec.state);
    if (!states.empty() && std::find(states.begin(), states.end(), state) == states.end()) continue;
    if (!producer_ids.empty() && std::find(producer_ids.begin(), producer_ids.end(),
                                           t.rec.producer_id) == producer_ids.end())
      continue;
    out.push_back({id, t.rec.producer_id, std::move(state)});
  }
  return out;
}

}  // namespace sluice::group
