#include "stream/query.h"

#include <spdlog/spdlog.h>

#include "base/crc32c.h"
#include "base/file.h"

namespace sluice::stream {

namespace {

constexpr std::string_view k_checkpoint_magic = "SLQC";
constexpr int64_t k_checkpoint_version = 2;

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

query::query(topic_io& io, query_options options) : io_(io), o_(std::move(options)) {
  for (auto& op : o_.flow.operators)
    op->set_context(this);
  for (size_t i = 0; i < o_.flow.sources.size(); ++i) {
    input in;
    in.spec = &o_.flow.sources[i];
    in.heads = o_.flow.heads[i];
    if (in.spec->make_decoder)
      in.decoder = in.spec->make_decoder(in.spec->schema, in.spec->needed);
    else
      in.decoder = std::make_unique<json_decoder>(in.spec->schema, in.spec->needed);
    // A table's tombstone keys are JSON (or a bare value) whatever the values' format.
    if (in.spec->upsert && in.spec->make_key_decoder)
      in.key_decoder = in.spec->make_key_decoder(in.spec->schema, {});
    else if (in.spec->upsert)
      in.json_key_decoder = std::make_unique<json_decoder>(in.spec->schema);
    topics_ += (topics_.empty() ? "" : ",") + in.spec->topic;
    inputs_.push_back(std::move(in));
  }
}

query::~query() {
  stop();
}

result<void> query::start() {
  int64_t now = wall_ms();
  for (auto& in : inputs_) {
    auto s = io_.open_source(in.spec->topic, wake_);
    if (!s) return s.error();
    in.source = std::move(*s);
    if (!o_.partitions.empty() && in.source->partitions() != inputs_[0].source->partitions())
      return make_error(errc::invalid_config,
                        "the sources of a query split by partition must have the same number "
                        "of partitions: '" +
                            inputs_[0].spec->topic + "' has " +
                            std::to_string(inputs_[0].source->partitions()) + ", '" +
                            in.spec->topic + "' " + std::to_string(in.source->partitions()));
    in.parts.assign(static_cast<size_t>(in.source->partitions()), partition_state{});
    for (size_t p = 0; p < in.parts.size(); ++p) {
      in.parts[p].owned = owns(static_cast<int32_t>(p));
      if (in.parts[p].owned)
        in.parts[p].position = in.source->start_offset(static_cast<int32_t>(p));
      in.parts[p].last_data_ms = now;
    }
  }
  if (!o_.state_dir.empty())
    for (size_t i = 0; i < o_.flow.operators.size(); ++i)
      if (auto r = o_.flow.operators[i]->open_state(o_.state_dir / ("op" + std::to_string(i))); !r)
        return r.error();
  if (o_.checkpoints) {
    auto blob = o_.checkpoints->read();
    if (!blob) return blob.error();
    if (*blob && !read_checkpoint(**blob))
      spdlog::warn("query {}: checkpoint in {} unreadable, starting from the beginning", o_.name,
                   o_.checkpoints->describe());
  }
  try {
    for (auto& op : o_.flow.operators)
      op->resume();
  } catch (const std::exception& e) {
    return make_error(errc::io_error, e.what());
  }
  {
    std::lock_guard lk(status_mu_);
    state_ = "RUNNING";
    for (auto& in : inputs_) {
      in.positions_pub.clear();
      for (auto& p : in.parts)
        in.positions_pub.push_back(p.position);
    }
  }
  last_checkpoint_ = std::chrono::steady_clock::now();
  thread_ = std::thread([this] { run(); });
  return {};
}

void query::stop(bool checkpoint) {
  if (!thread_.joinable()) return;
  stop_ = true;
  wake_->signal();
  thread_.join();
  if (checkpoint && o_.checkpoints) {
    bool running = false;
    {
      std::lock_guard lk(status_mu_);
      running = state_ == "RUNNING";
    }
    try {
      if (running) write_checkpoint();  // the thread is gone: only stats() reads meanwhile
    } catch (const std::exception& e) {
      spdlog::error("query {}: final checkpoint failed: {}", o_.name, e.what());
    }
  }
  std::lock_guard lk(status_mu_);
  if (state_ == "RUNNING") state_ = "STOPPED";
}

bool query::owns(int32_t p) const {
  return o_.partitions.empty() ||
         std::find(o_.partitions.begin(), o_.partitions.end(), p) != o_.partitions.end();
}

bool query::caught_up() const {
  for (const auto& in : inputs_)
    for (size_t p = 0; p < in.parts.size(); ++p)
      if (in.parts[p].owned &&
          in.parts[p].position < in.source->end_offset(static_cast<int32_t>(p)))
        return false;
  return true;
}

void query::run() {
  try {
    while (!stop_) {
      bool got = poll_once();
      update_watermark(wall_ms());
      flush_dead_letters();
      if (o_.checkpoints && dirty_ &&
          std::chrono::steady_clock::now() - last_checkpoint_ >= o_.checkpoint_interval) {
        write_checkpoint();
      }
      bool end = caught_up();
      caught_up_ = end;
      // State is measured every 64 rounds, and at least twice a second when rounds are slow.
      if ((rounds_.fetch_add(1) & 63) == 0 ||
          std::chrono::steady_clock::now() - last_measure_ >= std::chrono::milliseconds(500))
        measure_state();
      if (!got) wake_->wait(std::chrono::milliseconds(end ? 50 : 1));
    }
  } catch (const std::exception& e) {
    spdlog::error("query {} failed: {}", o_.name, e.what());
    std::lock_guard lk(status_mu_);
    state_ = "FAILED";
    error_ = e.what();
  }
}

bool query::poll_once() {
  int64_t now = wall_ms();
  bool got = false;
  int64_t limit = alignment_limit();
  for (auto& in : inputs_)
    got |= poll_input(in, now, limit, false);
  if (!got && limit != INT64_MAX) {  // nothing to read below the limit: the ones that waited
    for (auto& in : inputs_)
      got |= poll_input(in, now, limit, true);
  }
  if (got) {
    std::lock_guard lk(status_mu_);
    for (auto& in : inputs_) {
      in.positions_pub.resize(in.parts.size());
      for (size_t i = 0; i < in.parts.size(); ++i)
        in.positions_pub[i] = in.parts[i].position;
    }
  }
  return got;
}

// The event time beyond which a partition waits this round: the slowest partition that still
// has records to read, plus the allowed skew (INT64_MAX: no partition waits).
int64_t query::alignment_limit() const {
  if (o_.read_alignment_ms <= 0) return INT64_MAX;
  int64_t slowest = INT64_MAX;
  size_t behind = 0;
  for (const auto& in : inputs_)
    for (size_t p = 0; p < in.parts.size(); ++p) {
      const auto& ps = in.parts[p];
      if (!ps.owned || ps.position >= in.source->end_offset(static_cast<int32_t>(p))) continue;
      ++behind;
      slowest = std::min(slowest, ps.max_ts);
    }
  if (behind < 2 || slowest == INT64_MAX) return INT64_MAX;
  if (slowest == INT64_MIN) return INT64_MIN;  // a partition not read yet goes first
  return slowest > INT64_MAX - o_.read_alignment_ms ? INT64_MAX : slowest + o_.read_alignment_ms;
}

bool query::poll_input(input& in, int64_t now, int64_t limit, bool waiting) {
  bool got = false;
  int32_t n = in.source->partitions();
  while (in.parts.size() < static_cast<size_t>(n))
    in.parts.push_back(
        partition_state{0, INT64_MIN, now, owns(static_cast<int32_t>(in.parts.size()))});
  for (int32_t p = 0; p < n && !stop_; ++p) {
    const auto& ps = in.parts[static_cast<size_t>(p)];
    bool waits = ps.max_ts != INT64_MIN && ps.max_ts > limit;
    if (!ps.owned || waits != waiting) continue;
    got |= decode_partition(in, p, now);
  }
  return got;
}

// Hands batch_ to every head of the input (a copy to all but the last).
void query::deliver(input& in) {
  if (batch_.empty()) return;
  for (size_t h = 0; h + 1 < in.heads.size(); ++h) {
    element_batch copy = batch_;
    in.heads[h]->process(copy);
  }
  if (!in.heads.empty()) in.heads.back()->process(batch_);
}

bool query::decode_partition(input& in, int32_t p, int64_t now) {
  auto& ps = in.parts[static_cast<size_t>(p)];
  const auto& src = *in.spec;
  auto& decoder = *in.decoder;
  batch_.clear();
  std::string err;
  int64_t oldest_ts = INT64_MAX;
  bool seen = false;
  auto next = in.source->for_each(
      p, ps.position, o_.max_batch_bytes, buf_,
      [&](int64_t offset, int64_t ts, std::optional<std::string_view> key,
          std::optional<std::string_view> payload) {
        seen = true;
        records_in_.fetch_add(1, std::memory_order_relaxed);
        oldest_ts = std::min(oldest_ts, ts);
        element e;
        if (src.upsert && !payload) {
          // A tombstone: delete the row of this key. The key is a JSON object of the key
          // columns, or the bare value of a single key column.
          if (!key) return;
          row k;
          if (in.key_decoder) {
            if (!in.key_decoder->decode(*key, k, err)) {
              dead_letter_bytes(in, "tombstone key: " + err, key, payload, p, offset, ts);
              return;
            }
            row only;
            for (int c : src.key_columns)
              only.push_back(k[static_cast<size_t>(c)]);
            e.key = std::move(only);
          } else if (!key->empty() && key->front() == '{' &&
                     in.json_key_decoder->decode(*key, k, err)) {
            row only;
            for (int c : src.key_columns)
              only.push_back(k[static_cast<size_t>(c)]);
            e.key = std::move(only);
          } else if (src.key_columns.size() == 1) {
            value v = value::string(*key);
            if (!coerce(v, *src.schema[static_cast<size_t>(src.key_columns[0])].type, err)) {
              dead_letter_bytes(in, "tombstone key: " + err, key, payload, p, offset, ts);
              return;
            }
            e.key = {std::move(v)};
          } else {
            dead_letter_bytes(in, "tombstone key is not a JSON object of the primary key", key,
                              payload, p, offset, ts);
            return;
          }
          e.op = change_op::remove;
          e.ts = ts;
          batch_.push_back(std::move(e));
          return;
        }
        if (!payload) {
          dead_letter_bytes(in, "null value", key, payload, p, offset, ts);
          return;
        }
        bool removed = false;
        if (!decoder.decode_change(*payload, e.r, removed, err)) {
          dead_letter_bytes(in, err, key, payload, p, offset, ts);
          return;
        }
        if (removed) {  // a changelog format's delete: a table removes the row
          if (!src.upsert) return;
          for (int c : src.key_columns)
            e.key.push_back(e.r[static_cast<size_t>(c)]);
          e.r.clear();
          e.op = change_op::remove;
          e.ts = ts;
          batch_.push_back(std::move(e));
          return;
        }
        if (src.time_column >= 0) {
          const auto& t = e.r[static_cast<size_t>(src.time_column)];
          if (t.is_null()) {
            dead_letter_bytes(in,
                              "missing event time column '" +
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
          dead_letter_bytes(in, "event time out of range", key, payload, p, offset, ts);
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
  if (!next && next.code() == errc::offset_out_of_range) {
    // Retention removed what we had not read yet: continue from the oldest record kept.
    int64_t start = in.source->start_offset(p);
    spdlog::warn("query {}: {} partition {} offset {} is gone, resuming at {}", o_.name,
                 in.spec->topic, p, ps.position, start);
    ps.position = std::max(ps.position, start);
    return false;
  }
  if (!next && next.code() != errc::corrupt_batch)
    throw std::runtime_error("reading " + in.spec->topic + ": " + next.error().message);
  if (!next) {
    // A batch we cannot decode at all: skip past it, with the reason in the dead-letter topic.
    auto h_end = ps.position + 1;
    dead_letter_bytes(in, "undecodable record batch: " + next.error().message, std::nullopt,
                      std::nullopt, p, ps.position, 0);
    ps.position = h_end;
    ps.last_data_ms = now;
    dirty_ = true;
    return true;
  }
  if (*next == ps.position && !seen) return false;
  ps.position = *next;
  ps.last_data_ms = now;
  dirty_ = true;
  deliver(in);
  if (oldest_ts != INT64_MAX && oldest_ts > 0) {
    int64_t now_ms = wall_ms();
    latency_->observe(static_cast<double>(std::max<int64_t>(0, now_ms - oldest_ts)) / 1000.0);
  }
  return true;
}

void query::update_watermark(int64_t now) {
  int64_t wm = INT64_MAX;
  int64_t all_idle_wm = INT64_MIN;
  bool any_active = false;
  for (const auto& in : inputs_) {
    for (size_t p = 0; p < in.parts.size(); ++p) {
      const auto& ps = in.parts[p];
      if (!ps.owned) continue;
      int64_t pwm = ps.max_ts == INT64_MIN ? INT64_MIN : ps.max_ts - in.spec->watermark_delay_ms;
      bool caught_up = ps.position >= in.source->end_offset(static_cast<int32_t>(p));
      bool idle = caught_up && now - ps.last_data_ms >= in.spec->idle_timeout_ms;
      all_idle_wm = std::max(all_idle_wm, pwm);
      if (idle) continue;
      any_active = true;
      wm = std::min(wm, pwm);
    }
  }
  if (!any_active) wm = all_idle_wm;
  if (wm > watermark_ && wm != INT64_MIN) {
    watermark_ = wm;
    watermark_pub_ = wm;
    dirty_ = true;
    for (auto& in : inputs_)
      for (auto* h : in.heads)
        h->advance_watermark(wm);
  }
}

void query::dead_letter_bytes(const input& in, const std::string& reason,
                              std::optional<std::string_view> key,
                              std::optional<std::string_view> value, int32_t p, int64_t offset,
                              int64_t ts) {
  dead_letters_.fetch_add(1, std::memory_order_relaxed);
  output_record rec;
  if (key) rec.key = std::string(*key);
  if (value) rec.value = std::string(*value);
  rec.timestamp = ts;
  rec.headers = {{"sluice.reason", reason},
                 {"sluice.query", o_.name},
                 {"sluice.topic", in.spec->topic},
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
  rec.headers = {{"sluice.reason", reason}, {"sluice.query", o_.name}, {"sluice.topic", topics_}};
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

// Checkpoint file (docs/formats/checkpoint.md): "SLQC", varint version (2), varint source
// count, per source a varint partition count and per partition (position, max event time),
// the watermark, varint operator count, per operator a length-prefixed state blob, then the
// CRC32C of everything before it (4 bytes BE). A version 1 checkpoint (one source, older
// operator states) is not read: the query starts over and rebuilds its state. Snapshots are
// taken first (an exactly-once sink's makes its transaction durable), then the file is
// written, then operators hear that it was (the sink commits).
void query::write_checkpoint() {
  // Snapshots first, each into its own buffer (an operator's snapshot may throw or commit a
  // transaction; the file's bytes are assembled once all are taken).
  const auto& ops = o_.flow.operators;
  op_states_.resize(ops.size());
  size_t bytes = 64;  // magic, version, counts, watermark, CRC
  for (size_t i = 0; i < ops.size(); ++i) {
    op_states_[i].data().clear();
    ops[i]->snapshot(op_states_[i]);
    bytes += 10 + op_states_[i].data().size();
  }
  for (const auto& in : inputs_)
    bytes += 10 + 20 * in.parts.size();  // two varints a partition
  state_writer& w = checkpoint_;
  w.data().clear();
  w.data().reserve(bytes);
  w.data().append(k_checkpoint_magic);
  w.put_varint(k_checkpoint_version);
  w.put_varint(static_cast<int64_t>(inputs_.size()));
  for (const auto& in : inputs_) {
    w.put_varint(static_cast<int64_t>(in.parts.size()));
    for (const auto& p : in.parts) {
      w.put_varint(p.position);
      w.put_varint(p.max_ts);
    }
  }
  w.put_varint(watermark_);
  w.put_varint(static_cast<int64_t>(ops.size()));
  for (const auto& s : op_states_)
    w.put_string(s.data());
  uint32_t crc = crc32c(w.data().data(), w.data().size());
  for (int i = 3; i >= 0; --i)
    w.data().push_back(static_cast<char>((crc >> (i * 8)) & 0xff));
  auto r = o_.checkpoints->write(w.data());
  {
    // A failed checkpoint is tried again at the next interval (a new file each time); until
    // one is written the query's state and exactly-once output wait, and /ready says why.
    std::lock_guard lk(status_mu_);
    if (!r && checkpoint_error_.empty())
      spdlog::error("query {}: checkpoint failed: {} (tried again every interval)", o_.name,
                    r.error().message);
    if (r && !checkpoint_error_.empty())
      spdlog::warn("query {}: checkpoints written again", o_.name);
    checkpoint_error_ = r ? "" : r.error().message;
  }
  if (!r) return;
  dirty_ = false;
  last_checkpoint_ = std::chrono::steady_clock::now();
  // Phase two: what the snapshots prepared is now part of a durable checkpoint.
  for (const auto& op : o_.flow.operators)
    op->checkpoint_written();
}

bool query::read_checkpoint(std::string_view s) {
  if (s.size() < k_checkpoint_magic.size() + 4) return false;
  uint32_t want = 0;
  for (size_t i = s.size() - 4; i < s.size(); ++i)
    want = (want << 8) | static_cast<uint8_t>(s[i]);
  if (crc32c(s.data(), s.size() - 4) != want || s.substr(0, 4) != k_checkpoint_magic) return false;
  try {
    state_reader r(s.substr(4, s.size() - 8));
    if (r.varint() != k_checkpoint_version) return false;
    if (r.varint() != static_cast<int64_t>(inputs_.size())) return false;
    std::vector<std::vector<partition_state>> parts(inputs_.size());
    for (auto& ps : parts) {
      for (int64_t n = r.varint(); n > 0; --n) {
        partition_state p;
        p.position = r.varint();
        p.max_ts = r.varint();
        p.last_data_ms = wall_ms();
        ps.push_back(p);
      }
    }
    int64_t wm = r.varint();
    auto& ops = o_.flow.operators;
    if (r.varint() != static_cast<int64_t>(ops.size())) return false;
    std::vector<std::string> blobs;
    for (size_t i = 0; i < ops.size(); ++i)
      blobs.push_back(r.string());
    for (size_t i = 0; i < ops.size(); ++i) {
      state_reader sr(blobs[i]);
      ops[i]->restore(sr);
    }
    for (size_t i = 0; i < inputs_.size(); ++i)
      for (size_t p = 0; p < parts[i].size() && p < inputs_[i].parts.size(); ++p)
        if (inputs_[i].parts[p].owned) {
          parts[i][p].owned = true;
          inputs_[i].parts[p] = parts[i][p];
        }
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
  s.state_bytes = state_bytes_;
  std::lock_guard lk(status_mu_);
  s.state = state_;
  s.error = error_;
  s.checkpoint_error = checkpoint_error_;
  for (const auto& in : inputs_)
    if (in.source)
      for (size_t p = 0; p < in.positions_pub.size(); ++p)
        if (owns(static_cast<int32_t>(p)))
          s.lag += std::max<int64_t>(
              0, in.source->end_offset(static_cast<int32_t>(p)) - in.positions_pub[p]);
  return s;
}

void query::measure_state() {
  last_measure_ = std::chrono::steady_clock::now();
  int64_t rows = 0;
  size_t bytes = 0, most = 0;
  const operator_node* biggest = nullptr;
  for (const auto& op : o_.flow.operators) {
    rows += static_cast<int64_t>(op->state_size());
    size_t b = op->state_bytes();
    bytes += b;
    if (b > most) {
      most = b;
      biggest = op.get();
    }
  }
  state_rows_ = rows;
  state_bytes_ = static_cast<int64_t>(bytes);
  if (bytes > o_.max_state_bytes)
    throw std::runtime_error(
        "its state holds about " + std::to_string(bytes) + " bytes in memory, more than " +
        "max_state_bytes (" + std::to_string(o_.max_state_bytes) + "), most of it in " +
        biggest->describe() + ": bound it (a window, state_ttl, fewer keys) or raise the limit " +
        "(WITH (max_state_bytes = '...'), --sql-max-state-bytes)");
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
    wake_->signal();
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return false;
}

std::string query::explain() const {
  std::string s;
  for (const auto& in : inputs_) {
    const auto& src = *in.spec;
    s += "Source topic '" + src.topic + "' (" + src.format;
    s += src.upsert ? ", upsert by primary key" : "";
    s += src.time_column >= 0
             ? ", event time " + src.schema[static_cast<size_t>(src.time_column)].name
             : ", event time = record timestamp";
    s += ", watermark delay " + std::to_string(src.watermark_delay_ms) + " ms)\n";
  }
  for (const auto& op : o_.flow.operators)
    s += "  -> " + op->describe() + "\n";
  s += "  dead letters -> topic '" + o_.dead_letter_topic + "'";
  return s;
}

}  // namespace sluice::stream
