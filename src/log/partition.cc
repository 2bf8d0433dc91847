#include "log/partition.h"

#include "log/space_guard.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "base/file.h"
#include "log/flusher.h"
#include "log/record_batch.h"
#include "log/records.h"
#include "log/segment.h"
#include "log/segment_format.h"

namespace sluice::log {

namespace fs = std::filesystem;
using namespace format;

namespace {

// Offsets named by files with `suffix` in `dir` (segment bases, snapshot offsets), ascending.
std::vector<int64_t> offsets_with_suffix(const fs::path& dir, std::string_view suffix) {
  std::vector<int64_t> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    auto name = e.path().filename().string();
    if (name.size() != 20 + suffix.size() || !name.ends_with(suffix)) continue;
    auto digits = std::string_view(name).substr(0, 20);
    if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
      continue;
    out.push_back(std::stoll(std::string(digits)));
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

result<void> read_result::copy_to(uint8_t* dst) const {
  if (len == 0) return {};
  return pread_full(seg->fd(), dst, len, pos, seg->path());
}

int read_result::file_descriptor() const {
  return seg ? seg->fd() : -1;
}

partition::partition(fs::path dir, model::partition_id id, topic_config config, flusher* flusher)
    : dir_(std::move(dir)), id_(id), flusher_(flusher), config_(std::move(config)) {}

partition::~partition() = default;

result<std::shared_ptr<partition>> partition::open(fs::path dir, model::partition_id id,
                                                   topic_config config, bool clean,
                                                   flusher* flusher) {
  std::shared_ptr<partition> p(new partition(std::move(dir), id, std::move(config), flusher));
  if (auto r = p->load(clean); !r) return r.error();
  return p;
}

result<void> partition::load(bool clean) {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) return make_error(errc::io_error, "create " + dir_.string() + ": " + ec.message());

  // A compaction that was cut short leaves its unfinished copy behind.
  for (const auto& e : fs::directory_iterator(dir_, ec))
    if (e.path().extension() == ".cleaned") fs::remove(e.path(), ec);
  auto bases = offsets_with_suffix(dir_, k_log_suffix);
  int64_t rp = bases.empty() ? 0 : bases.front();
  if (auto data = read_file(dir_ / k_recovery_point_file); data && data->size() == 8)
    rp = static_cast<int64_t>(load_be64(data->data()));
  if (clean) rp = INT64_MAX;
  recovery_point_ = rp;

  auto interval = static_cast<uint32_t>(config_.index_interval_bytes);
  bool truncated = false;
  for (size_t i = 0; i < bases.size(); ++i) {
    int64_t base = bases[i];
    if (truncated) {
      // Everything after a torn segment is suspect; Kafka drops it too.
      spdlog::warn("{}: removing segment {} after a truncated one", dir_.string(), base);
      fs::remove(segment::file_path(dir_, base, k_log_suffix), ec);
      fs::remove(segment::file_path(dir_, base, k_index_suffix), ec);
      fs::remove(segment::file_path(dir_, base, k_time_index_suffix), ec);
      continue;
    }
    // The last segment is always checked after an unclean stop; earlier ones from the
    // recovery point on (those whose data may not have reached the disk).
    bool recover = !clean && (base >= rp || i + 1 == bases.size());
    auto seg = segment::open(dir_, base, interval,
                             recover ? segment::open_mode::recover : segment::open_mode::trusted);
    if (!seg) return seg.error();
    if ((*seg)->truncated_on_open()) {
      spdlog::warn("{}: truncated a torn or corrupt tail of segment {} at byte {}", dir_.string(),
                   base, (*seg)->size());
      truncated = true;
      if (auto r = (*seg)->sync(); !r) return r;
    }
    if (recover && i + 1 < bases.size())
      if (auto r = (*seg)->write_indexes(); !r) return r;
    segments_.emplace(base, std::move(*seg));
  }
  if (segments_.empty()) {
    auto seg = segment::create(dir_, 0, interval);
    if (!seg) return seg.error();
    segments_.emplace(0, std::move(*seg));
    dir_dirty_ = true;
  }
  active_ = segments_.rbegin()->second;
  next_offset_ = active_->next_offset();
  log_start_ = segments_.begin()->first;
  if (auto data = read_file(dir_ / k_log_start_file); data && data->size() == 8) {
    auto stored = static_cast<int64_t>(load_be64(data->data()));
    if (stored > log_start_ && stored <= next_offset_) log_start_ = stored;
  }
  durable_offset_ = next_offset_;

  // Producer state: the newest valid snapshot at or below the end of the log, then the
  // headers of every batch after it.
  int64_t replay_from = log_start_;
  for (auto off : offsets_with_suffix(dir_, k_producers_suffix)) {
    auto path = segment::file_path(dir_, off, k_producers_suffix);
    if (off > next_offset_) {
      fs::remove(path, ec);  // describes data that was truncated away
      continue;
    }
    if (auto data = read_file(path); data) {
      if (auto s = producer_state::deserialize(*data); s) {
        producers_ = std::move(*s);
        replay_from = off;
      }
    }
  }
  for (auto& [base, seg] : segments_) {
    if (seg->next_offset() <= replay_from) continue;
    auto r = seg->visit_headers(replay_from,
                                [this](const batch_header& h, std::optional<control_type> marker) {
                                  producers_.record(h, marker);
                                });
    if (!r) return r;
  }
  producers_.trim(log_start_);
  return {};
}

result<void> partition::write_producer_snapshot(int64_t at) const {
  auto data = producers_.serialize();
  if (auto r = write_file_atomic(segment::file_path(dir_, at, k_producers_suffix), data, false); !r)
    return r;
  // Keep the two newest snapshots.
  auto offs = offsets_with_suffix(dir_, k_producers_suffix);
  std::error_code ec;
  for (size_t i = 0; i + 2 < offs.size(); ++i)
    fs::remove(segment::file_path(dir_, offs[i], k_producers_suffix), ec);
  return {};
}

result<void> partition::roll(int64_t /*now*/) {
  if (auto r = active_->write_indexes(); !r) return r;
  auto seg =
      segment::create(dir_, next_offset_, static_cast<uint32_t>(config_.index_interval_bytes));
  if (!seg) return seg.error();
  if (auto r = write_producer_snapshot(next_offset_); !r)
    spdlog::warn("{}: {}", dir_.string(), r.error().message);
  active_ = *seg;
  segments_.emplace(next_offset_, std::move(*seg));
  dir_dirty_ = true;
  // Get the sealed segment onto the disk soon so that the recovery point can move past it.
  schedule_flush_locked();
  return {};
}

result<append_result> partition::append(std::span<uint8_t> batch, int64_t now) {
  auto h = validate_batch(batch);  // CRC over the batch, outside the lock
  if (!h) return h.error();
  if (h->control())
    return make_error(errc::invalid_record, "control batches are written by the broker only");
  if (h->transactional() && h->producer_id < 0)
    return make_error(errc::invalid_record, "a transactional batch without a producer id");

  std::unique_lock lk(mu_);
  if (deleted_) return make_error(errc::unknown_topic, "the topic was deleted");
  if (!failed_.empty()) return make_error(errc::io_error, "the partition failed: " + failed_);
  if (static_cast<int64_t>(batch.size()) > config_.max_message_bytes)
    return make_error(errc::batch_too_large, "record batch of " + std::to_string(batch.size()) +
                                                 " bytes is larger than max.message.bytes=" +
                                                 std::to_string(config_.max_message_bytes));
  if (h->producer_id >= 0) {
    auto c = producers_.check(*h);
    if (!c) {
      // A producer pipelines batches: those sent behind one refused for space arrive with a
      // gap in their sequence. Refused the same way, the client sends them all again in
      // order; OUT_OF_ORDER_SEQUENCE_NUMBER would be fatal to an idempotent producer.
      if (auto it = refused_.find(h->producer_id);
          c.code() == errc::out_of_order_sequence && it != refused_.end() &&
          it->second.epoch == h->producer_epoch && h->base_sequence > it->second.base_sequence)
        return make_error(errc::no_space,
                          "an earlier batch of this producer was refused for lack of disk space");
      return c.error();
    }
    if (c->v == producer_state::verdict::duplicate) {
      return append_result{model::offset(c->duplicate_base_offset),
                           model::offset(c->duplicate_base_offset + h->last_offset_delta), -1,
                           model::offset(log_start_), true};
    }
  }
  if (space_) {
    if (auto r = space_->admit(batch.size()); !r) {
      if (h->producer_id >= 0 && h->base_sequence >= 0)
        refused_[h->producer_id] = refused_batch{h->producer_epoch, h->base_sequence};
      return r.error();
    }
  }
  if (!refused_.empty()) refused_.erase(h->producer_id);
  return append_locked(lk, batch, *h, now, std::nullopt);
}

result<append_result> partition::append_marker(int64_t producer_id, int16_t epoch,
                                               control_type type, int32_t coordinator_epoch,
                                               int64_t now) {
  auto batch = build_control_batch(producer_id, epoch, type, coordinator_epoch, now);
  auto h = parse_batch_header(batch.data());
  std::unique_lock lk(mu_);
  if (deleted_) return make_error(errc::unknown_topic, "the topic was deleted");
  if (!failed_.empty()) return make_error(errc::io_error, "the partition failed: " + failed_);
  if (auto c = producers_.check(h); !c) return c.error();
  return append_locked(lk, batch, h, now, type);
}

result<append_result> partition::append_locked(std::unique_lock<std::mutex>& lk,
                                               std::span<uint8_t> batch, batch_header& h,
                                               int64_t now, std::optional<control_type> marker) {
  if (!active_->empty() &&
      (active_->size() + static_cast<int64_t>(batch.size()) > config_.segment_bytes ||
       now - active_->created_ms() >= config_.segment_ms ||
       next_offset_ + h.last_offset_delta - active_->base_offset() >= INT32_MAX)) {
    if (auto r = roll(now); !r) {
      fail_locked(r.error().message);
      return r.error();
    }
  }

  h.base_offset = next_offset_;
  set_base_offset(batch, next_offset_);
  int64_t append_time = -1;
  if (config_.message_timestamp_type == timestamp_type::log_append_time) {
    set_log_append_time(batch, now);
    h.max_timestamp = now;
    append_time = now;
  }
  if (auto r = active_->append(batch, h); !r) {
    // Part of the batch may be in the file: nothing more goes after it until a restart
    // recovers the tail.
    fail_locked(r.error().message);
    return r.error();
  }
  producers_.record(h, marker);
  next_offset_ = h.last_offset() + 1;
  records_in_.fetch_add(h.record_count, std::memory_order_relaxed);
  bytes_in_.fetch_add(static_cast<int64_t>(batch.size()), std::memory_order_relaxed);
  append_result res{model::offset(h.base_offset), model::offset(h.last_offset()), append_time,
                    model::offset(log_start_), false};
  notify_appended(lk);
  return res;
}

void partition::notify_appended(std::unique_lock<std::mutex>& lk) {
  if (data_waiters_.empty()) return;
  auto waiters = std::move(data_waiters_);
  data_waiters_.clear();
  lk.unlock();
  for (auto& w : waiters)
    if (!w.alive.expired()) w.fn();
}

void partition::on_next_append(std::weak_ptr<void> alive, std::function<void()> fn) {
  std::lock_guard lk(mu_);
  if (data_waiters_.size() >= 64)
    std::erase_if(data_waiters_, [](const data_waiter& w) { return w.alive.expired(); });
  data_waiters_.push_back({std::move(alive), std::move(fn)});
}

void partition::when_durable(model::offset last, std::function<void(result<void>)> done) {
  result<void> answer;
  {
    std::lock_guard lk(mu_);
    if (durable_offset_ <= last.value() && !failed_.empty()) {
      answer = make_error(errc::io_error, "the partition failed: " + failed_);
    } else if (durable_offset_ <= last.value()) {
      durable_waiters_.push_back({last.value(), std::move(done)});
      schedule_flush_locked();
      return;
    }
  }
  done(answer);
}

void partition::schedule_flush_locked() {
  if (flush_scheduled_ || flusher_ == nullptr) return;
  flush_scheduled_ = true;
  flusher_->schedule(shared_from_this());
}

partition::flush_ticket partition::begin_flush() {
  flush_ticket t;
  std::lock_guard lk(mu_);
  t.target = next_offset_;
  t.active_base = active_->base_offset();
  for (auto& [base, s] : segments_) {
    if (!s->dirty) continue;
    s->dirty = false;
    t.sealed |= s != active_;
    t.segments.push_back(s);
  }
  t.sync_folder = dir_dirty_;
  dir_dirty_ = false;
  return t;
}

result<void> partition::sync_files(const flush_ticket& t) const {
  for (const auto& s : t.segments)
    if (auto r = s->sync(); !r) return r;
  if (t.sync_folder) return sync_dir(dir_);
  return {};
}

void partition::end_flush(const flush_ticket& t, result<void> r) {
  if (r && t.sealed && t.active_base != recovery_point_) {
    uint8_t buf[8];
    store_be64(buf, static_cast<uint64_t>(t.active_base));
    if (write_file_atomic(dir_ / k_recovery_point_file, bytes_view(buf, 8)))
      recovery_point_ = t.active_base;
  }
  std::vector<durable_waiter> ready;
  {
    std::lock_guard lk(mu_);
    // A failed sync may have dropped dirty pages (Linux marks them clean after reporting the
    // error once): a later sync that succeeds proves nothing, so the partition stays failed.
    if (!r) fail_locked(r.error().message);
    if (!failed_.empty() && r) r = make_error(errc::io_error, "the partition failed: " + failed_);
    if (r) durable_offset_ = std::max(durable_offset_, t.target);
    const int64_t settled = r ? durable_offset_ : INT64_MAX;
    auto split =
        std::stable_partition(durable_waiters_.begin(), durable_waiters_.end(),
                              [&](const durable_waiter& w) { return w.offset >= settled; });
    ready.assign(std::make_move_iterator(split), std::make_move_iterator(durable_waiters_.end()));
    durable_waiters_.erase(split, durable_waiters_.end());
    flush_scheduled_ = false;
    if (!durable_waiters_.empty()) schedule_flush_locked();
  }
  for (auto& w : ready)
    w.done(r);
}

std::shared_ptr<segment> partition::segment_for(int64_t offset) const {
  auto it = segments_.upper_bound(offset);
  if (it == segments_.begin()) return nullptr;
  --it;
  // An offset in a gap (compacted away, or between segments) belongs to the next segment
  // that holds data.
  while ((it->second->empty() || offset >= it->second->next_offset()) &&
         std::next(it) != segments_.end())
    ++it;
  return it->second;
}

result<read_result> partition::read(model::offset from, size_t max_bytes, isolation level) const {
  std::lock_guard lk(mu_);
  read_result out;
  out.high_watermark = model::offset(next_offset_);
  const int64_t stable = last_stable_locked();
  out.last_stable = model::offset(stable);
  out.log_start = model::offset(log_start_);
  int64_t off = from.value();
  if (off < log_start_ || off > next_offset_)
    return make_error(errc::offset_out_of_range, "offset " + std::to_string(off) + " is outside [" +
                                                     std::to_string(log_start_) + ", " +
                                                     std::to_string(next_offset_) + "]");
  const int64_t end = level == isolation::read_committed ? stable : next_offset_;
  if (off >= end) return out;
  auto seg = segment_for(off);
  if (!seg || off >= seg->next_offset()) return out;
  auto pos = seg->position_of(off);
  if (!pos) return pos.error();
  if (*pos >= seg->size()) return out;
  auto first = seg->batch_size_at(*pos);
  if (!first) return first.error();
  // The last stable offset is the base of a batch (a transaction's first), so no batch
  // straddles it.
  int64_t stop = seg->size();
  if (end < seg->next_offset()) {
    auto end_pos = seg->position_of(end);
    if (!end_pos) return end_pos.error();
    stop = *end_pos;
  }
  if (stop <= *pos) return out;
  out.pos = *pos;
  out.len = static_cast<size_t>(
      std::min<int64_t>(stop - *pos, std::max<int64_t>(static_cast<int64_t>(max_bytes), *first)));
  out.seg = std::move(seg);
  bytes_out_.fetch_add(static_cast<int64_t>(out.len), std::memory_order_relaxed);
  return out;
}

result<model::offset> partition::offset_for_time(int64_t ts) const {
  std::lock_guard lk(mu_);
  for (const auto& [base, seg] : segments_) {
    if (seg->max_timestamp() < ts) continue;
    auto o = seg->offset_for_time(ts);
    if (!o) return o.error();
    if (*o) return model::offset(std::max(**o, log_start_));
  }
  return model::offset(next_offset_);
}

result<std::optional<std::pair<int64_t, int64_t>>> partition::max_timestamp_record() const {
  std::lock_guard lk(mu_);
  std::shared_ptr<segment> best;
  for (const auto& [base, seg] : segments_)
    if (!seg->empty() && (!best || seg->max_timestamp() > best->max_timestamp())) best = seg;
  if (!best) return std::optional<std::pair<int64_t, int64_t>>{};
  return best->max_timestamp_record();
}

model::offset partition::high_watermark() const {
  std::lock_guard lk(mu_);
  return model::offset(next_offset_);
}

int64_t partition::last_stable_locked() const {
  auto first = producers_.first_unstable_offset();
  return first ? std::min(*first, next_offset_) : next_offset_;
}

model::offset partition::last_stable_offset() const {
  std::lock_guard lk(mu_);
  return model::offset(last_stable_locked());
}

std::vector<aborted_transaction> partition::aborted_transactions(model::offset from,
                                                                 model::offset to) const {
  std::lock_guard lk(mu_);
  return producers_.aborted_between(from.value(), to.value());
}

std::vector<producer_state::producer_info> partition::producers() const {
  std::lock_guard lk(mu_);
  return producers_.producers();
}

model::offset partition::log_start() const {
  std::lock_guard lk(mu_);
  return model::offset(log_start_);
}

int64_t partition::size_bytes() const {
  std::lock_guard lk(mu_);
  int64_t total = 0;
  for (const auto& [b, s] : segments_)
    total += s->size();
  return total;
}

int partition::segment_count() const {
  std::lock_guard lk(mu_);
  return static_cast<int>(segments_.size());
}

void partition::set_config(topic_config c) {
  std::lock_guard lk(mu_);
  config_ = std::move(c);
}

void partition::enforce_retention(int64_t now) {
  std::vector<std::shared_ptr<segment>> doomed;
  {
    std::lock_guard lk(mu_);
    if (deleted_ || !config_.delete_old()) return;
    // A partition that stopped receiving data must still age out: when everything in the
    // active segment is past retention.ms, roll it so that it can be deleted (as Kafka does).
    if (config_.retention_ms >= 0 && !active_->empty() && active_->max_timestamp() >= 0 &&
        now - active_->max_timestamp() > config_.retention_ms) {
      if (auto r = roll(now); !r) spdlog::warn("{}: {}", dir_.string(), r.error().message);
    }
    int64_t total = 0;
    for (const auto& [b, s] : segments_)
      total += s->size();
    while (segments_.size() > 1) {
      const auto& first = segments_.begin()->second;
      bool by_time = config_.retention_ms >= 0 && first->max_timestamp() >= 0 &&
                     now - first->max_timestamp() > config_.retention_ms;
      bool by_size =
          config_.retention_bytes >= 0 && total - first->size() >= config_.retention_bytes;
      if (!by_time && !by_size) break;
      total -= first->size();
      doomed.push_back(first);
      segments_.erase(segments_.begin());
    }
    if (doomed.empty()) return;
    log_start_ = std::max(log_start_, segments_.begin()->first);
    producers_.trim(log_start_);
    dir_dirty_ = true;
  }
  for (auto& s : doomed) {
    spdlog::info("{}: retention deleted segment {} ({} bytes)", dir_.string(), s->base_offset(),
                 s->size());
    s->remove_files();
  }
}

result<model::offset> partition::delete_records_before(model::offset offset) {
  std::vector<std::shared_ptr<segment>> doomed;
  int64_t start = 0;
  {
    std::lock_guard lk(mu_);
    if (deleted_) return make_error(errc::unknown_topic, "the topic was deleted");
    const int64_t target = offset.value() < 0 ? next_offset_ : offset.value();
    if (target > next_offset_)
      return make_error(errc::offset_out_of_range, "offset " + std::to_string(target) +
                                                       " is beyond the high watermark " +
                                                       std::to_string(next_offset_));
    if (target <= log_start_) return model::offset(log_start_);
    uint8_t buf[8];
    store_be64(buf, static_cast<uint64_t>(target));
    if (auto r = write_file_atomic(dir_ / k_log_start_file, bytes_view(buf, 8)); !r)
      return r.error();
    while (segments_.size() > 1 && segments_.begin()->second->next_offset() <= target) {
      doomed.push_back(segments_.begin()->second);
      segments_.erase(segments_.begin());
    }
    log_start_ = target;
    producers_.trim(log_start_);
    dir_dirty_ = !doomed.empty() || dir_dirty_;
    start = log_start_;
  }
  for (auto& s : doomed)
    s->remove_files();
  return model::offset(start);
}

result<void> partition::close() {
  std::lock_guard lk(mu_);
  if (deleted_) return {};
  if (auto r = active_->write_indexes(); !r) return r;
  if (auto r = write_producer_snapshot(next_offset_); !r) return r;
  for (auto& [b, s] : segments_) {
    if (!s->dirty) continue;
    if (auto r = s->sync(); !r) return r;
    s->dirty = false;
  }
  return sync_dir(dir_);
}

void partition::fail_locked(const std::string& why) {
  if (!failed_.empty()) return;
  failed_ = why;
  spdlog::error("{}: partition failed: {}; appends are refused until a restart recovers it",
                dir_.string(), why);
}

std::string partition::failure() const {
  std::lock_guard lk(mu_);
  return failed_;
}

void partition::mark_deleted() {
  std::unique_lock lk(mu_);
  deleted_ = true;
  auto waiters = std::move(durable_waiters_);
  durable_waiters_.clear();
  notify_appended(lk);
  for (auto& w : waiters)
    w.done(make_error(errc::unknown_topic, "the topic was deleted"));
}

}  // namespace sluice::log
