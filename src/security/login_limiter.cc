#include "security/login_limiter.h"

#include <algorithm>

namespace sluice::security {

void login_limiter::expire(std::deque<clock::time_point>& d, clock::time_point now) {
  while (!d.empty() && now - d.front() > k_window)
    d.pop_front();
}

std::chrono::milliseconds login_limiter::failed(const std::string& address, clock::time_point now) {
  std::lock_guard lk(mu_);
  ++failures_;
  // Addresses with nothing recent are forgotten, so the map stays as small as the attack.
  if (recent_.size() > 10'000)
    for (auto it = recent_.begin(); it != recent_.end();) {
      expire(it->second, now);
      it = it->second.empty() ? recent_.erase(it) : std::next(it);
    }
  auto& d = recent_[address];
  expire(d, now);
  d.push_back(now);
  return std::min(std::chrono::milliseconds(100) * static_cast<int64_t>(d.size()),
                  std::chrono::milliseconds(5000));
}

bool login_limiter::blocked(const std::string& address, clock::time_point now) {
  std::lock_guard lk(mu_);
  auto it = recent_.find(address);
  if (it == recent_.end()) return false;
  expire(it->second, now);
  return static_cast<int>(it->second.size()) >= max_failures_;
}

uint64_t login_limiter::failures() const {
  std::lock_guard lk(mu_);
  return failures_;
}

}  // namespace sluice::security
