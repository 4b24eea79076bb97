// The AMAS scaling policy as tables (DESIGN.md): backend pods 3-20, scale up at most
// +50 % per 60 s after a 60 s stabilization window, scale down at most -10 % per
// 60 s after 300 s; Celery workers 10-50. Rounds run every 15 s at explicit times;
// each table lists every change as (seconds after the rule started voting, new count).
//
// Scale-down note: with the HPA's truncating Percent policy (hpa.md §5.12) -10 %
// from 18 allows int32(18 * 0.9) = 16, so the down staircase is 20, 18, 16, 14, ...,
// not 20, 18, 17: decide follows the Kubernetes arithmetic exactly.
#include <catch2/catch.hpp>

#include <functional>
#include <vector>

#include "decide/decide.h"

using namespace amas::decide;  // NOLINT: test-local
using amas::core::Duration;
using amas::core::Time;

namespace {

const Time kStart = Time::FromUnixSeconds(1'900'000'000);  // t = 0: the rule starts voting
constexpr int64_t kInterval = 15;

Target Backend() {
  Target t;
  t.name = "backend";
  t.min_replicas = 3;
  t.max_replicas = 20;
  Behavior b;
  b.scale_up = ScalingRules{
      60, SelectPolicy::kMax, std::vector<ScalingPolicy>{{PolicyType::kPercent, 50, 60}}, {}};
  b.scale_down = ScalingRules{
      300, SelectPolicy::kMax, std::vector<ScalingPolicy>{{PolicyType::kPercent, 10, 60}}, {}};
  t.behavior = b;
  return t;
}

Target CeleryWorkers() {
  Target t;
  t.name = "celery-workers";
  t.min_replicas = 10;
  t.max_replicas = 50;
  return t;  // no behavior: the HPA legacy path
}

struct Change {
  int64_t t;  // seconds after kStart
  int32_t to;
  bool operator==(const Change&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Change& c) {
  return os << "{t=" << c.t << "s -> " << c.to << "}";
}

// Runs rounds from `from_s` to `to_s` inclusive, applying every change at once
// (the actuator always succeeds), and returns the changes.
std::vector<Change> Run(const Target& target, int32_t start, int64_t from_s, int64_t to_s,
                        const std::function<Verdict(int64_t t)>& verdict_at) {
  std::vector<Change> changes;
  int32_t current = start;
  Decision d;
  for (int64_t t = from_s; t <= to_s; t += kInterval) {
    const Verdict v = verdict_at(t);
    Decide(target, Round{kStart + Duration::Seconds(t), current, std::span(&v, 1)}, &d);
    if (d.desired != current) {
      RecordScale(target, d, &d.history);
      changes.push_back({t, d.desired});
      current = d.desired;
    }
  }
  return changes;
}

Verdict Cpu(Vote vote, double value) {
  Verdict v;
  v.rule = "cpu";
  v.value = value;
  v.vote = vote;
  return v;
}

}  // namespace

TEST_CASE("AMAS backend: a sustained up from 4 goes 4, 6, 9, 14, 20 at 60 s spacing") {
  // Holds for a minute, then "up" (CPU above 70 % for its `for`) from t = 0 on.
  const auto verdict = [](int64_t t) {
    return t < 0 ? Cpu(Vote::kHold, 0.5) : Cpu(Vote::kUp, 0.85);
  };
  const std::vector<Change> expected = {
      {45, 6},    // 4 rounds of "up" fill the 60 s window (t-60, t]; +50 % of 4
      {105, 9},   // the 45 s event leaves the 60 s period at exactly 60 s
      {165, 14},  // ceil(9 * 1.5) = 14
      {225, 20},  // ceil(14 * 1.5) = 21, capped by max_replicas
  };
  CHECK(Run(Backend(), 4, -60, 900, verdict) == expected);
}

TEST_CASE("AMAS backend: a sustained down from 20 waits 300 s, then -10 % per 60 s to 3") {
  const auto verdict = [](int64_t t) {
    return t < 0 ? Cpu(Vote::kHold, 0.5) : Cpu(Vote::kDown, 0.2);
  };
  const std::vector<Change> expected = {
      {285, 18},  // 20 rounds of "down" fill the 300 s window; int32(20 * 0.9)
      {345, 16}, {405, 14}, {465, 12}, {525, 10}, {585, 9}, {645, 8},
      {705, 7},  {765, 6},  {825, 5},  {885, 4},  {945, 3},  // never below min_replicas
  };
  CHECK(Run(Backend(), 20, -60, 2400, verdict) == expected);
}

TEST_CASE("AMAS backend: short bursts do not scale") {
  SECTION("45 s of up inside a 60 s window of holds") {
    const auto verdict = [](int64_t t) {
      return t >= 0 && t < 45 ? Cpu(Vote::kUp, 0.9) : Cpu(Vote::kHold, 0.5);
    };
    CHECK(Run(Backend(), 4, -60, 600, verdict).empty());
  }
  SECTION("four minutes of down") {
    const auto verdict = [](int64_t t) {
      return t >= 0 && t < 240 ? Cpu(Vote::kDown, 0.1) : Cpu(Vote::kHold, 0.5);
    };
    CHECK(Run(Backend(), 12, -60, 1200, verdict).empty());
  }
}

TEST_CASE("AMAS backend: scale-down stops as soon as the rule stops voting down") {
  const auto verdict = [](int64_t t) {
    return t >= 0 && t <= 300 ? Cpu(Vote::kDown, 0.2) : Cpu(Vote::kHold, 0.4);
  };
  const std::vector<Change> expected = {{285, 18}};
  CHECK(Run(Backend(), 20, -60, 1800, verdict) == expected);
}

TEST_CASE("AMAS backend: a rule without data holds a scale-down for as long as it lasts") {
  const Target target = Backend();
  int32_t current = 20;
  Decision d;
  for (int64_t t = -60; t <= 900; t += kInterval) {
    Verdict cpu = Cpu(Vote::kDown, 0.1);
    Verdict latency;
    latency.rule = "latency-p95";  // no data: on_missing block_scale_down
    const Verdict both[] = {cpu, latency};
    Decide(target, Round{kStart + Duration::Seconds(t), current, both}, &d);
    REQUIRE(d.desired == current);
    CHECK(d.limit == Limit::kMissingData);
  }
}

TEST_CASE("AMAS celery workers 10-50: queue per worker, legacy path") {
  // queue length vs 10 per worker (target_average_value): 300 -> 30 workers wanted,
  // 1000 -> 100 (capped at 50), then 50 -> 5 (raised to min 10) after the 300 s window.
  const auto verdict = [](int64_t t) {
    Verdict q;
    q.rule = "queue";
    q.target_average_value = 10;
    q.value = t < 60 ? 300 : t < 120 ? 1000 : 50;
    return q;
  };
  const std::vector<Change> expected = {
      {0, 20},    // raw 30, legacy cap max(2 x 10, 4) = 20
      {15, 30},   // 300 / (10 x 20) = 1.5 -> ceil(300 / 10) = 30
      {60, 50},   // raw 100 -> cap 60 -> max_replicas 50
      {420, 10},  // raw 5 once the last 100 (t = 105) is older than 300 s; min 10
  };
  CHECK(Run(CeleryWorkers(), 10, 0, 1200, verdict) == expected);
}
