#pragma once
// Operator state by key (a row) that may outgrow memory: a cache of at most about
// `cache_rows` entries in memory, the rest in the operator's RocksDB store (state_store.h)
// once open() gave it one. Used by the unwindowed GROUP BY, the changelog normalizer, joins
// and DISTINCT.
//
// Checkpoints: snapshot() writes every changed entry to the store and names a RocksDB
// checkpoint (or, without a store, writes the entries inline); restore() reads either back.
// Without a store the cache is unbounded.
//
// References returned by find()/get() stay valid until the next erase() or end_batch();
// end_batch() is where the cache is trimmed. One thread (the query's).
//
// A state TTL (set_ttl) drops entries not written for that long (wall-clock time, as Flink's
// state TTL, whose default is to refresh on create and write): from the cache as it is swept (once
// a second), from the store as expired values are read or compacted away (state_store.h); an
// expired entry is simply gone, nothing is emitted for it.
//
// A key not in the cache is looked up in RocksDB only when a Bloom filter of the keys ever
// written there says it may be (a new key, the common case of a growing state, costs no
// RocksDB read); the filter is rebuilt from the store when a checkpoint is restored.

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/result.h"
#include "stream/memory.h"
#include "stream/state_codec.h"
#include "stream/state_store.h"
#include "stream/value.h"

namespace sluice::stream {

template <class V>
class keyed_state {
 public:
  using encode_fn = std::function<void(state_writer&, const V&)>;
  using decode_fn = std::function<V(state_reader&)>;

  keyed_state(size_t cache_rows, encode_fn encode, decode_fn decode)
      : cache_rows_(std::max<size_t>(cache_rows, 1)),
        encode_(std::move(encode)),
        decode_(std::move(decode)) {}

  // Entries not written for `ttl_ms` (> 0) are dropped. REQUIRES: before open().
  void set_ttl(int64_t ttl_ms) { ttl_ms_ = ttl_ms; }

  // Opens (creating) the store in `dir` and empties it: a query without a checkpoint starts
  // over, so whatever an earlier run left is stale.
  result<void> open(const std::filesystem::path& dir) {
    auto s = open_rocksdb_store(dir, ttl_ms_);
    if (!s) return s.error();
    store_ = std::move(*s);
    stored_.assign(k_filter_bits / 64, 0);
    return store_->clear();
  }
  bool has_store() const { return store_ != nullptr; }

  // The entry of `key`, or nullptr when there is none.
  V* find(const row& key) {
    auto it = cache_.find(key);
    if (it != cache_.end()) return it->second.present ? &it->second.v : nullptr;
    std::string bytes;
    if (!store_ || !maybe_stored(row_hash()(key)) || !store_->get(encode_key(key), bytes))
      return nullptr;
    std::string_view body = bytes;
    if (ttl_ms_ > 0) {
      if (body.size() < 8) return nullptr;
      if (now_ - read_time(body) > ttl_ms_) {
        erase(key);  // expired, not yet compacted away
        return nullptr;
      }
      body.remove_prefix(8);
    }
    state_reader r(body);
    auto& s = cache_.emplace(key, slot{decode_(r), false, batch_}).first->second;
    s.used = ttl_ms_ > 0 ? read_time(bytes) : 0;
    return &s.v;
  }
  // The entry of `key`, created (value-initialized) when there is none; marked changed.
  V& get(const row& key) {
    V* v = find(key);
    if (!v) {
      auto& s = cache_[key];  // new, or an erased entry not yet written
      s = slot{V{}, true, batch_};
      v = &s.v;
    }
    touch(key);
    return *v;
  }
  // Marks the entry of `key` (REQUIRES: cached, as after find()) changed.
  void touch(const row& key) {
    auto& s = cache_.at(key);
    s.dirty = true;
    s.batch = batch_;
    if (ttl_ms_ > 0) s.used = wall_ms();
  }
  void erase(const row& key) {
    if (!store_) {
      cache_.erase(key);
      return;
    }
    // Kept as an absent entry until written, so that a find() before then does not read the
    // store's older value.
    auto& s = cache_[key];
    s = slot{V{}, true, batch_};
    s.present = false;
  }
  // Ends a batch: over the cache's size, writes changed entries to the store and keeps half,
  // those used by the latest batch first.
  void end_batch() {
    ++batch_;
    if (ttl_ms_ > 0) sweep();
    if (cache_.size() <= cache_rows_ || !store_) return;
    write_dirty();
    size_t target = cache_rows_ / 2;
    for (auto it = cache_.begin(); it != cache_.end() && cache_.size() > target;)
      it = it->second.batch + 1 != batch_ ? cache_.erase(it) : std::next(it);
    for (auto it = cache_.begin(); it != cache_.end() && cache_.size() > target;)
      it = cache_.erase(it);
  }

  void snapshot(state_writer& w) {
    if (!store_) {
      w.put_varint(0);  // entries inline
      w.put_varint(static_cast<int64_t>(cache_.size()));
      for (const auto& [k, s] : cache_) {
        w.put_row(k);
        encode_(w, s.v);  // without a store nothing is absent
      }
      return;
    }
    write_dirty();
    if (auto r = store_->checkpoint(++checkpoint_); !r) throw std::runtime_error(r.error().message);
    w.put_varint(1);  // entries in the store's checkpoint n
    w.put_varint(static_cast<int64_t>(checkpoint_));
  }
  void restore(state_reader& r) {
    cache_.clear();
    if (r.varint() == 1) {
      checkpoint_ = static_cast<uint64_t>(r.varint());
      if (!store_) throw corrupt_state("the checkpoint has a state store, the query none");
      if (auto x = store_->restore(checkpoint_); !x) throw corrupt_state(x.error().message);
      std::fill(stored_.begin(), stored_.end(), 0);
      store_->for_each([&](std::string_view k, std::string_view) {
        state_reader kr(k);
        note_stored(row_hash()(kr.get_row()));
      });
      return;
    }
    for (int64_t n = r.varint(); n > 0; --n) {
      row k = r.get_row();
      V v = decode_(r);
      auto& s = cache_.emplace(std::move(k), slot{std::move(v), true, batch_}).first->second;
      s.used = now_;  // the write time is not in an inline checkpoint: the TTL starts over
    }
  }

  // Cached entries, or RocksDB's estimate of its keys when larger.
  size_t size() const {
    return std::max(cache_.size(), store_ ? static_cast<size_t>(store_->approximate_keys()) : 0);
  }
  size_t cache_rows() const { return cache_rows_; }
  // Estimated bytes of the entries in memory, `value_bytes(v)` each (stream/memory.h).
  template <class F>
  size_t memory_bytes(F value_bytes) const {
    return sampled_bytes(cache_, [&](const auto& e) {
      return approx_bytes(e.first) + sizeof(slot) + value_bytes(e.second.v);
    });
  }

 private:
  struct slot {
    V v;
    bool dirty = false;
    uint64_t batch = 0;   // the last batch that used it
    bool present = true;  // false: erased, the store's copy not yet deleted
    int64_t used = 0;     // wall-clock ms of its last write (state TTL)
  };

  static int64_t wall_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  static int64_t read_time(std::string_view b) {
    uint64_t t = 0;
    for (int i = 7; i >= 0; --i)
      t = (t << 8) | static_cast<uint8_t>(b[static_cast<size_t>(i)]);
    return static_cast<int64_t>(t);
  }
  // State TTL: drops cached entries not written for the TTL (once a second at most).
  void sweep() {
    now_ = wall_ms();
    if (now_ < next_sweep_) return;
    next_sweep_ = now_ + 1000;
    std::vector<row> gone;
    for (const auto& [k, s] : cache_)
      if (s.present && now_ - s.used > ttl_ms_) gone.push_back(k);
    for (const auto& k : gone)
      erase(k);
  }

  static std::string encode_key(const row& k) {
    state_writer w;
    w.put_row(k);
    return std::move(w.data());
  }
  void write_dirty() {
    state_writer w;
    for (auto it = cache_.begin(); it != cache_.end();) {
      auto& [k, s] = *it;
      if (!s.present) {
        store_->erase(encode_key(k));
        it = cache_.erase(it);
        continue;
      }
      if (s.dirty) {
        w.data().clear();
        if (ttl_ms_ > 0)
          for (int i = 0; i < 8; ++i)
            w.data().push_back(
                static_cast<char>((static_cast<uint64_t>(s.used) >> (8 * i)) & 0xff));
        encode_(w, s.v);
        store_->put(encode_key(k), w.data());
        note_stored(row_hash()(k));
        s.dirty = false;
      }
      ++it;
    }
    if (auto r = store_->commit(); !r) throw std::runtime_error(r.error().message);
  }

  // The Bloom filter of stored keys: 2^23 bits (1 MiB), three probes from one 64-bit hash.
  static constexpr size_t k_filter_bits = size_t{1} << 23;
  static size_t probe(size_t h, int i) {
    uint64_t x = h + 0x9e3779b97f4a7c15ULL;  // splitmix64's finalizer, then double hashing
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    x ^= x >> 31;
    uint64_t step = (x >> 32) | 1;
    return static_cast<size_t>(x + static_cast<uint64_t>(i) * step) & (k_filter_bits - 1);
  }
  void note_stored(size_t h) {
    for (int i = 0; i < 3; ++i) {
      size_t b = probe(h, i);
      stored_[b / 64] |= uint64_t{1} << (b % 64);
    }
  }
  bool maybe_stored(size_t h) const {
    for (int i = 0; i < 3; ++i) {
      size_t b = probe(h, i);
      if (!(stored_[b / 64] & (uint64_t{1} << (b % 64)))) return false;
    }
    return true;
  }

  size_t cache_rows_;
  int64_t ttl_ms_ = 0;
  int64_t now_ = wall_ms();  // refreshed by sweep() (expiry of what is read from the store)
  int64_t next_sweep_ = 0;
  std::vector<uint64_t> stored_;  // sized when a store is opened
  encode_fn encode_;
  decode_fn decode_;
  std::unordered_map<row, slot, row_hash, row_equal> cache_;
  std::unique_ptr<state_store> store_;
  uint64_t checkpoint_ = 0;
  uint64_t batch_ = 0;
};

}  // namespace sluice::stream
