// celery_plan.h: how big each Celery worker pool is, and how to spread a new
// total across the workers that answered. Pure: same input, same plan.
// A pool's size is its *target* (what the worker has acknowledged), not its
// live children: billiard starts a grown child up to 5 s later, and acting on
// the lagging count would grow the pool twice.
// Every worker keeps at least one process: a pool of 0 stops consuming and,
// with prefetch disabled at 0, would reserve messages it never runs.
#ifndef AMAS_ACT_CELERY_PLAN_H_
#define AMAS_ACT_CELERY_PLAN_H_

#include <cstdint>
#include <string>
#include <vector>

#include "act/celery_pidbox.h"
#include "core/core.h"

namespace amas::act::celery {

// The target size of one worker's pool: autoscaler.current for autoscaling
// workers; else prefetch_count / prefetch_multiplier when the multiplier is
// known (> 0) and divides it; else the live process count; else max-concurrency.
int32_t PoolTarget(const WorkerStats& stats, int32_t prefetch_multiplier);

struct WorkerPool {
  std::string hostname;  // "w1@host"
  int32_t size = 0;      // PoolTarget()
  bool autoscale = false;
};

struct PoolChange {
  std::string hostname;
  int32_t from = 0;
  int32_t to = 0;
  bool autoscale = false;  // send `autoscale to to`, else pool_grow/pool_shrink
  friend bool operator==(const PoolChange&, const PoolChange&) = default;
};

// The smallest set of per-worker changes that makes the sizes sum to desired.
// Growth goes one process at a time to the smallest pool (ties: first
// hostname), shrinking takes from the largest (ties: last hostname), so the
// pools drift towards even. Changes come sorted by hostname; none when the
// sum already matches.
// FailedPrecondition when desired < number of workers (one process each), or
// when there are no workers.
core::Result<std::vector<PoolChange>> PlanPoolResize(const std::vector<WorkerPool>& workers,
                                                     int32_t desired);

}  // namespace amas::act::celery

#endif  // AMAS_ACT_CELERY_PLAN_H_
