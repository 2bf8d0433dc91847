// An operation-sequence fuzzer on a partition's files, as RocksDB's db_fuzzer: each input is a
// sequence of operations run against a model of what was appended:
//   append a batch (1-4 records of varied sizes; small segments, so rolls happen), sync,
//   reopen cleanly, crash (reopen without a clean close), crash with the last segment cut as a
//   torn write leaves it (never into what was synced), crash with garbage after the last batch,
//   delete an index file and reopen.
// After every reopen and at the end, every offset below the high watermark must read back the
// value the model has for it, and the high watermark must be what the operations allow: all
// records after a clean reopen or a plain crash, every batch that ended before a cut.

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "base/clock.h"
#include "log/partition.h"
#include "log/records.h"
#include "tests/unit/batch_builder.h"

using namespace sluice;
namespace fs = std::filesystem;

namespace {

[[noreturn]] void broken(const std::string& what) {
  std::fprintf(stderr, "log_fuzzer: %s\n", what.c_str());
  std::abort();
}

struct written_batch {
  fs::path file;
  int64_t end = 0;          // the file's size after it
  int64_t next_offset = 0;  // its last offset + 1
};

class harness {
 public:
  explicit harness(fs::path dir) : dir_(std::move(dir)) {
    fs::remove_all(dir_);
    config_.segment_bytes = 2048;
    config_.index_interval_bytes = 256;
    reopen(true);
  }
  ~harness() {
    p_.reset();
    fs::remove_all(dir_);
  }

  void append(uint8_t n, uint8_t pad) {
    test::batch_spec s;
    int64_t next = static_cast<int64_t>(model_.size());
    for (int i = 0; i < 1 + n % 4; ++i)
      s.values.push_back("o" + std::to_string(next + i) + std::string((pad * (i + 1)) % 300, 'x'));
    auto b = test::build_batch(s);
    auto r = p_->append(b, now_ms());
    if (!r) broken("append failed: " + r.error().message);
    if (r->base_offset.value() != next) broken("append at an unexpected offset");
    for (auto& v : s.values)
      model_.push_back(std::move(v));
    auto last = last_segment();
    written_.push_back(
        {last, static_cast<int64_t>(fs::file_size(last)), static_cast<int64_t>(model_.size())});
  }

  void sync() {
    auto t = p_->begin_flush();
    auto r = p_->sync_files(t);
    p_->end_flush(t, r);
    if (!r) broken("sync failed: " + r.error().message);
    synced_ = written_.empty() ? 0 : written_.back().next_offset;
  }

  void reopen(bool clean) {
    if (p_ && clean)
      if (auto r = p_->close(); !r) broken("close failed: " + r.error().message);
    p_.reset();
    auto p = log::partition::open(dir_, model::partition_id(0), config_, clean, nullptr);
    if (!p) broken("open failed: " + p.error().message);
    p_ = std::move(*p);
    check();
  }

  // A crash that left the last segment `cut` bytes shorter (a torn write), never into what a
  // sync covered: every batch that ended before the cut is kept.
  void crash_with_torn_tail(uint8_t cut) {
    p_.reset();
    auto last = last_segment();
    int64_t size = static_cast<int64_t>(fs::file_size(last));
    int64_t floor = 0;  // the synced part of the last segment
    for (const auto& w : written_)
      if (w.file == last && w.next_offset <= synced_) floor = w.end;
    int64_t to = std::max(floor, size - 1 - cut);
    fs::resize_file(last, static_cast<uintmax_t>(to));
    int64_t kept = 0;
    for (const auto& w : written_)
      if (w.file != last || w.end <= to) kept = std::max(kept, w.next_offset);
    model_.resize(static_cast<size_t>(kept));
    std::erase_if(written_, [&](const written_batch& w) { return w.next_offset > kept; });
    reopen(false);
  }

  // A crash after part of a batch was written: bytes after the last whole batch.
  void crash_with_garbage(bytes_view garbage) {
    p_.reset();
    int fd = ::open(last_segment().c_str(), O_WRONLY | O_APPEND);
    if (fd < 0) broken("cannot open the last segment");
    if (::write(fd, garbage.data(), garbage.size()) < 0) broken("cannot write garbage");
    ::close(fd);
    reopen(false);
  }

  void lose_an_index(uint8_t which) {
    if (auto r = p_->close(); !r) broken("close failed: " + r.error().message);
    p_.reset();
    std::vector<fs::path> indexes;
    for (const auto& e : fs::directory_iterator(dir_))
      if (e.path().extension() == ".index") indexes.push_back(e.path());
    std::sort(indexes.begin(), indexes.end());
    if (!indexes.empty()) fs::remove(indexes[which % indexes.size()]);
    reopen(true);
  }

  // Every offset below the high watermark reads back its model value; the high watermark is
  // the model's end.
  void check() const {
    int64_t hw = p_->high_watermark().value();
    if (hw != static_cast<int64_t>(model_.size()))
      broken("high watermark " + std::to_string(hw) + ", expected " +
             std::to_string(model_.size()));
    int64_t next = 0;
    while (next < hw) {
      auto r = p_->read(model::offset(next), 4096);
      if (!r || r->len == 0) broken("read at " + std::to_string(next) + " returned nothing");
      bytes buf(r->len);
      if (!r->copy_to(buf.data())) broken("copy failed");
      int64_t before = next;
      auto done = log::for_each_record_from(buf, next, [&](const log::record_view& rec) {
        if (rec.offset != next) broken("offset " + std::to_string(rec.offset) + " out of order");
        auto v = rec.value ? std::string(reinterpret_cast<const char*>(rec.value->data()),
                                         rec.value->size())
                           : std::string();
        if (v != model_[static_cast<size_t>(next)])
          broken("offset " + std::to_string(next) + " reads another value");
        ++next;
      });
      if (!done || next == before) broken("no whole batch at " + std::to_string(before));
    }
  }

 private:
  fs::path last_segment() const {
    fs::path last;
    for (const auto& e : fs::directory_iterator(dir_))
      if (e.path().extension() == ".log" && (last.empty() || e.path() > last)) last = e.path();
    if (last.empty()) broken("no segment file");
    return last;
  }

  const fs::path dir_;
  log::topic_config config_;
  std::shared_ptr<log::partition> p_;
  std::vector<std::string> model_;  // by offset
  std::vector<written_batch> written_;
  int64_t synced_ = 0;  // offsets below it are synced
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const fs::path dir =
      fs::temp_directory_path() / ("sluice-log-fuzz-" + std::to_string(::getpid()));
  harness h(dir);
  size_t i = 0;
  auto next = [&]() -> uint8_t { return i < size ? data[i++] : 0; };
  for (int ops = 0; i < size && ops < 64; ++ops) {
    switch (next() % 8) {
      case 0:
      case 1:
      case 2: {
        uint8_t n = next();
        h.append(n, next());
        break;
      }
      case 3:
        h.sync();
        break;
      case 4:
        h.reopen(next() % 2 == 0);
        break;
      case 5:
        h.crash_with_torn_tail(next());
        break;
      case 6: {
        size_t n = std::min<size_t>(next() % 64 + 1, size - i);
        h.crash_with_garbage(bytes_view(data + i, n));
        i += n;
        break;
      }
      case 7:
        h.lose_an_index(next());
        break;
    }
  }
  h.check();
  return 0;
}
