#include "act/celery_plan.h"

#include <catch2/catch.hpp>

namespace amas::act::celery {
namespace {

TEST_CASE("pool target: what the worker acknowledged, not the lagging children") {
  WorkerStats s;
  s.processes = 2;        // a grown child not spawned yet
  s.max_concurrency = 2;  // never changes with grow/shrink
  s.prefetch_count = 12;  // 4 x 3: the target
  CHECK(PoolTarget(s, 4) == 3);
  CHECK(PoolTarget(s, -1) == 2);  // multiplier unknown: live children
  CHECK(PoolTarget(s, 0) == 2);   // prefetch disabled
  CHECK(PoolTarget(s, 5) == 2);   // does not divide: not a multiplier x target
  s.processes = -1;
  CHECK(PoolTarget(s, -1) == 2);  // no process list: max-concurrency

  WorkerStats a;
  a.autoscale = true;
  a.autoscale_current = 6;
  a.processes = 4;
  a.prefetch_count = 40;
  CHECK(PoolTarget(a, 4) == 6);
}

struct PlanCase {
  std::vector<WorkerPool> workers;
  int32_t desired;
  std::vector<PoolChange> want;
};

TEST_CASE("plan: smallest change, deterministic spread") {
  const std::vector<PlanCase> cases = {
      // Already there: nothing to send.
      {{{"a", 2, false}, {"b", 3, true}}, 5, {}},
      // Grow: smallest pool first, ties to the first hostname.
      {{{"b", 2, false}, {"a", 2, false}}, 7, {{"a", 2, 4, false}, {"b", 2, 3, false}}},
      {{{"b", 2, false}, {"a", 2, false}}, 5, {{"a", 2, 3, false}}},
      {{{"a", 5, false}, {"b", 1, true}}, 8, {{"b", 1, 3, true}}},
      // Shrink: largest first, ties to the last hostname.
      {{{"a", 3, false}, {"b", 3, false}}, 5, {{"b", 3, 2, false}}},
      {{{"a", 4, false}, {"b", 3, true}}, 3, {{"a", 4, 2, false}, {"b", 3, 1, true}}},
      // A single worker takes the whole change.
      {{{"only", 10, false}}, 50, {{"only", 10, 50, false}}},
      // A pool reported at 0 is brought back to one.
      {{{"a", 0, false}, {"b", 4, false}}, 4, {{"a", 0, 1, false}, {"b", 4, 3, false}}},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    INFO("case " << i);
    auto plan = PlanPoolResize(cases[i].workers, cases[i].desired);
    REQUIRE(plan.ok());
    CHECK(*plan == cases[i].want);
  }
}

TEST_CASE("plan: refuses below one process per worker, and no workers") {
  CHECK(PlanPoolResize({{"a", 2, false}, {"b", 2, false}}, 1).status().code() ==
        core::Status::Code::kFailedPrecondition);
  CHECK(PlanPoolResize({}, 3).status().code() == core::Status::Code::kFailedPrecondition);
  CHECK(PlanPoolResize({{"a", 2, false}, {"b", 2, false}}, 2).ok());
}

}  // namespace
}  // namespace amas::act::celery
