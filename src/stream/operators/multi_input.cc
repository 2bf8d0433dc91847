#include <algorithm>

#include "stream/operator.h"

namespace sluice::stream {

// Input i > 0 of a multi_input_operator.
class multi_input_operator::port_node final : public operator_node {
 public:
  port_node(multi_input_operator& owner, int input) : owner_(owner), input_(input) {}
  void process(element_batch& batch) override { owner_.process_input(input_, batch); }
  void advance_watermark(int64_t wm) override { owner_.input_watermark(input_, wm); }
  std::string describe() const override { return "input " + std::to_string(input_); }

 private:
  multi_input_operator& owner_;
  int input_;
};

multi_input_operator::multi_input_operator(int inputs)
    : input_wms_(static_cast<size_t>(inputs), INT64_MIN) {
  for (int i = 1; i < inputs; ++i)
    ports_.push_back(std::make_unique<port_node>(*this, i));
}

multi_input_operator::~multi_input_operator() = default;

operator_node* multi_input_operator::port(int i) {
  if (i == 0) return this;
  return ports_[static_cast<size_t>(i - 1)].get();
}

void multi_input_operator::input_watermark(int input, int64_t wm) {
  auto& w = input_wms_[static_cast<size_t>(input)];
  w = std::max(w, wm);
  int64_t low = *std::min_element(input_wms_.begin(), input_wms_.end());
  if (low > watermark_) {
    watermark_ = low;
    on_watermark(low);
  }
}

namespace {

class union_op final : public multi_input_operator {
 public:
  union_op(int inputs, bool key_whole_row)
      : multi_input_operator(inputs), inputs_(inputs), key_whole_row_(key_whole_row) {}
  std::string describe() const override {
    return "UnionAll of " + std::to_string(inputs_) + " inputs" +
           (key_whole_row_ ? ", retracting, keyed by the whole row" : "");
  }

 protected:
  void process_input(int, element_batch& batch) override {
    if (key_whole_row_)
      for (auto& e : batch)
        e.key = e.r;  // REQUIRES: retracting inputs (a retraction carries its row)
    emit(batch);
  }

 private:
  int inputs_;
  bool key_whole_row_;
};

}  // namespace

operator_ptr make_union(int inputs, bool key_whole_row) {
  return std::make_unique<union_op>(inputs, key_whole_row);
}

}  // namespace sluice::stream
