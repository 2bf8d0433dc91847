#include "stream/query.h"

#include <spdlog/spdlog.h>

#include "base/crc32c.h"
#include "base/file.h"

namespace sluice::stream {

namespace {

constexpr std::string_view k_checkpoint_magic = "SLQC";
constexpr int64_t k_checkpoint_version = 1;

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

query::query(topic_io& io, query_options options) : io_(io), o_(std::move(options)) {
  for (size_t i = 0; i < o_.operators.size(); ++i) {
    o_.operators[i]->set_context(this);
    if (i + 1 < o_.operators.size()) o_.operators[i]->set_next(o_.operators[i + 1].get());
  }
  decoder_ = std::make_unique<json_decoder>(o_.source.schema, o_.source.needed);
}

query::~query() {
  stop();
}

result<void> query::start() {
  auto s = io_.open_source(o_.source.topic);
  if (!s) return s.error();
  source_ = std::move(*s);
  int64_t now = wall_ms();
  parts_.assign(static_cast<size_t>(source_->partitions()), partition_state{});
  for (size_t p = 0; p < parts_.size(); ++p) {
    parts_[p].position = source_->start_offset(static_cast<int32_t>(p));
    parts_[p].last_data_ms = now;
  }
  if (!o_.state_dir.empty())
    for (size_t i = 0; i < o_.operators.size(); ++i)
      if (auto r = o_.operators[i]->open_state(o_.state_dir / ("op" + std::to_string(i))); !r)
        return r.error();
  if (!o_.checkpoint_file.empty() && std::filesystem::exists(o_.checkpoint_file)) {
    if (!read_checkpoint())
      spdlog::warn("query {}: checkpoint {} unreadable, starting from the beginning", o_.name,
                   o_.checkpoint_file.string());
  }
  {
    std::lock_guard lk(status_mu_);
    state_ = "RUNNING";
    positions_pub_.clear();
    for (auto& p : parts_)
      positions_pub_.push_back(p.position);
  }
  last_checkpoint_ = std::chrono::steady_clock::now();
  thread_ = std::thread([this] { run(); });
  return {};
}

void query::stop(bool checkpoint) {
  if (!thread_.joinable()) return;
  stop_ = true;
  if (source_) source_->interrupt();
  thread_.join();
  if (checkpoint && !o_.checkpoint_file.empty()) {
    std::lock_guard lk(status_mu_);
    if (state_ == "RUNNING") write_checkpoint();
  }
  std::lock_guard lk(status_mu_);
  if (state_ == "RUNNING") state_ = "STOPPED";
}

void query::run() {
  try {
    while (!stop_) {
      bool got = poll_once();
      update_watermark(wall_ms());
      flush_dead_letters();
      if (!o_.checkpoint_file.empty() && dirty_ &&
          std::chrono::steady_clock::now() - last_checkpoint_ >= o_.checkpoint_interval) {
        write_checkpoint();
      }
      bool end = true;
      for (size_t p = 0; p < parts_.size() && end; ++p)
        end = parts_[p].position >= source_->end_offset(static_cast<int32_t>(p));
      caught_up_ = end;
      if ((rounds_.fetch_add(1) & 63) == 0) {
        int64_t n = 0;
        for (const auto& op : o_.operators)
          n += static_cast<int64_t>(op->state_size());
        state_rows_ = n;
      }
      if (!got) source_->wait(std::chrono::milliseconds(end ? 50 : 1));
    }
  } catch (const std::exception& e) {
    spdlog::error("query {} failed: {}", o_.name, e.what());
    std::lock_guard lk(status_mu_);
    state_ = "FAILED";
    error_ = e.what();
  }
}

bool query::poll_once() {
  bool got = false;
  int32_t n = source_->partitions();
  int64_t now = wall_ms();
  while (parts_.size() < static_cast<size_t>(n))
    parts_.push_back(partition_state{0, INT64_MIN, now});
  for (int32_t p = 0; p < n && !stop_; ++p) {
    auto& ps = parts_[static_cast<size_t>(p)];
    buf_.clear();
    auto r = source_->read(p, ps.position, o_.max_batch_bytes, buf_);
    if (!r) {
      if (r.code() == errc::offset_out_of_range) {
        // Retention removed what we had not read yet: continue from the oldest record kept.
        int64_t start = source_->start_offset(p);
        spdlog::warn("query {}: partition {} offset {} is gone, resuming at {}", o_.name, p,
                     ps.position, start);
        ps.position = std::max(ps.position, start);
        continue;
      }
      throw std::runtime_error("reading " + o_.source.topic + ": " + r.error().message);
    }
    if (buf_.empty()) continue;
    got = true;
    ps.last_data_ms = now;
    decode_chunk(p, buf_);
  }
  if (got) {
    std::lock_guard lk(status_mu_);
    positions_pub_.resize(parts_.size());
    for (size_t i = 0; i < parts_.size(); ++i)
      positions_pub_[i] = parts_[i].position;
  }
  return got;
}

void query::decode_chunk(int32_t p, bytes_view chunk) {
  auto& ps = parts_[static_cast<size_t>(p)];
  const auto& src = o_.source;
  batch_.clear();
  std::string err;
  int64_t oldest_ts = INT64_MAX;
  auto next = stream::for_each_record(
      chunk, ps.position,
      [&](int64_t offset, int64_t ts, std::optional<std::string_view> key,
          std::optional<std::string_view> payload) {
        records_in_.fetch_add(1, std::memory_order_relaxed);
        oldest_ts = std::min(oldest_ts, ts);
        element e;
        if (src.upsert && !payload) {
          // A tombstone: delete the row of this key. The key is a JSON object of the key
          // columns, or the bare value of a single key column.
          if (!key) return;
          row k;
          if (!key->empty() && key->front() == '{' && decoder_->decode(*key, k, err)) {
            row only;
            for (int c : src.key_columns)
              only.push_back(k[static_cast<size_t>(c)]);
            e.key = std::move(only);
          } else if (src.key_columns.size() == 1) {
            value v = value::string(std::string(*key));
            if (!coerce(v, *src.schema[static_cast<size_t>(src.key_columns[0])].type, err)) {
              dead_letter_bytes("tombstone key: " + err, key, payload, p, offset, ts);
              return;
            }
            e.key = {std::move(v)};
          } else {
            dead_letter_bytes("tombstone key is not a JSON object of the primary key", key, payload,
                              p, offset, ts);
            return;
          }
          e.op = change_op::remove;
          e.ts = ts;
          batch_.push_back(std::move(e));
          return;
        }
        if (!payload) {
          dead_letter_bytes("null value", key, payload, p, offset, ts);
          return;
        }
        if (!decoder_->decode(*payload, e.r, err)) {
          dead_letter_bytes(err, key, payload, p, offset, ts);
          return;
        }
        if (src.time_column >= 0) {
          const auto& t = e.r[static_cast<size_t>(src.time_column)];
          if (t.is_null()) {
            dead_letter_bytes("missing event time column '" +
                                  src.schema[static_cast<size_t>(src.time_column)].name + "'",
                              key, payload, p, offset, ts);
            return;
          }
          e.ts = t.i;
        } else {
          e.ts = ts;
        }
        // Window arithmetic must not overflow: event times beyond +-100,000 years are refused.
        constexpr int64_t k_max_event_time = 3'155'760'000'000'000;
        if (e.ts > k_max_event_time || e.ts < -k_max_event_time) {
          dead_letter_bytes("event time out of range", key, payload, p, offset, ts);
          return;
        }
        if (src.upsert) {
          for (int c : src.key_columns)
            e.key.push_back(e.r[static_cast<size_t>(c)]);
          e.op = change_op::upsert;
        }
        ps.max_ts = std::max(ps.max_ts, e.ts);
        batch_.push_back(std::move(e));
      });
  if (!next) {
    // A batch we cannot decode at all: skip past it, with the reason in the dead-letter topic.
    auto h_end = ps.position + 1;
    dead_letter_bytes("undecodable record batch: " + next.error().message, std::nullopt,
                      std::nullopt, p, ps.position, 0);
    ps.position = h_end;
    dirty_ = true;
    return;
  }
  ps.position = *next;
  dirty_ = true;
  if (!batch_.empty() && !o_.operators.empty()) o_.operators.front()->process(batch_);
  if (oldest_ts != INT64_MAX && oldest_ts > 0) {
    int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    latency_->observe(static_cast<double>(std::max<int64_t>(0, now_ms - oldest_ts)) / 1000.0);
  }
}

void query::update_watermark(int64_t now) {
  int64_t wm = INT64_MAX;
  int64_t all_idle_wm = INT64_MIN;
  bool any_active = false;
  for (size_t p = 0; p < parts_.size(); ++p) {
    const auto& ps = parts_[p];
    int64_t pwm = ps.max_ts == INT64_MIN ? INT64_MIN : ps.max_ts - o_.source.watermark_delay_ms;
    bool caught_up = ps.position >= source_->end_offset(static_cast<int32_t>(p));
    bool idle = caught_up && now - ps.last_data_ms >= o_.source.idle_timeout_ms;
    all_idle_wm = std::max(all_idle_wm, pwm);
    if (idle) continue;
    any_active = true;
    wm = std::min(wm, pwm);
  }
  if (!any_active) wm = all_idle_wm;
  if (wm > watermark_ && wm != INT64_MIN) {
    watermark_ = wm;
    watermark_pub_ = wm;
    dirty_ = true;
    if (!o_.operators.empty()) o_.operators.front()->advance_watermark(wm);
  }
}

void query::dead_letter_bytes(const std::string& reason, std::optional<std::string_view> key,
                              std::optional<std::string_view> value, int32_t p, int64_t offset,
                              int64_t ts) {
  dead_letters_.fetch_add(1, std::memory_order_relaxed);
  output_record rec;
  if (key) rec.key = std::string(*key);
  if (value) rec.value = std::string(*value);
  rec.timestamp = ts;
  rec.headers = {{"sluice.reason", reason},
                 {"sluice.query", o_.name},
                 {"sluice.topic", o_.source.topic},
                 {"sluice.partition", std::to_string(p)},
                 {"sluice.offset", std::to_string(offset)}};
  dead_.push_back(std::move(rec));
}

void query::dead_letter(const std::string& reason, const row& r,
                        const std::vector<std::string>& names, int64_t ts) {
  dead_letters_.fetch_add(1, std::memory_order_relaxed);
  send_to_dead_letters(reason, r, names, ts);
}

void query::send_to_dead_letters(const std::string& reason, const row& r,
                                 const std::vector<std::string>& names, int64_t ts) {
  output_record rec;
  rec.value.emplace();
  append_json_row(*rec.value, names, r);
  rec.timestamp = ts;
  rec.headers = {
      {"sluice.reason", reason}, {"sluice.query", o_.name}, {"sluice.topic", o_.source.topic}};
  dead_.push_back(std::move(rec));
}

void query::late(const row& r, const std::vector<std::string>& names, int64_t ts) {
  late_.fetch_add(1, std::memory_order_relaxed);  // counted as late, not as a dead letter
  send_to_dead_letters("late: event time " + format_timestamp(ts) + " is behind the watermark " +
                           format_timestamp(watermark_),
                       r, names, ts);
}

void query::flush_dead_letters() {
  if (dead_.empty()) return;
  if (!dlq_) {
    auto s = io_.open_sink(o_.dead_letter_topic);
    if (!s) {
      spdlog::error("query {}: cannot open dead-letter topic {}: {}", o_.name, o_.dead_letter_topic,
                    s.error().message);
      dead_.clear();
      return;
    }
    dlq_ = std::move(*s);
  }
  if (auto r = dlq_->write(dead_); !r)
    spdlog::error("query {}: writing to {}: {}", o_.name, o_.dead_letter_topic, r.error().message);
  dead_.clear();
}

// Checkpoint file (docs/formats/checkpoint.md): "SLQC", varint version, varint partition
// count, per partition (position, max event time), the watermark, varint operator count, per
// operator a length-prefixed state blob, then the CRC32C of everything before it (4 bytes BE).
void query::write_checkpoint() {
  state_writer w;
  w.data().append(k_checkpoint_magic);
  w.put_varint(k_checkpoint_version);
  w.put_varint(static_cast<int64_t>(parts_.size()));
  for (const auto& p : parts_) {
    w.put_varint(p.position);
    w.put_varint(p.max_ts);
  }
  w.put_varint(watermark_);
  w.put_varint(static_cast<int64_t>(o_.operators.size()));
  for (const auto& op : o_.operators) {
    state_writer s;
    op->snapshot(s);
    w.put_string(s.data());
  }
  uint32_t crc = crc32c(w.data().data(), w.data().size());
  for (int i = 3; i >= 0; --i)
    w.data().push_back(static_cast<char>((crc >> (i * 8)) & 0xff));
  auto r = write_file_atomic(
      o_.checkpoint_file,
      bytes_view(reinterpret_cast<const uint8_t*>(w.data().data()), w.data().size()));
  if (!r) {
    spdlog::error("query {}: checkpoint failed: {}", o_.name, r.error().message);
    return;
  }
  dirty_ = false;
  last_checkpoint_ = std::chrono::steady_clock::now();
}

bool query::read_checkpoint() {
  auto data = read_file(o_.checkpoint_file);
  if (!data || data->size() < k_checkpoint_magic.size() + 4) return false;
  std::string_view s(reinterpret_cast<const char*>(data->data()), data->size());
  uint32_t want = 0;
  for (size_t i = s.size() - 4; i < s.size(); ++i)
    want = (want << 8) | static_cast<uint8_t>(s[i]);
  if (crc32c(s.data(), s.size() - 4) != want || s.substr(0, 4) != k_checkpoint_magic) return false;
  try {
    state_reader r(s.substr(4, s.size() - 8));
    if (r.varint() != k_checkpoint_version) return false;
    auto n = r.varint();
    std::vector<partition_state> parts;
    for (int64_t i = 0; i < n; ++i) {
      partition_state ps;
      ps.position = r.varint();
      ps.max_ts = r.varint();
      ps.last_data_ms = wall_ms();
      parts.push_back(ps);
    }
    int64_t wm = r.varint();
    if (r.varint() != static_cast<int64_t>(o_.operators.size())) return false;
    std::vector<std::string> blobs;
    for (size_t i = 0; i < o_.operators.size(); ++i)
      blobs.push_back(r.string());
    for (size_t i = 0; i < o_.operators.size(); ++i) {
      state_reader sr(blobs[i]);
      o_.operators[i]->restore(sr);
    }
    for (size_t i = 0; i < parts.size() && i < parts_.size(); ++i)
      parts_[i] = parts[i];
    watermark_ = wm;
    watermark_pub_ = wm;
    return true;
  } catch (const corrupt_state&) {
    return false;
  }
}

query_stats query::stats() const {
  query_stats s;
  s.name = o_.name;
  s.records_in = records_in_;
  s.latency = latency_;
  s.records_out = records_out_;
  s.dead_letters = dead_letters_;
  s.late_records = late_;
  s.watermark = watermark_pub_;
  s.state_rows = state_rows_;
  std::lock_guard lk(status_mu_);
  s.state = state_;
  s.error = error_;
  if (source_)
    for (size_t p = 0; p < positions_pub_.size(); ++p)
      s.lag +=
          std::max<int64_t>(0, source_->end_offset(static_cast<int32_t>(p)) - positions_pub_[p]);
  return s;
}

bool query::wait_caught_up(std::chrono::milliseconds timeout) const {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  uint64_t since = UINT64_MAX;
  while (std::chrono::steady_clock::now() < deadline) {
    {
      std::lock_guard lk(status_mu_);
      if (state_ != "RUNNING") return false;
    }
    if (!caught_up_) {
      since = UINT64_MAX;
    } else if (since == UINT64_MAX) {
      since = rounds_;
    } else if (rounds_ >= since + 2) {
      return true;
    }
    source_->interrupt();
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return false;
}

std::string query::explain() const {
  std::string s = "Source topic '" + o_.source.topic + "' (JSON";
  s += o_.source.upsert ? ", upsert by primary key" : "";
  s += o_.source.time_column >= 0
           ? ", event time " + o_.source.schema[static_cast<size_t>(o_.source.time_column)].name
           : ", event time = record timestamp";
  s += ", watermark delay " + std::to_string(o_.source.watermark_delay_ms) + " ms)\n";
  for (const auto& op : o_.operators)
    s += "  -> " + op->describe() + "\n";
  s += "  dead letters -> topic '" + o_.dead_letter_topic + "'";
  return s;
}

}  // namespace sluice::stream
