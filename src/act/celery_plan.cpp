#include "act/celery_plan.h"

#include <algorithm>
#include <numeric>

namespace amas::act::celery {

int32_t PoolTarget(const WorkerStats& stats, int32_t prefetch_multiplier) {
  if (stats.autoscale) return stats.autoscale_current;
  if (prefetch_multiplier > 0 && stats.prefetch_count > 0 &&
      stats.prefetch_count % prefetch_multiplier == 0) {
    return static_cast<int32_t>(stats.prefetch_count / prefetch_multiplier);
  }
  if (stats.processes >= 0) return stats.processes;
  return std::max(stats.max_concurrency, 0);
}

core::Result<std::vector<PoolChange>> PlanPoolResize(const std::vector<WorkerPool>& workers,
                                                     int32_t desired) {
  if (workers.empty()) {
    return core::Status::FailedPrecondition("celery: no worker to resize");
  }
  if (desired < static_cast<int32_t>(workers.size())) {
    return core::Status::FailedPrecondition(
        "celery: desired " + std::to_string(desired) + " is below one process for each of the " +
        std::to_string(workers.size()) + " workers that answered");
  }
  std::vector<WorkerPool> sorted = workers;
  std::sort(sorted.begin(), sorted.end(),
            [](const WorkerPool& a, const WorkerPool& b) { return a.hostname < b.hostname; });
  std::vector<int32_t> size(sorted.size());
  int64_t total = 0;
  for (size_t i = 0; i < sorted.size(); ++i) {
    // A pool already below one process counts as one: that is what we ask for.
    size[i] = std::max(sorted[i].size, 0);
    total += size[i];
  }
  // Bring every pool up to one first, whatever the total says.
  for (size_t i = 0; i < size.size(); ++i) {
    if (size[i] < 1) {
      total += 1 - size[i];
      size[i] = 1;
    }
  }
  while (total < desired) {
    size_t pick = 0;
    for (size_t i = 1; i < size.size(); ++i) {
      if (size[i] < size[pick]) pick = i;  // strict: ties keep the first hostname
    }
    ++size[pick];
    ++total;
  }
  while (total > desired) {
    size_t pick = size.size() - 1;
    for (size_t i = size.size() - 1; i-- > 0;) {
      if (size[i] > size[pick]) pick = i;  // strict: ties keep the last hostname
    }
    --size[pick];
    --total;
  }
  std::vector<PoolChange> changes;
  for (size_t i = 0; i < sorted.size(); ++i) {
    if (size[i] != sorted[i].size) {
      changes.push_back({sorted[i].hostname, sorted[i].size, size[i], sorted[i].autoscale});
    }
  }
  return changes;
}

}  // namespace amas::act::celery
