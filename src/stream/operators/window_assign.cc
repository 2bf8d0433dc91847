#include "stream/operator.h"
#include "stream/windows.h"

namespace sluice::stream {

namespace {

class window_assign_op final : public operator_node {
 public:
  window_assign_op(int time_column, int64_t size, int64_t slide)
      : col_(time_column), size_(size), slide_(slide) {}

  void process(element_batch& batch) override {
    out_.clear();
    for (auto& e : batch) {
      int64_t t = e.ts;
      if (col_ >= 0) {
        const auto& v = e.r[static_cast<size_t>(col_)];
        if (v.is_null()) continue;  // no time, no window
        t = v.i;
      }
      int64_t first = window_first_start(t, size_, slide_);
      for (int64_t start = first; start <= t; start += slide_) {
        element x;
        x.r = e.r;
        x.r.push_back(value::timestamp(start));
        x.r.push_back(value::timestamp(start + size_));
        x.ts = e.ts;
        x.op = e.op;
        out_.push_back(std::move(x));
      }
    }
    emit(out_);
  }

  std::string describe() const override {
    return slide_ == size_ ? "WindowAssign TUMBLE(" + std::to_string(size_) + " ms)"
                           : "WindowAssign HOP(slide " + std::to_string(slide_) + " ms, size " +
                                 std::to_string(size_) + " ms)";
  }

 private:
  int col_;
  int64_t size_, slide_;
  element_batch out_;
};

}  // namespace

operator_ptr make_window_assign(int time_column, int64_t size_ms, int64_t slide_ms) {
  return std::make_unique<window_assign_op>(time_column, size_ms, slide_ms);
}

}  // namespace sluice::stream
