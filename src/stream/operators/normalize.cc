// Turns an upserting changelog into a retracting one: remembers the last row of every key,
// so that an upsert becomes a retraction of the old row (if any) and an insert of the new
// one, and a delete by key a retraction of the row it deletes. Aggregates and joins read
// tables through it. State: one row per live key (keyed_state: cached, the rest in RocksDB).

#include "stream/keyed_state.h"
#include "stream/operators/changelog.h"

namespace sluice::stream {

namespace {

class normalize_op final : public operator_node {
 public:
  explicit normalize_op(size_t cache_rows)
      : rows_(
            cache_rows, [](state_writer& w, const entry& e) { put(w, e); },
            [](state_reader& r) { return get(r); }) {}

  void set_state_ttl(int64_t ttl_ms) override { rows_.set_ttl(ttl_ms); }
  result<void> open_state(const std::filesystem::path& dir) override { return rows_.open(dir); }

  void process(element_batch& batch) override {
    out_.clear();
    for (auto& e : batch) {
      if (e.op == change_op::insert && e.key.empty()) {  // an append: nothing to remember
        out_.push_back(std::move(e));
        continue;
      }
      auto* old = rows_.find(e.key);
      if (old) {
        element x;
        x.op = change_op::remove;
        x.key = e.key;
        x.r = std::move(old->r);  // replaced or erased below
        x.ts = e.ts;
        out_.push_back(std::move(x));
      }
      if (e.op == change_op::remove) {
        if (old) rows_.erase(e.key);
        continue;
      }
      if (old) {
        old->r = e.r;
        rows_.touch(e.key);
      } else {
        rows_.get(e.key) = entry{e.r};
      }
      e.op = change_op::insert;
      out_.push_back(std::move(e));
    }
    rows_.end_batch();
    emit(out_);
  }

  void snapshot(state_writer& w) override { rows_.snapshot(w); }
  void restore(state_reader& r) override { rows_.restore(r); }
  std::string describe() const override {
    return "ChangelogNormalize (upserts to retractions, last row per key)";
  }
  size_t state_size() const override { return rows_.size(); }
  size_t state_bytes() const override {
    return rows_.memory_bytes([](const entry& e) { return approx_bytes(e.r); });
  }

 private:
  struct entry {
    row r;
  };
  static void put(state_writer& w, const entry& e) { w.put_row(e.r); }
  static entry get(state_reader& r) { return entry{r.get_row()}; }

  keyed_state<entry> rows_;
  element_batch out_;
};

}  // namespace

operator_ptr make_normalize(size_t cache_rows) {
  return std::make_unique<normalize_op>(cache_rows);
}

}  // namespace sluice::stream
