#pragma once
// What a failed login costs the caller: each failure from an address in the last minute adds
// to the delay before the failure is answered (100 ms per failure, at most 5 s), and an
// address past `max_failures_per_minute` is refused at once until its failures age out. A
// password guesser gets a few guesses a minute; a user who mistyped waits a tenth of a second.
//
// Thread-safe.

#include <chrono>
#include <deque>
#include <mutex>
#include <string>
#include <unordered_map>

namespace sluice::security {

class login_limiter {
 public:
  using clock = std::chrono::steady_clock;

  explicit login_limiter(int max_failures_per_minute = 30)
      : max_failures_(max_failures_per_minute) {}

  // Records a failed login from `address` and returns how long to wait before answering.
  std::chrono::milliseconds failed(const std::string& address,
                                   clock::time_point now = clock::now());
  // Whether `address` is over its limit: its attempts are refused without being tried.
  bool blocked(const std::string& address, clock::time_point now = clock::now());
  // Failed logins since start, for /metrics.
  uint64_t failures() const;

 private:
  static constexpr auto k_window = std::chrono::seconds(60);
  // Drops failures older than the window. REQUIRES: mu_ held.
  void expire(std::deque<clock::time_point>& d, clock::time_point now);

  const int max_failures_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::deque<clock::time_point>> recent_;
  uint64_t failures_ = 0;
};

}  // namespace sluice::security
