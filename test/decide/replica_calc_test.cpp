// Edge cases of the per-metric replica math that conformance/hpa/vectors.json
// does not pin down: error paths, rebalance corners, saturation, grouping.
#include <catch2/catch.hpp>

#include <limits>
#include <vector>

#include "decide/replica_calc.h"

using namespace amas::decide;       // NOLINT: test-local
using namespace amas::decide::hpa;  // NOLINT: test-local
using amas::core::Duration;
using amas::core::Time;

namespace {

PodSample Running(std::optional<int64_t> usage, int64_t request = 1000) {
  return {PodState::kRunning, usage, request};
}
PodSample With(PodState s, std::optional<int64_t> usage, int64_t request = 1000) {
  return {s, usage, request};
}

UtilizationInput Util(int32_t current, int32_t target, const std::vector<PodSample>& pods) {
  UtilizationInput in;
  in.current_replicas = current;
  in.target_utilization = target;
  in.pods = pods;
  return in;
}

}  // namespace

TEST_CASE("utilization: error paths carry the Kubernetes text") {
  SECTION("no pods but samples") {
    std::vector<PodSample> none;
    std::vector<int64_t> extra = {100};
    UtilizationInput in = Util(1, 50, none);
    in.extra_samples_milli = extra;
    auto r = ReplicasForUtilization(in);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().message() == "no pods returned by selector while calculating replica count");
  }
  SECTION("every sample belongs to an unready pod") {
    std::vector<PodSample> pods = {With(PodState::kRunningCpuUnready, 500),
                                   With(PodState::kPending, std::nullopt)};
    auto r = ReplicasForUtilization(Util(2, 50, pods));
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().message().rfind("did not receive metrics for targeted pods", 0) == 0);
  }
  SECTION("a pod without a request, even a terminal one") {
    std::vector<PodSample> pods = {Running(500), {PodState::kTerminal, std::nullopt, std::nullopt}};
    auto r = ReplicasForUtilization(Util(2, 50, pods));
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().message() == "missing request for cpu");
  }
}

TEST_CASE("utilization: the CPU readiness rule is cpu-only") {
  std::vector<PodSample> pods = {With(PodState::kRunningCpuUnready, 2000), Running(2000)};
  UtilizationInput in = Util(2, 100, pods);
  in.resource = "cpu";
  // cpu: one ready pod at 200 % with an unready pod -> rebalance adds it at 0 -> 100 % -> hold.
  CHECK(ReplicasForUtilization(in)->replicas == 2);
  in.resource = "memory";
  CHECK(ReplicasForUtilization(in)->replicas == 4);
}

TEST_CASE("utilization: scale-up with a pending pod counts it at zero usage") {
  // Ready: 2 x 1500/1000 = 150 % vs 50 % target -> ratio 3. Pending pod added at 0:
  // 3000*100/3000 = 100 % -> ratio 2 -> ceil(2 * 3) = 6.
  std::vector<PodSample> pods = {Running(1500), Running(1500),
                                 With(PodState::kPending, std::nullopt)};
  auto r = ReplicasForUtilization(Util(3, 50, pods));
  REQUIRE(r.ok());
  CHECK(r->utilization == 150);
  CHECK(r->replicas == 6);
}

TEST_CASE("utilization: missing pods with a ratio of exactly 1 add nothing") {
  std::vector<PodSample> pods = {Running(500), Running(std::nullopt)};
  auto r = ReplicasForUtilization(Util(2, 50, pods));
  REQUIRE(r.ok());
  CHECK(r->utilization == 50);
  CHECK(r->replicas == 2);
}

TEST_CASE(
    "utilization: samples matching no pod are skipped in the ratio, counted after rebalance") {
  // Ready 2 x 3000/1000 = 300 % vs 100 %: ratio 3. One missing pod -> 0 on scale-up:
  // 6000*100/3000 = 200 % -> ratio 2; samples now: 2 ready + 1 missing + 2 extra = 5 -> 10.
  std::vector<PodSample> pods = {Running(3000), Running(3000), Running(std::nullopt)};
  std::vector<int64_t> extra = {9999, 9999};
  UtilizationInput in = Util(3, 100, pods);
  in.extra_samples_milli = extra;
  auto r = ReplicasForUtilization(in);
  REQUIRE(r.ok());
  CHECK(r->utilization == 300);
  CHECK(r->raw_average_milli == 3000);
  CHECK(r->replicas == 10);
}

TEST_CASE("utilization: tolerance is per direction") {
  std::vector<PodSample> pods = {Running(1150), Running(1150)};  // 115 %
  UtilizationInput in = Util(2, 100, pods);
  in.tolerance = {0.1, 0.2};  // down 10 %, up 20 %
  CHECK(ReplicasForUtilization(in)->replicas == 2);
  in.tolerance = {0.2, 0.1};
  CHECK(ReplicasForUtilization(in)->replicas == 3);
}

TEST_CASE("average value: samples matching no pod count in the average") {
  std::vector<PodSample> pods = {Running(1000)};
  std::vector<int64_t> extra = {3000};
  AverageValueInput in;
  in.current_replicas = 1;
  in.target_average_milli = 1000;
  in.pods = pods;
  in.extra_samples_milli = extra;
  auto r = ReplicasForAverageValue(in);
  REQUIRE(r.ok());
  CHECK(r->usage_milli == 2000);
  CHECK(r->replicas == 2);  // ceil(2.0 * 1 ready pod)
}

TEST_CASE("average value: missing pods count as zero on scale-up") {
  // 2 samples at 30000 vs 10000 target, one missing: (60000 + 0) / 3 = 20000 -> ratio 2 -> 6.
  std::vector<PodSample> pods = {Running(30000), Running(30000), Running(std::nullopt)};
  AverageValueInput in;
  in.current_replicas = 3;
  in.target_average_milli = 10000;
  in.pods = pods;
  auto r = ReplicasForAverageValue(in);
  REQUIRE(r.ok());
  CHECK(r->replicas == 6);
}

TEST_CASE("average value: a new pod count that reverses the direction holds") {
  // Two samples at 1000 vs 10000 (ratio 0.1), eight missing pods filled at target:
  // (2000 + 80000) / 10 = 8200 -> 0.82, a scale-down ratio, yet ceil(0.82 * 10) = 9 > 2.
  std::vector<PodSample> pods = {Running(1000), Running(1000)};
  for (int i = 0; i < 8; ++i) pods.push_back(Running(std::nullopt));
  AverageValueInput in;
  in.current_replicas = 2;
  in.target_average_milli = 10000;
  in.pods = pods;
  CHECK(ReplicasForAverageValue(in)->replicas == 2);
}

TEST_CASE("average value: missing pods filled at target can land inside tolerance") {
  // (16000 + 30000) / 5 = 9200 -> 0.92: inside the 10 % band -> current.
  std::vector<PodSample> pods = {Running(8000), Running(8000), Running(std::nullopt),
                                 Running(std::nullopt), Running(std::nullopt)};
  AverageValueInput in;
  in.current_replicas = 5;
  in.target_average_milli = 10000;
  in.pods = pods;
  CHECK(ReplicasForAverageValue(in)->replicas == 5);
}

TEST_CASE("value: saturation and scale from zero") {
  ValueInput in;
  in.current_replicas = 3;
  in.usage_milli = std::numeric_limits<int64_t>::max();
  in.target_value_milli = 1;
  in.ready_pod_count = 3;
  CHECK(ReplicasForValue(in) == std::numeric_limits<int32_t>::max());

  in.current_replicas = 0;  // from zero: ceil(ratio), tolerance ignored
  in.usage_milli = 1050;
  in.target_value_milli = 1000;
  CHECK(ReplicasForValue(in) == 2);
  in.usage_milli = 0;
  CHECK(ReplicasForValue(in) == 0);
}

TEST_CASE("average target: status replicas zero recomputes from the total") {
  AverageTargetInput in;
  in.status_replicas = 0;
  in.usage_milli = 2500;
  in.target_average_milli = 1000;
  const AverageTargetResult r = ReplicasForAverageTarget(in);
  CHECK(r.replicas == 3);
  CHECK(r.usage_milli == 0);
}

TEST_CASE("external sums cap at int64 max") {
  const int64_t big = std::numeric_limits<int64_t>::max() - 5;
  const std::vector<int64_t> values = {big, 10, 3};
  CHECK(SumExternal(values) == std::numeric_limits<int64_t>::max());
  const std::vector<int64_t> small = {1, 2, 3};
  CHECK(SumExternal(small) == 6);
}

TEST_CASE("classify: Unknown readiness and resources other than cpu") {
  const Time now = Time::FromUnixSeconds(1'000'000);
  PodStatus pod;
  pod.phase = PodPhase::kRunning;
  pod.has_sample = true;
  pod.sample_time = now;
  pod.sample_window = Duration::Seconds(30);
  pod.start_time = now - Duration::Minutes(10);
  pod.ready = ConditionStatus::kUnknown;
  pod.ready_transition = now - Duration::Minutes(10);
  ReadinessOptions options;
  // Unknown is not False: after the initialization period the pod counts as ready.
  CHECK(ClassifyPod(pod, true, options, now) == PodClass::kReady);
  pod.ready = ConditionStatus::kFalse;
  CHECK(ClassifyPod(pod, true, options, now) == PodClass::kUnready);
  CHECK(ClassifyPod(pod, false, options, now) == PodClass::kReady);
  pod.start_time.reset();
  CHECK(ClassifyPod(pod, true, options, now) == PodClass::kUnready);
  pod.phase = PodPhase::kFailed;
  CHECK(ClassifyPod(pod, false, options, now) == PodClass::kIgnored);
}

TEST_CASE("combine: no metrics is an error; a first proposal of 0 is taken") {
  CHECK(CombineProposals(3, {}).outcome == CombineOutcome::kError);
  const std::vector<MetricProposal> zero = {{0, {}}};
  const Combined c = CombineProposals(3, zero);
  CHECK(c.outcome == CombineOutcome::kOk);
  CHECK(c.replicas == 0);
  CHECK(c.chosen == 0);
  const std::vector<MetricProposal> mixed = {{std::nullopt, "FailedGetPodsMetric"}, {2, {}}};
  const Combined m = CombineProposals(3, mixed);
  CHECK(m.outcome == CombineOutcome::kError);
  CHECK(m.first_failed == 0);
}
