#include "stream/operator.h"

namespace sluice::stream {

namespace {

class project_op final : public operator_node {
 public:
  project_op(std::vector<expression_ptr> exprs, std::vector<std::string> names)
      : exprs_(std::move(exprs)), names_(std::move(names)) {
    // A column used once can be moved out of the input row instead of copied.
    std::vector<int> uses(256, 0);
    for (const auto& e : exprs_)
      if (e->column_index() >= 0 && e->column_index() < 256) ++uses[e->column_index()];
    for (const auto& e : exprs_) {
      int c = e->column_index();
      movable_.push_back(c >= 0 && c < 256 && uses[c] == 1 ? c : -1);
    }
  }

  void process(element_batch& batch) override {
    size_t out = 0;
    row r;
    for (size_t i = 0; i < batch.size(); ++i) {
      auto& e = batch[i];
      if (e.op == change_op::remove && e.r.empty()) {  // a delete by key alone
        if (out != i) batch[out] = std::move(e);
        ++out;
        continue;
      }
      ctx_eval_.error.clear();
      r.clear();
      r.reserve(exprs_.size());
      // Computed columns first (they may read columns that are moved below).
      r.resize(exprs_.size());
      for (size_t j = 0; j < exprs_.size(); ++j)
        if (movable_[j] < 0) r[j] = exprs_[j]->eval(e.r, ctx_eval_);
      if (!ctx_eval_.error.empty()) {
        if (e.op == change_op::remove) {
          // Never lose a delete: it goes on by its key alone (an insert of the same row
          // failed the same way, so a retraction has nothing to retract).
          e.r.clear();
          if (e.key.empty()) continue;
          if (out != i) batch[out] = std::move(e);
          ++out;
          continue;
        }
        if (ctx_) ctx_->dead_letter(ctx_eval_.error, e.r, names_, e.ts);
        continue;
      }
      for (size_t j = 0; j < exprs_.size(); ++j)
        if (movable_[j] >= 0 && static_cast<size_t>(movable_[j]) < e.r.size())
          r[j] = std::move(e.r[static_cast<size_t>(movable_[j])]);
      e.r.swap(r);
      if (out != i) batch[out] = std::move(e);
      ++out;
    }
    batch.resize(out);
    emit(batch);
  }

  std::string describe() const override {
    return "Project (" + std::to_string(exprs_.size()) + " columns)";
  }

 private:
  std::vector<expression_ptr> exprs_;
  std::vector<std::string> names_;
  std::vector<int> movable_;
  eval_context ctx_eval_;
};

}  // namespace

operator_ptr make_project(std::vector<expression_ptr> exprs, std::vector<std::string> names) {
  return std::make_unique<project_op>(std::move(exprs), std::move(names));
}

}  // namespace sluice::stream
