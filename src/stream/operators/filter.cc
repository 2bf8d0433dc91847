#include "stream/operator.h"

namespace sluice::stream {

namespace {

class filter_op final : public operator_node {
 public:
  filter_op(expression_ptr p, std::vector<std::string> names, bool retracting)
      : pred_(std::move(p)), names_(std::move(names)), retracting_(retracting) {}

  void process(element_batch& batch) override {
    size_t out = 0;
    for (size_t i = 0; i < batch.size(); ++i) {
      auto& e = batch[i];
      if (e.op == change_op::remove && !(retracting_ && !e.r.empty())) {
        if (out != i) batch[out] = std::move(e);
        ++out;
        continue;
      }
      ctx_eval_.error.clear();
      bool pass = is_true(pred_->eval(e.r, ctx_eval_));
      if (!ctx_eval_.error.empty()) {
        if (ctx_) ctx_->dead_letter(ctx_eval_.error, e.r, names_, e.ts);
        continue;
      }
      if (!pass) {
        if (e.op != change_op::upsert) continue;  // an insert or a retraction never let through
        e.op = change_op::remove;                 // the key's row no longer qualifies
      }
      if (out != i) batch[out] = std::move(e);
      ++out;
    }
    batch.resize(out);
    emit(batch);
  }

  std::string describe() const override { return retracting_ ? "Filter (retracting)" : "Filter"; }

 private:
  expression_ptr pred_;
  std::vector<std::string> names_;
  bool retracting_;
  eval_context ctx_eval_;
};

}  // namespace

operator_ptr make_filter(expression_ptr predicate, std::vector<std::string> input_names,
                         bool retracting) {
  return std::make_unique<filter_op>(std::move(predicate), std::move(input_names), retracting);
}

}  // namespace sluice::stream
