#include "log/segment.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "base/clock.h"
#include "log/records.h"
#include "log/segment_format.h"

namespace sluice::log {

namespace fs = std::filesystem;
using namespace format;

namespace {

constexpr int64_t k_writeback_bytes = 1 << 20;  // append(): writeback started every MiB

// Sequential reader over a file with a large buffer, for scans.
class chunk_reader {
 public:
  chunk_reader(int fd, const fs::path& path, int64_t file_size, size_t chunk)
      : fd_(fd), path_(path), file_size_(file_size), chunk_(chunk) {}

  // Makes [pos, pos + n) available and returns a pointer to it, or nullptr past end of file.
  result<const uint8_t*> get(int64_t pos, size_t n) {
    if (pos + static_cast<int64_t>(n) > file_size_) return static_cast<const uint8_t*>(nullptr);
    if (pos < buf_pos_ || pos + static_cast<int64_t>(n) > buf_pos_ + static_cast<int64_t>(len_)) {
      size_t want = std::max(n, chunk_);
      want = static_cast<size_t>(std::min<int64_t>(static_cast<int64_t>(want), file_size_ - pos));
      if (buf_.size() < want) buf_.resize(want);
      if (auto r = pread_full(fd_, buf_.data(), want, pos, path_); !r) return r.error();
      buf_pos_ = pos;
      len_ = want;
    }
    return buf_.data() + (pos - buf_pos_);
  }

 private:
  int fd_;
  const fs::path& path_;
  int64_t file_size_;
  size_t chunk_;
  bytes buf_;
  int64_t buf_pos_ = 0;
  size_t len_ = 0;
};

result<int64_t> file_size_of(int fd, const fs::path& path) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return io_error("stat", path);
  return static_cast<int64_t>(st.st_size);
}

}  // namespace

fs::path segment::file_path(const fs::path& dir, int64_t base, const char* suffix) {
  char name[32];
  std::snprintf(name, sizeof name, "%020lld", static_cast<long long>(base));
  return dir / (std::string(name) + suffix);
}

segment::segment(fs::path dir, int64_t base, uint32_t index_interval, unique_fd fd)
    : dir_(std::move(dir)),
      path_(file_path(dir_, base, k_log_suffix)),
      base_(base),
      index_interval_(index_interval),
      fd_(std::move(fd)),
      next_offset_(base),
      created_ms_(now_ms()) {}

result<std::shared_ptr<segment>> segment::create(const fs::path& dir, int64_t base,
                                                 uint32_t index_interval) {
  auto path = file_path(dir, base, k_log_suffix);
  unique_fd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd.valid()) return io_error("create", path);
  return std::shared_ptr<segment>(new segment(dir, base, index_interval, std::move(fd)));
}

result<std::shared_ptr<segment>> segment::open(const fs::path& dir, int64_t base,
                                               uint32_t index_interval, open_mode mode) {
  auto path = file_path(dir, base, k_log_suffix);
  unique_fd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
  if (!fd.valid()) return io_error("open", path);
  auto size = file_size_of(fd.get(), path);
  if (!size) return size.error();
  std::shared_ptr<segment> s(new segment(dir, base, index_interval, std::move(fd)));
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) s->created_ms_ = static_cast<int64_t>(st.st_mtime) * 1000;

  int64_t scan_from = 0;
  bool verify = mode == open_mode::recover;
  if (!verify) {
    if (s->load_indexes(*size)) {
      scan_from = s->index_.empty() ? 0 : s->index_.back().pos;
    } else {
      verify = true;  // indexes unusable: rebuild them from a full, checked scan
    }
  }
  auto end = s->scan(scan_from, verify, *size);
  if (!end) return end.error();
  if (*end != *size) {
    if (::ftruncate(s->fd_.get(), *end) != 0) return io_error("truncate", path);
    s->truncated_on_open_ = true;
  }
  s->size_ = s->written_back_ = *end;
  return s;
}

void segment::note_batch(const batch_header& h, int64_t pos) {
  auto size = static_cast<int64_t>(h.size_bytes());
  if (bytes_since_index_ >= index_interval_ && (index_.empty() || pos > index_.back().pos)) {
    index_.push_back({static_cast<uint32_t>(h.base_offset - base_), static_cast<uint32_t>(pos)});
    bytes_since_index_ = 0;
  }
  bytes_since_index_ += size;
  if (h.max_timestamp > max_timestamp_) {
    max_timestamp_ = h.max_timestamp;
    max_timestamp_pos_ = pos;
    if ((time_index_.empty() || pos > time_index_.back().pos) &&
        (time_index_.empty() || bytes_since_time_index_ >= index_interval_)) {
      time_index_.push_back({h.max_timestamp, static_cast<uint32_t>(pos)});
      bytes_since_time_index_ = 0;
    }
  }
  bytes_since_time_index_ += size;
  next_offset_ = h.last_offset() + 1;
}

result<int64_t> segment::scan(int64_t from, bool verify, int64_t file_size) {
  chunk_reader rd(fd_.get(), path_, file_size, 1 << 20);
  int64_t pos = from;
  while (pos < file_size) {
    auto hp = rd.get(pos, k_batch_header_size);
    if (!hp) return hp.error();
    if (*hp == nullptr) break;  // torn header
    auto h = parse_batch_header(*hp);
    if (h.magic != 2 || h.batch_length < static_cast<int32_t>(k_min_batch_length) ||
        pos + static_cast<int64_t>(h.size_bytes()) > file_size || h.base_offset < next_offset_ ||
        h.last_offset_delta < 0)
      break;
    if (verify) {
      auto bp = rd.get(pos, h.size_bytes());
      if (!bp) return bp.error();
      if (!check_stored_batch(bytes_view(*bp, h.size_bytes()))) break;
    }
    note_batch(h, pos);
    pos += static_cast<int64_t>(h.size_bytes());
  }
  return pos;
}

bool segment::load_indexes(int64_t file_size) {
  auto idx = read_file(file_path(dir_, base_, k_index_suffix));
  auto tidx = read_file(file_path(dir_, base_, k_time_index_suffix));
  if (!idx || !tidx) return false;
  if (idx->size() % k_index_entry_size != 0 || tidx->size() % k_time_index_entry_size != 0)
    return false;
  std::vector<index_entry> index;
  for (size_t i = 0; i < idx->size(); i += k_index_entry_size) {
    index_entry e{load_be32(idx->data() + i), load_be32(idx->data() + i + 4)};
    if (e.pos >= file_size ||
        (!index.empty() && (e.pos <= index.back().pos || e.rel_offset <= index.back().rel_offset)))
      return false;
    index.push_back(e);
  }
  std::vector<time_entry> time_index;
  for (size_t i = 0; i < tidx->size(); i += k_time_index_entry_size) {
    time_entry e{static_cast<int64_t>(load_be64(tidx->data() + i)),
                 load_be32(tidx->data() + i + 8)};
    if (e.pos >= file_size ||
        (!time_index.empty() && (e.pos <= time_index.back().pos || e.ts < time_index.back().ts)))
      return false;
    time_index.push_back(e);
  }
  index_ = std::move(index);
  time_index_ = std::move(time_index);
  if (!time_index_.empty()) {
    max_timestamp_ = time_index_.back().ts;
    max_timestamp_pos_ = time_index_.back().pos;
    // The scan that follows starts at the last offset-index entry; batches before it are
    // already accounted for in the time index.
  }
  if (!index_.empty()) next_offset_ = base_ + index_.back().rel_offset;
  return true;
}

result<void> segment::append(bytes_view batch, const batch_header& h) {
  if (auto r = pwrite_full(fd_.get(), batch.data(), batch.size(), size_, path_); !r) {
    // Leave no partial batch behind: the next append must start at a batch boundary.
    [[maybe_unused]] int rc = ::ftruncate(fd_.get(), size_);
    return r;
  }
  note_batch(h, size_);
  size_ += static_cast<int64_t>(batch.size());
  dirty = true;
  // Start the writeback of each MiB as it fills (RocksDB's bytes_per_sync): dirty pages do not
  // pile up for the kernel to flush in bursts that every later sync of the disk queues behind
  // (bench/noisy_neighbour.sh). Advisory: its errors surface at the next fdatasync.
  if (size_ - written_back_ >= k_writeback_bytes) {
    [[maybe_unused]] int rc =
        ::sync_file_range(fd_.get(), written_back_, size_ - written_back_, SYNC_FILE_RANGE_WRITE);
    written_back_ = size_;
  }
  return {};
}

result<int64_t> segment::batch_size_at(int64_t pos) const {
  uint8_t hdr[k_batch_length_prefix];
  if (auto r = pread_full(fd_.get(), hdr, sizeof hdr, pos, path_); !r) return r.error();
  return static_cast<int64_t>(k_batch_length_prefix) +
         static_cast<int32_t>(load_be32(hdr + k_batch_length_at));
}

result<int64_t> segment::position_of(int64_t offset) const {
  if (offset <= base_) return int64_t{0};  // also an offset compacted away before the segment
  auto rel = static_cast<uint32_t>(offset - base_);
  auto it = std::upper_bound(index_.begin(), index_.end(), rel,
                             [](uint32_t r, const index_entry& e) { return r < e.rel_offset; });
  int64_t pos = it == index_.begin() ? 0 : std::prev(it)->pos;
  chunk_reader rd(fd_.get(), path_, size_, 16 << 10);
  while (pos < size_) {
    auto hp = rd.get(pos, k_last_offset_delta_at + 4);
    if (!hp) return hp.error();
    if (*hp == nullptr) break;
    int64_t b = static_cast<int64_t>(load_be64(*hp + k_base_offset_at));
    int32_t delta = static_cast<int32_t>(load_be32(*hp + k_last_offset_delta_at));
    if (b + delta >= offset) return pos;
    pos += static_cast<int64_t>(k_batch_length_prefix) +
           static_cast<int32_t>(load_be32(*hp + k_batch_length_at));
  }
  return pos;
}

result<std::optional<int64_t>> segment::offset_for_time(int64_t ts) const {
  if (max_timestamp_ < ts) return std::optional<int64_t>{};
  auto it = std::lower_bound(time_index_.begin(), time_index_.end(), ts,
                             [](const time_entry& e, int64_t t) { return e.ts < t; });
  int64_t pos = it == time_index_.begin() ? 0 : std::prev(it)->pos;
  chunk_reader rd(fd_.get(), path_, size_, 64 << 10);
  while (pos < size_) {
    auto hp = rd.get(pos, k_batch_header_size);
    if (!hp) return hp.error();
    if (*hp == nullptr) break;
    auto h = parse_batch_header(*hp);
    if (h.max_timestamp >= ts && !h.control()) {
      // The first record of the batch at or after ts (a batch may hold older ones first).
      auto bp = rd.get(pos, h.size_bytes());
      if (!bp) return bp.error();
      std::optional<int64_t> found;
      if (*bp != nullptr)
        (void)for_each_record(bytes_view(*bp, h.size_bytes()), [&](const record_view& rv) {
          if (!found && rv.timestamp >= ts) found = rv.offset;
        });
      return std::optional<int64_t>{found.value_or(h.base_offset)};
    }
    pos += static_cast<int64_t>(h.size_bytes());
  }
  return std::optional<int64_t>{};
}

result<std::optional<std::pair<int64_t, int64_t>>> segment::max_timestamp_record() const {
  using found_type = std::optional<std::pair<int64_t, int64_t>>;
  if (empty() || max_timestamp_ < 0) return found_type{};
  chunk_reader rd(fd_.get(), path_, size_, 64 << 10);
  int64_t pos = max_timestamp_pos_;
  while (pos < size_) {
    auto hp = rd.get(pos, k_batch_header_size);
    if (!hp) return hp.error();
    if (*hp == nullptr) break;
    auto h = parse_batch_header(*hp);
    if (h.max_timestamp == max_timestamp_ && !h.control()) {
      auto bp = rd.get(pos, h.size_bytes());
      if (!bp) return bp.error();
      found_type found;
      if (*bp != nullptr)
        (void)for_each_record(bytes_view(*bp, h.size_bytes()), [&](const record_view& rv) {
          if (!found && rv.timestamp == max_timestamp_) found = {rv.offset, rv.timestamp};
        });
      return found ? found : found_type{{h.base_offset + h.last_offset_delta, max_timestamp_}};
    }
    pos += static_cast<int64_t>(h.size_bytes());
  }
  return found_type{};
}

result<void> segment::visit_headers(int64_t from, const batch_visitor& visit) const {
  if (from >= next_offset_) return {};
  auto start = from <= base_ ? result<int64_t>(0) : position_of(from);
  if (!start) return start.error();
  chunk_reader rd(fd_.get(), path_, size_, 1 << 20);
  int64_t pos = *start;
  while (pos < size_) {
    auto hp = rd.get(pos, k_batch_header_size);
    if (!hp) return hp.error();
    if (*hp == nullptr) break;
    auto h = parse_batch_header(*hp);
    if (h.base_offset >= from) {
      std::optional<control_type> marker;
      if (h.control()) {
        auto bp = rd.get(pos, h.size_bytes());
        if (!bp) return bp.error();
        if (*bp != nullptr) marker = control_marker(bytes_view(*bp, h.size_bytes()));
      }
      visit(h, marker);
    }
    pos += static_cast<int64_t>(h.size_bytes());
  }
  return {};
}

result<void> segment::for_each_batch(int64_t limit,
                                     const std::function<void(bytes_view)>& fn) const {
  chunk_reader rd(fd_.get(), path_, limit, 1 << 20);
  int64_t pos = 0;
  while (pos < limit) {
    auto hp = rd.get(pos, k_batch_length_prefix);
    if (!hp) return hp.error();
    if (*hp == nullptr) break;
    auto size = static_cast<size_t>(k_batch_length_prefix) +
                static_cast<uint32_t>(load_be32(*hp + k_batch_length_at));
    auto bp = rd.get(pos, size);
    if (!bp) return bp.error();
    if (*bp == nullptr) break;
    fn(bytes_view(*bp, size));
    pos += static_cast<int64_t>(size);
  }
  return {};
}

result<void> segment::write_indexes() const {
  bytes idx(index_.size() * k_index_entry_size);
  for (size_t i = 0; i < index_.size(); ++i) {
    store_be32(idx.data() + i * k_index_entry_size, index_[i].rel_offset);
    store_be32(idx.data() + i * k_index_entry_size + 4, index_[i].pos);
  }
  auto entries = time_index_;
  if (max_timestamp_ >= 0 && (entries.empty() || entries.back().ts < max_timestamp_)) {
    if (!entries.empty() && entries.back().pos >= max_timestamp_pos_) entries.pop_back();
    entries.push_back({max_timestamp_, static_cast<uint32_t>(max_timestamp_pos_)});
  }
  bytes tidx(entries.size() * k_time_index_entry_size);
  for (size_t i = 0; i < entries.size(); ++i) {
    store_be64(tidx.data() + i * k_time_index_entry_size, static_cast<uint64_t>(entries[i].ts));
    store_be32(tidx.data() + i * k_time_index_entry_size + 8, entries[i].pos);
  }
  if (auto r = write_file_atomic(file_path(dir_, base_, k_index_suffix), idx, false); !r) return r;
  return write_file_atomic(file_path(dir_, base_, k_time_index_suffix), tidx, false);
}

result<void> segment::sync() const {
  if (::fdatasync(fd_.get()) != 0) return io_error("fdatasync", path_);
  return {};
}

void segment::remove_files() {
  std::error_code ec;
  for (const char* suffix : {k_log_suffix, k_index_suffix, k_time_index_suffix})
    fs::remove(file_path(dir_, base_, suffix), ec);
}

}  // namespace sluice::log
