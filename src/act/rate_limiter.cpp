#include "act/rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace amas::act {

RateLimiter::RateLimiter(double qps, int burst, const core::Clock* clock, Sleeper* sleeper)
    : qps_(qps),
      burst_(std::max(1, burst)),
      clock_(clock),
      sleeper_(sleeper),
      tokens_(static_cast<double>(std::max(1, burst))),
      last_(clock->Now()) {}

core::Duration RateLimiter::Reserve() {
  if (qps_ <= 0) return core::Duration();
  std::lock_guard lock(mu_);
  const core::Time now = clock_->Now();
  if (now > last_) {
    // The clock has millisecond steps and may be read late; both only make
    // the refill smaller, never larger, so the limit holds.
    tokens_ = std::min(static_cast<double>(burst_),
                       tokens_ + static_cast<double>((now - last_).millis()) * qps_ / 1000.0);
    last_ = now;
  }
  tokens_ -= 1.0;
  if (tokens_ >= 0) return core::Duration();
  return core::Duration::Millis(static_cast<int64_t>(std::ceil(-tokens_ * 1000.0 / qps_)));
}

core::Duration RateLimiter::Accept() {
  const core::Duration wait = Reserve();
  if (wait.millis() > 0) sleeper_->Sleep(wait);
  return wait;
}

}  // namespace amas::act
