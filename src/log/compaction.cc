// Log compaction (cleanup.policy=compact): see partition::compact in partition.h. A rewritten
// batch of compressed records is stored uncompressed (recompressing is a later step).

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <unordered_map>

#include "base/crc32c.h"
#include "base/file.h"
#include "log/partition.h"
#include "log/record_batch.h"
#include "log/records.h"
#include "log/segment.h"
#include "log/segment_format.h"

namespace sluice::log {

namespace fs = std::filesystem;
using namespace format;

namespace {

// The batch with only the `count` records in `records` (their encoded bytes, in order).
// Base offset, last offset delta, timestamps and producer fields stay, so every kept record
// keeps its offset and timestamp. The result is uncompressed.
bytes rewrite_batch(bytes_view original, const bytes& records, int32_t count) {
  bytes b(k_batch_header_size + records.size());
  std::copy(original.begin(), original.begin() + k_batch_header_size, b.begin());
  std::copy(records.begin(), records.end(), b.begin() + k_batch_header_size);
  store_be32(&b[k_batch_length_at], static_cast<uint32_t>(b.size() - k_batch_length_prefix));
  store_be32(&b[k_record_count_at], static_cast<uint32_t>(count));
  store_be16(&b[k_attributes_at],
             static_cast<uint16_t>(load_be16(&b[k_attributes_at]) & ~k_codec_mask));
  store_be32(&b[k_crc_offset],
             crc32c(b.data() + k_crc_covered_from, b.size() - k_crc_covered_from));
  return b;
}

bool decodable(const batch_header& h) {
  return !h.control();
}

}  // namespace

result<int> partition::compact(int64_t now) {
  std::vector<std::shared_ptr<segment>> sealed;
  std::shared_ptr<segment> active;
  int64_t active_size = 0;
  topic_config cfg;
  // Records of open transactions (from the last stable offset on) may still abort: they
  // neither replace older values nor are compacted. Aborted records never count.
  int64_t stable = 0;
  std::vector<aborted_transaction> aborted;
  {
    std::lock_guard lk(mu_);
    if (deleted_ || !config_.compact()) return 0;
    cfg = config_;
    stable = last_stable_locked();
    aborted = producers_.aborted_between(log_start_, next_offset_);
    for (const auto& [base, s] : segments_)
      if (s != active_) sealed.push_back(s);
    active = active_;
    active_size = active_->size();
  }
  if (sealed.empty()) return 0;

  // Pass 1: the newest offset of every key in the whole log.
  std::unordered_map<std::string, int64_t> newest;
  result<void> bad;
  auto note = [&](bytes_view batch) {
    auto h = parse_batch_header(batch.data());
    if (!decodable(h) || h.base_offset >= stable || in_aborted_transaction(h, aborted)) return;
    auto r = for_each_record(batch, [&](const record_view& rv) {
      if (rv.key) newest[as_string(*rv.key)] = rv.offset;
    });
    if (!r) bad = r;
  };
  for (const auto& s : sealed)
    if (auto r = s->for_each_batch(s->size(), note); !r) return r.error();
  if (auto r = active->for_each_batch(active_size, note); !r) return r.error();
  if (!bad) return bad.error();

  // Pass 2: rewrite each sealed segment that loses records.
  int rewritten = 0;
  for (const auto& s : sealed) {
    if (cfg.min_compaction_lag_ms > 0 && s->max_timestamp() > now - cfg.min_compaction_lag_ms)
      break;  // this segment and every later one hold records too young to compact
    if (s->next_offset() > stable) break;  // holds records of a transaction still open
    auto tmp = segment::file_path(dir_, s->base_offset(), ".log.cleaned");
    unique_fd out(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!out.valid()) return io_error("create", tmp);
    bytes buf;
    int64_t written = 0;
    bool changed = false;
    result<void> failed;
    // A segment never loses its last record: a consumer whose position falls in a
    // compacted-away range must find a batch to move past it even when no data follows yet
    // (librdkafka 2.0 cannot read the empty batches Kafka keeps for that). Compaction only
    // promises the newest value of each key; an older one left behind is allowed.
    bytes trailing_last;
    auto emit = [&](bytes_view b) {
      trailing_last.clear();
      buf.insert(buf.end(), b.begin(), b.end());
      if (buf.size() >= (1 << 20) && failed) {
        failed = pwrite_full(out.get(), buf.data(), buf.size(), written, tmp);
        written += static_cast<int64_t>(buf.size());
        buf.clear();
      }
    };
    auto r = s->for_each_batch(s->size(), [&](bytes_view batch) {
      auto h = parse_batch_header(batch.data());
      if (!decodable(h)) return emit(batch);
      const bool aborted_batch = in_aborted_transaction(h, aborted);
      const bool tombstones_expired = h.max_timestamp < now - cfg.delete_retention_ms;
      bytes kept;
      bytes last_record;
      int32_t kept_count = 0, total = 0;
      auto decoded = for_each_record(batch, [&](const record_view& rv) {
        ++total;
        last_record.assign(rv.raw.begin(), rv.raw.end());
        bool keep = !aborted_batch && (!rv.key || newest[as_string(*rv.key)] == rv.offset);
        if (keep && !rv.value && tombstones_expired) keep = false;
        if (keep) {
          kept.insert(kept.end(), rv.raw.begin(), rv.raw.end());
          ++kept_count;
        }
      });
      if (!decoded || kept_count == total) return emit(batch);  // undecodable: keep it whole
      changed = true;
      if (kept_count > 0) {
        emit(rewrite_batch(batch, kept, kept_count));
      } else {
        trailing_last = rewrite_batch(batch, last_record, 1);
      }
    });
    if (!r) return r.error();
    if (!trailing_last.empty()) {
      auto last = std::move(trailing_last);
      emit(last);
    }
    if (failed && !buf.empty())
      failed = pwrite_full(out.get(), buf.data(), buf.size(), written, tmp);
    if (!failed) return failed.error();
    if (!changed) {
      out = unique_fd();
      std::error_code ec;
      fs::remove(tmp, ec);
      continue;
    }
    if (::fdatasync(out.get()) != 0) return io_error("fdatasync", tmp);
    out = unique_fd();

    // Swap: the cleaned file takes the segment's name; readers of the old one keep its fd.
    std::lock_guard lk(mu_);
    auto it = segments_.find(s->base_offset());
    if (deleted_ || it == segments_.end() || it->second != s) {
      std::error_code ec;
      fs::remove(tmp, ec);
      continue;  // deleted by retention (or the topic) meanwhile
    }
    auto path = segment::file_path(dir_, s->base_offset(), k_log_suffix);
    if (::rename(tmp.c_str(), path.c_str()) != 0) return io_error("rename", tmp);
    std::error_code ec;
    fs::remove(segment::file_path(dir_, s->base_offset(), k_index_suffix), ec);
    fs::remove(segment::file_path(dir_, s->base_offset(), k_time_index_suffix), ec);
    auto fresh =
        segment::open(dir_, s->base_offset(), static_cast<uint32_t>(config_.index_interval_bytes),
                      segment::open_mode::trusted);
    if (!fresh) return fresh.error();
    if (auto w = (*fresh)->write_indexes(); !w) return w.error();
    spdlog::debug("{}: compacted segment {}: {} -> {} bytes", dir_.string(), s->base_offset(),
                  s->size(), (*fresh)->size());
    it->second = std::move(*fresh);
    dir_dirty_ = true;
    ++rewritten;
  }
  return rewritten;
}

}  // namespace sluice::log
