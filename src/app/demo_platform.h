// demo_platform.h: the simulated AMAS platform the demo scrapes.
// Load is a deterministic function of wall time: low, a ramp of a few
// minutes, high, a ramp down, once per period. Gauges (CPU and memory ratios,
// request and Celery queues) read the load at the render time; counters and
// the latency histogram integrate it second by second from `start`, so they
// never go down and two renders at the same time agree. Series are named as
// DESIGN.md's rules expect (amas_process_cpu_seconds_total{service="backend"},
// amas_http_request_duration_seconds_bucket, amas_celery_queue_length, ...).
// Render() writes text format 0.0.4. Thread-safe; reads no clock.
#ifndef AMAS_APP_DEMO_PLATFORM_H_
#define AMAS_APP_DEMO_PLATFORM_H_

#include <array>
#include <cstdint>
#include <mutex>
#include <string>

#include "core/core.h"

namespace amas::app {

// The simulated load at t, from 0.05 (quiet) to 0.95 (peak); lowest at
// multiples of the period since the Unix epoch, highest half a period later.
double PlatformLoad(core::Time t, core::Duration period);

class DemoPlatform {
 public:
  static constexpr int kPods = 3;
  static constexpr int kBuckets = 11;  // finite le bounds of the latency histogram

  DemoPlatform(core::Time start, core::Duration period);
  std::string Render(core::Time now);

 private:
  struct Totals {
    int64_t second = 0;  // integrated up to (not including) this Unix second
    std::array<double, kPods> cpu_seconds{};
    double ok_requests = 0;
    double error_requests = 0;
    std::array<double, kBuckets> bucket_counts{};  // cumulative per le
    double latency_sum = 0;
  };
  void Advance(int64_t to_second);

  core::Time start_;
  core::Duration period_;
  std::mutex mu_;
  Totals totals_;
};

}  // namespace amas::app

#endif  // AMAS_APP_DEMO_PLATFORM_H_
