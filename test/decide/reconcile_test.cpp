// Reconcile corners beyond the vectors: what is recorded, the zero-replica gate.
#include <catch2/catch.hpp>

#include <vector>

#include "decide/reconcile.h"

using namespace amas::decide;       // NOLINT: test-local
using namespace amas::decide::hpa;  // NOLINT: test-local
using amas::core::Time;

namespace {

const Time kNow = Time::FromUnixSeconds(2'000'000'000);

ReconcileInput Base(int32_t current, std::span<const MetricProposal> proposals) {
  ReconcileInput in;
  in.current_replicas = current;
  in.min_replicas = 1;
  in.max_replicas = 10;
  in.metric_proposals = proposals;
  in.now = kNow;
  return in;
}

}  // namespace

TEST_CASE("reconcile: the first round seeds current before normalizing") {
  const std::vector<MetricProposal> p = {{2, {}}};
  ReconcileInput in = Base(5, p);
  in.first_reconcile = true;
  History h;
  const ReconcileResult r = Reconcile(in, &h);
  CHECK(r.desired_replicas == 5);
  CHECK_FALSE(r.rescale);
  CHECK(r.able_to_scale_reason == reason::kScaleDownStabilized);
  REQUIRE(h.recommendations.size() == 2);
  CHECK(h.recommendations[0].replicas == 5);
  CHECK(h.recommendations[1].replicas == 2);
}

TEST_CASE("reconcile: when every metric fails nothing is recorded and nothing scales") {
  const std::vector<MetricProposal> p = {{std::nullopt, "FailedGetPodsMetric"},
                                         {std::nullopt, "FailedGetObjectMetric"}};
  History h;
  const ReconcileResult r = Reconcile(Base(4, p), &h);
  CHECK(r.gate == Gate::kMetricsError);
  CHECK(r.desired_replicas == 4);
  CHECK_FALSE(r.rescale);
  CHECK(r.error);
  REQUIRE(r.scaling_active.has_value());
  CHECK_FALSE(r.scaling_active->status);
  CHECK(r.scaling_active->reason == "FailedGetPodsMetric");
  CHECK(h.recommendations.empty());
}

TEST_CASE("reconcile: zero replicas stays paused unless the HPA put it there") {
  const std::vector<MetricProposal> p = {{3, {}}};
  ReconcileInput in = Base(0, p);
  in.min_replicas = 0;
  in.has_object_or_external_metric = true;
  in.scale_to_zero_gate = true;
  History h;
  // A manual scale to 0: no ScaledToZero condition.
  CHECK(Reconcile(in, &h).gate == Gate::kDisabled);
  // The gate off removes the ability even with the condition.
  in.scale_to_zero_gate = false;
  in.scaled_to_zero_condition = true;
  CHECK(Reconcile(in, &h).gate == Gate::kDisabled);
  // Gate on, condition True, an Object/External metric: compute from zero.
  in.scale_to_zero_gate = true;
  const ReconcileResult r = Reconcile(in, &h);
  CHECK(r.gate == Gate::kComputed);
  CHECK(r.desired_replicas == 3);
  CHECK(r.rescale);
}

TEST_CASE("reconcile: from zero with a raised min, behavior path, gets at least min") {
  const std::vector<MetricProposal> p = {{1, {}}};
  ReconcileInput in = Base(0, p);
  in.min_replicas = 3;
  in.scale_to_zero_gate = true;
  in.scaled_to_zero_condition = true;
  const Behavior defaults;
  in.behavior = &defaults;
  History h;
  // The behavior scale-up branch never checks min: 1 passes, then the fix-up raises it.
  const ReconcileResult r = Reconcile(in, &h);
  CHECK(r.normalized.replicas == 1);
  CHECK(r.desired_replicas == 3);
}

TEST_CASE("reconcile: above max and below min skip metrics and record nothing but the seed") {
  History h;
  ReconcileInput in = Base(12, {});
  in.first_reconcile = true;
  const ReconcileResult above = Reconcile(in, &h);
  CHECK(above.gate == Gate::kAboveMax);
  CHECK(above.desired_replicas == 10);
  CHECK_FALSE(above.metrics_computed);
  CHECK(h.recommendations.size() == 1);
  in.current_replicas = 0;
  in.min_replicas = std::nullopt;  // unset means 1, and 0 replicas is the disabled gate
  CHECK(Reconcile(in, &h).gate == Gate::kDisabled);
}
