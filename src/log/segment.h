#pragma once
// One segment of a partition: a .log file of record batches with its sparse offset and time
// indexes (held in memory, written to .index/.timeindex when the segment is sealed or the
// broker stops cleanly). Format: log/segment_format.h.
//
// Thread safety: none. A segment is owned by its partition and mutated under the partition's
// lock; the file descriptor may be read (pread) from any thread without the lock for byte
// ranges below a size observed under the lock.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "base/bytes.h"
#include "base/file.h"
#include "base/result.h"
#include "log/record_batch.h"

namespace sluice::log {

class segment {
 public:
  enum class open_mode {
    trusted,  // indexes come from their files (rebuilt by a scan if missing or invalid)
    recover,  // every batch is read and CRC-checked; a torn or corrupt tail is truncated
  };

  // Called for every batch, in offset order, with the marker type of a control batch.
  using batch_visitor = std::function<void(const batch_header&, std::optional<control_type>)>;

  static result<std::shared_ptr<segment>> create(const std::filesystem::path& dir, int64_t base,
                                                 uint32_t index_interval);
  static result<std::shared_ptr<segment>> open(const std::filesystem::path& dir, int64_t base,
                                               uint32_t index_interval, open_mode mode);

  static std::filesystem::path file_path(const std::filesystem::path& dir, int64_t base,
                                         const char* suffix);

  int64_t base_offset() const { return base_; }
  int64_t next_offset() const { return next_offset_; }  // == base_offset() when empty
  int64_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  int64_t max_timestamp() const { return max_timestamp_; }  // -1 when empty
  int64_t created_ms() const { return created_ms_; }
  bool truncated_on_open() const { return truncated_on_open_; }
  int fd() const { return fd_.get(); }
  const std::filesystem::path& path() const { return path_; }

  // Appends one batch whose header `h` already carries its assigned offsets.
  result<void> append(bytes_view batch, const batch_header& h);

  // File position of the batch that holds `offset` (or the first batch after it).
  // REQUIRES: offset < next_offset().
  result<int64_t> position_of(int64_t offset) const;
  // Size in bytes of the batch that starts at `pos`.
  result<int64_t> batch_size_at(int64_t pos) const;
  // The offset of the first record at or after `ts` in the first batch whose max timestamp
  // is >= ts (Kafka's rule), if any.
  result<std::optional<int64_t>> offset_for_time(int64_t ts) const;
  // The (offset, timestamp) of the first record with this segment's largest timestamp.
  result<std::optional<std::pair<int64_t, int64_t>>> max_timestamp_record() const;
  // Visits the headers of all batches from offset `from` on (used to rebuild producer state).
  result<void> visit_headers(int64_t from, const batch_visitor& visit) const;
  // Visits every whole batch in the first `limit` bytes of the file, in order.
  result<void> for_each_batch(int64_t limit, const std::function<void(bytes_view)>& fn) const;

  result<void> write_indexes() const;
  result<void> sync() const;
  void remove_files();

  bool dirty = false;  // holds data not yet fdatasync'ed; guarded by the partition's lock

 private:
  struct index_entry {
    uint32_t rel_offset;
    uint32_t pos;
  };
  struct time_entry {
    int64_t ts;
    uint32_t pos;
  };

  segment(std::filesystem::path dir, int64_t base, uint32_t index_interval, unique_fd fd);

  // Reads batches from `from` up to the end of the file, updating indexes, next offset and
  // max timestamp. With `verify`, each batch's CRC is checked and the file is truncated at
  // the first bad batch. Returns the position after the last good batch.
  result<int64_t> scan(int64_t from, bool verify, int64_t file_size);
  bool load_indexes(int64_t file_size);
  void note_batch(const batch_header& h, int64_t pos);

  std::filesystem::path dir_;
  std::filesystem::path path_;
  int64_t base_;
  uint32_t index_interval_;
  unique_fd fd_;
  int64_t size_ = 0;
  int64_t written_back_ = 0;  // writeback started below this (append)
  int64_t next_offset_;
  int64_t max_timestamp_ = -1;
  int64_t max_timestamp_pos_ = 0;
  int64_t created_ms_;
  int64_t bytes_since_index_ = 0;
  int64_t bytes_since_time_index_ = 0;
  bool truncated_on_open_ = false;
  std::vector<index_entry> index_;
  std::vector<time_entry> time_index_;
};

}  // namespace sluice::log
