#pragma once
// "Answer once every part is done": joins the completions of several asynchronous
// operations (durable appends to several partitions, say) into one callback that gets the
// first error among them, or success.
//
//   auto join = all_done::start(std::move(done));
//   for (...) part->when_durable(offset, join->part());
//   join->seal();  // no more parts; `done` runs when the last one reports
//
// Thread safety: parts may report from any thread; `done` runs on the thread of the last
// report (or of seal()) and must only hand work off.

#include <functional>
#include <memory>
#include <mutex>

#include "base/result.h"

namespace sluice {

class all_done : public std::enable_shared_from_this<all_done> {
 public:
  using callback = std::function<void(result<void>)>;

  static std::shared_ptr<all_done> start(callback done) {
    return std::shared_ptr<all_done>(new all_done(std::move(done)));
  }

  // A completion for one more part.
  callback part() {
    std::lock_guard lk(mu_);
    ++pending_;
    return [self = shared_from_this()](result<void> r) { self->report(std::move(r)); };
  }
  // Records a part that failed before it started.
  void fail(error_info e) {
    std::lock_guard lk(mu_);
    if (!first_error_) first_error_ = std::move(e);
  }
  // No more parts will be added.
  void seal() { report(result<void>{}); }

 private:
  explicit all_done(callback done) : done_(std::move(done)) {}

  void report(result<void> r) {
    callback fire;
    result<void> outcome;
    {
      std::lock_guard lk(mu_);
      if (!r && !first_error_) first_error_ = r.error();
      if (--pending_ > 0) return;
      fire = std::move(done_);
      if (first_error_) outcome = *first_error_;
    }
    if (fire) fire(std::move(outcome));
  }

  std::mutex mu_;
  int pending_ = 1;  // the hold released by seal()
  std::optional<error_info> first_error_;
  callback done_;
};

}  // namespace sluice
