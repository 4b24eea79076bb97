// rate_limiter.h: a token bucket like client-go's flowcontrol token bucket.
// It starts full with `burst` tokens and refills at `qps` per second; Accept()
// takes one, waiting (through the Sleeper) until one is due. Over any interval
// of length T at most burst + qps*T requests pass. qps <= 0 means unlimited.
// Thread rule: thread-safe; waiting callers are served in arrival order.
#ifndef AMAS_ACT_RATE_LIMITER_H_
#define AMAS_ACT_RATE_LIMITER_H_

#include <mutex>

#include "act/actuator.h"
#include "core/core.h"

namespace amas::act {

class RateLimiter {
 public:
  // clock and sleeper are borrowed and must outlive the limiter.
  RateLimiter(double qps, int burst, const core::Clock* clock, Sleeper* sleeper);
  // Blocks until a token is available; returns how long it waited.
  core::Duration Accept();
  // Takes a token now (possibly one not yet refilled) and returns how long the
  // caller must wait before using it. Accept() = Reserve() + Sleep.
  core::Duration Reserve();
  double qps() const { return qps_; }
  int burst() const { return burst_; }

 private:
  const double qps_;
  const int burst_;
  const core::Clock* clock_;
  Sleeper* sleeper_;
  std::mutex mu_;
  double tokens_;  // may go negative: tokens promised to waiting callers
  core::Time last_;
};

}  // namespace amas::act

#endif  // AMAS_ACT_RATE_LIMITER_H_
