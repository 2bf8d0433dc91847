#include <rocksdb/compaction_filter.h>
#include <rocksdb/db.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/write_batch.h>

#include <chrono>
#include <system_error>

#include "stream/state_store.h"

namespace sluice::stream {

namespace {

namespace fs = std::filesystem;

error_info io(const std::string& what, const rocksdb::Status& s) {
  return make_error(errc::io_error, what + ": " + s.ToString());
}

// Drops values whose time prefix (state_store.h) is older than the TTL.
class ttl_filter final : public rocksdb::CompactionFilter {
 public:
  explicit ttl_filter(int64_t ttl_ms) : ttl_ms_(ttl_ms) {}
  bool Filter(int, const rocksdb::Slice&, const rocksdb::Slice& value, std::string*,
              bool*) const override {
    if (value.size() < 8) return false;
    uint64_t t = 0;
    for (int i = 7; i >= 0; --i)
      t = (t << 8) | static_cast<uint8_t>(value.data()[i]);
    int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
    return now - static_cast<int64_t>(t) > ttl_ms_;
  }
  const char* Name() const override { return "sluice.state_ttl"; }

 private:
  int64_t ttl_ms_;
};

class rocksdb_store final : public state_store {
 public:
  rocksdb_store(fs::path folder, int64_t ttl_ms) : folder_(std::move(folder)) {
    if (ttl_ms > 0) filter_ = std::make_unique<ttl_filter>(ttl_ms);
  }
  ~rocksdb_store() override { close(); }

  result<void> open() {
    rocksdb::Options o;
    o.create_if_missing = true;
    // State is rebuilt from the query's checkpoint after a crash: the write-ahead log is not
    // needed, checkpoints flush the memtable.
    o.manual_wal_flush = true;
    o.max_open_files = 256;
    o.write_buffer_size = 32 << 20;
    rocksdb::BlockBasedTableOptions t;
    t.block_cache = rocksdb::NewLRUCache(64 << 20);
    o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
    if (filter_) {
      o.compaction_filter = filter_.get();
      // Compact files that have not been for a day, so that idle state goes even when
      // nothing else triggers a compaction.
      o.periodic_compaction_seconds = 86'400;
    }
    rocksdb::DB* db = nullptr;
    auto s = rocksdb::DB::Open(o, (folder_ / "db").string(), &db);
    if (!s.ok()) return io("opening state " + (folder_ / "db").string(), s);
    db_.reset(db);
    wo_.disableWAL = true;
    return {};
  }

  bool get(std::string_view key, std::string& value) override {
    auto s = db_->Get(rocksdb::ReadOptions(), rocksdb::Slice(key.data(), key.size()), &value);
    return s.ok();
  }

  void put(std::string_view key, std::string_view value) override {
    batch_.Put(rocksdb::Slice(key.data(), key.size()), rocksdb::Slice(value.data(), value.size()));
    maybe_commit();
  }

  void erase(std::string_view key) override {
    batch_.Delete(rocksdb::Slice(key.data(), key.size()));
    maybe_commit();
  }

  result<void> commit() override {
    if (batch_.Count() == 0) return {};
    auto s = db_->Write(wo_, &batch_);
    batch_.Clear();
    if (!s.ok()) return io("writing state", s);
    return {};
  }

  void for_each(const std::function<void(std::string_view, std::string_view)>& fn) override {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
    for (it->SeekToFirst(); it->Valid(); it->Next())
      fn(std::string_view(it->key().data(), it->key().size()),
         std::string_view(it->value().data(), it->value().size()));
  }

  result<void> checkpoint(uint64_t n) override {
    if (auto r = commit(); !r) return r;
    auto dir = folder_ / ("ckpt-" + std::to_string(n));
    std::error_code ec;
    fs::remove_all(dir, ec);
    rocksdb::Checkpoint* cp = nullptr;
    auto s = rocksdb::Checkpoint::Create(db_.get(), &cp);
    if (!s.ok()) return io("checkpoint", s);
    std::unique_ptr<rocksdb::Checkpoint> owner(cp);
    s = cp->CreateCheckpoint(dir.string());
    if (!s.ok()) return io("checkpoint " + dir.string(), s);
    // Keep this one and the one before it (the query's file may still name that one).
    for (const auto& e : fs::directory_iterator(folder_, ec)) {
      auto name = e.path().filename().string();
      if (name.rfind("ckpt-", 0) != 0) continue;
      uint64_t m = std::strtoull(name.c_str() + 5, nullptr, 10);
      if (m + 1 < n) fs::remove_all(e.path(), ec);
    }
    return {};
  }

  result<void> restore(uint64_t n) override {
    auto src = folder_ / ("ckpt-" + std::to_string(n));
    std::error_code ec;
    if (!fs::is_directory(src, ec))
      return make_error(errc::io_error, "state checkpoint " + src.string() + " is missing");
    close();
    auto db = folder_ / "db";
    fs::remove_all(db, ec);
    fs::create_directories(db, ec);
    if (ec) return make_error(errc::io_error, "cannot create " + db.string() + ": " + ec.message());
    // SST files never change: link them; the others (MANIFEST, CURRENT, OPTIONS) are copied.
    for (const auto& e : fs::directory_iterator(src, ec)) {
      auto to = db / e.path().filename();
      if (e.path().extension() == ".sst") {
        fs::create_hard_link(e.path(), to, ec);
        if (!ec) continue;
      }
      fs::copy_file(e.path(), to, fs::copy_options::overwrite_existing, ec);
      if (ec) return make_error(errc::io_error, "restoring state: " + ec.message());
    }
    return open();
  }

  result<void> clear() override {
    close();
    std::error_code ec;
    fs::remove_all(folder_ / "db", ec);
    return open();
  }

  uint64_t approximate_keys() override {
    uint64_t n = 0;
    db_->GetIntProperty("rocksdb.estimate-num-keys", &n);
    return n;
  }

 private:
  void maybe_commit() {
    if (batch_.GetDataSize() >= (4u << 20)) (void)commit();
  }
  void close() {
    if (db_) (void)commit();
    db_.reset();
  }

  fs::path folder_;
  std::unique_ptr<ttl_filter> filter_;  // outlives db_
  std::unique_ptr<rocksdb::DB> db_;
  rocksdb::WriteOptions wo_;
  rocksdb::WriteBatch batch_;
};

}  // namespace

result<std::unique_ptr<state_store>> open_rocksdb_store(const fs::path& folder, int64_t ttl_ms) {
  std::error_code ec;
  fs::create_directories(folder, ec);
  if (ec)
    return make_error(errc::io_error, "cannot create " + folder.string() + ": " + ec.message());
  auto s = std::make_unique<rocksdb_store>(folder, ttl_ms);
  if (auto r = s->open(); !r) return r.error();
  return std::unique_ptr<state_store>(std::move(s));
}

}  // namespace sluice::stream
