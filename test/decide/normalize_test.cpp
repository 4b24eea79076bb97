// Edge cases of stabilization, rate limits and scale-event bookkeeping beyond the
// vectors: window ends, slot reuse, both event lists, float64 artefacts, defaults.
#include <catch2/catch.hpp>

#include <vector>

#include "decide/normalize.h"

using namespace amas::decide;       // NOLINT: test-local
using namespace amas::decide::hpa;  // NOLINT: test-local
using amas::core::Duration;
using amas::core::Time;

namespace {

const Time kNow = Time::FromUnixSeconds(2'000'000'000);
Time Ago(int64_t s) { return kNow - Duration::Seconds(s); }

std::vector<int32_t> Values(const std::vector<Recommendation>& recs) {
  std::vector<int32_t> out;
  for (const Recommendation& r : recs) out.push_back(r.replicas);
  return out;
}

RulesView Rules(SelectPolicy select, const std::vector<ScalingPolicy>& policies) {
  RulesView v;
  v.select_policy = select;
  v.policies = policies;
  return v;
}

}  // namespace

TEST_CASE("legacy stabilization: age == window still counts, age > window is reusable") {
  std::vector<Recommendation> recs = {{Ago(300), 9}, {Ago(301), 8}};
  CHECK(StabilizeLegacy(2, Duration::Seconds(300), kNow, &recs) == 9);
  CHECK(Values(recs) == std::vector<int32_t>{9, 2});  // the 301 s slot was reused
}

TEST_CASE("legacy stabilization can exceed current (a plain max)") {
  History h;
  h.recommendations = {{Ago(30), 12}};
  NormalizeInput in;
  in.current = 5;
  in.desired = 3;
  in.min_replicas = 1;
  in.max_replicas = 20;
  in.now = kNow;
  const Normalized n = Normalize(in, &h);
  CHECK(n.stabilized == 12);
  CHECK(n.replicas == 10);  // legacy cap max(2 x 5, 4)
  CHECK(n.scaling_limited_reason == reason::kScaleUpLimit);
}

TEST_CASE(
    "behavior stabilization: age == window is outside; only the last obsolete slot is reused") {
  std::vector<Recommendation> recs = {{Ago(900), 1}, {Ago(60), 7}, {Ago(800), 2}};
  const Stabilized s = StabilizeWithBehavior({5, 9, 60, 120, kNow}, &recs);
  // Up window (now-60, now]: the 60 s entry is out, so upLimit = 9 and current 5 rises to 9.
  CHECK(s.replicas == 9);
  CHECK(s.reason == reason::kScaleUpStabilized);
  CHECK(Values(recs) == std::vector<int32_t>{1, 7, 9});
}

TEST_CASE("behavior stabilization never moves against the raw direction") {
  std::vector<Recommendation> recs = {{Ago(10), 2}};
  // Raw says up (8 > current 5) but the up window saw 2: hold at current.
  CHECK(StabilizeWithBehavior({5, 8, 60, 300, kNow}, &recs).replicas == 5);
}

TEST_CASE("changes in a period: age == period is outside") {
  const std::vector<ScaleEvent> events = {{Ago(60), 3}, {Ago(59), 4}, {Ago(0), 1}};
  CHECK(ReplicasChangeInPeriod(60, events, kNow) == 5);
}

TEST_CASE("limits: the period start uses both event lists") {
  const std::vector<ScalingPolicy> pods4 = {{PolicyType::kPods, 4, 60}};
  const std::vector<ScaleEvent> up = {{Ago(30), 3}};
  const std::vector<ScaleEvent> down = {{Ago(20), 5}};
  // start = 10 - 3 + 5 = 12
  LimitInput in{10, up, down, Rules(SelectPolicy::kMax, pods4), kNow};
  CHECK(ScaleUpLimit(in) == 16);
  CHECK(ScaleDownLimit(in) == 8);
}

TEST_CASE("limits: the scale-down floor may be negative; Min picks the largest floor") {
  const std::vector<ScalingPolicy> policies = {{PolicyType::kPods, 30, 60},
                                               {PolicyType::kPercent, 20, 60}};
  LimitInput in{10, {}, {}, Rules(SelectPolicy::kMax, policies), kNow};
  CHECK(ScaleDownLimit(in) == -20);
  in.rules.select_policy = SelectPolicy::kMin;
  CHECK(ScaleDownLimit(in) == 8);
}

TEST_CASE("limits: Percent rounding is asymmetric and float64") {
  const std::vector<ScalingPolicy> p15 = {{PolicyType::kPercent, 15, 60}};
  LimitInput in{10, {}, {}, Rules(SelectPolicy::kMax, p15), kNow};
  CHECK(ScaleUpLimit(in) == 12);   // ceil(11.5)
  CHECK(ScaleDownLimit(in) == 8);  // trunc(8.5)
  const std::vector<ScalingPolicy> p10 = {{PolicyType::kPercent, 10, 60}};
  LimitInput fifty{50, {}, {}, Rules(SelectPolicy::kMax, p10), kNow};
  CHECK(ScaleUpLimit(fifty) == 56);  // 50 * 1.1 = 55.000000000000007
}

TEST_CASE("rate: a used-up period floors the limit at current (never shrink while growing)") {
  const std::vector<ScalingPolicy> pods2 = {{PolicyType::kPods, 2, 60}};
  const std::vector<ScaleEvent> up = {{Ago(10), 6}};
  RateInput in{10, 15, 1,   20, Rules(SelectPolicy::kMax, pods2), Rules(SelectPolicy::kMax, pods2),
               up, {}, kNow};
  const Bounded b = ConvertWithBehaviorRate(in);
  CHECK(b.replicas == 10);
  CHECK(b.reason == reason::kScaleUpLimit);
}

TEST_CASE("rate: scaling down caps the limit at current") {
  const std::vector<ScalingPolicy> pods2 = {{PolicyType::kPods, 2, 60}};
  const std::vector<ScaleEvent> down = {{Ago(10), 6}};
  RateInput in{
      10, 5,    1,   20, Rules(SelectPolicy::kMax, pods2), Rules(SelectPolicy::kMax, pods2),
      {}, down, kNow};
  const Bounded b = ConvertWithBehaviorRate(in);
  CHECK(b.replicas == 10);
  CHECK(b.reason == reason::kScaleDownLimit);
}

TEST_CASE("store scale event: marks by the longest period, reuses the last outdated slot") {
  const std::vector<ScalingPolicy> policies = {{PolicyType::kPods, 4, 30},
                                               {PolicyType::kPercent, 100, 90}};
  const RulesView rules = Rules(SelectPolicy::kMax, policies);
  std::vector<ScaleEvent> events = {{Ago(200), 1}, {Ago(60), 2}, {Ago(120), 3}};
  StoreScaleEvent(&rules, 7, kNow, &events);
  REQUIRE(events.size() == 3);
  CHECK(events[0].outdated);
  CHECK_FALSE(events[1].outdated);
  CHECK(events[2].change == 7);
  CHECK(events[2].at == kNow);
  CHECK_FALSE(events[2].outdated);
  StoreScaleEvent(nullptr, 5, kNow, &events);  // no behavior: nothing stored
  CHECK(events.size() == 3);
}

TEST_CASE("defaults: ResolveRules and TolerancesFor") {
  ControllerFlags flags;
  flags.downscale_stabilization_window_seconds = 120;
  const RulesView up = ResolveRules(std::nullopt, Direction::kUp, flags);
  CHECK(up.stabilization_window_seconds == 0);
  CHECK(up.select_policy == SelectPolicy::kMax);
  REQUIRE(up.policies.size() == 2);
  CHECK(up.policies[0].type == PolicyType::kPods);
  CHECK(up.policies[0].value == 4);
  CHECK(up.policies[1].value == 100);
  CHECK(up.LongestPeriodSeconds() == 15);
  const RulesView down = ResolveRules(ScalingRules{}, Direction::kDown, flags);
  CHECK(down.stabilization_window_seconds == 120);
  REQUIRE(down.policies.size() == 1);
  CHECK(down.policies[0].type == PolicyType::kPercent);

  Behavior b;
  b.scale_up = ScalingRules{};
  b.scale_up->tolerance = 0.05;
  const Tolerances t = TolerancesFor(&b, flags);
  CHECK(t.scale_up == 0.05);
  CHECK(t.scale_down == 0.1);
  CHECK(TolerancesFor(nullptr, flags).scale_up == 0.1);
}

TEST_CASE("no behavior is not the default behavior (hpa.md §5.14)") {
  NormalizeInput in;
  in.current = 10;
  in.desired = 40;
  in.min_replicas = 1;
  in.max_replicas = 100;
  in.now = kNow;
  History legacy;
  History with_default;
  with_default.scale_up_events = {{Ago(5), 6}};
  legacy.scale_up_events = with_default.scale_up_events;
  // Legacy: 2x per round regardless of recent events.
  CHECK(Normalize(in, &legacy).replicas == 20);
  // Default behavior: the 6 pods added 5 s ago count against this 15 s period:
  // start 4 -> max(4 + 4, 4 * 2) = 8 < current -> hold at current.
  const Behavior defaults;
  in.behavior = &defaults;
  CHECK(Normalize(in, &with_default).replicas == 10);
}
