// decide_bench: one decision round for 2,000 scale targets x 5 rules, the decide
// stage only (Decide per target; RecordScale and the fake actuator run outside the
// timed region). Rounds are 15 s apart in simulated time; verdicts drift between
// up, down, hold, missing and NaN so every path runs. Prints the round time
// (min / median / p99 / max), time per target, and the heap allocations counted
// inside the timed region (target: none once warmed up).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <new>
#include <vector>

#include "decide/decide.h"

namespace {

bool g_counting = false;
uint64_t g_allocations = 0;

}  // namespace

// Counts heap allocations made while g_counting is set (single-threaded bench).
void* operator new(std::size_t size) {
  if (g_counting) ++g_allocations;
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) {
  if (g_counting) ++g_allocations;
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

namespace {

using amas::core::Duration;
using amas::core::Time;
using namespace amas::decide;  // NOLINT: bench-local

constexpr int kTargets = 2000;
constexpr int kRules = 5;
constexpr int kWarmupRounds = 120;  // 30 simulated minutes: histories at steady size
constexpr int kMeasuredRounds = 200;
constexpr int64_t kIntervalSeconds = 15;

struct Rng {
  uint64_t s = 0x9E3779B97F4A7C15ULL;
  uint64_t Next() {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
  }
  double Unit() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
};

Target MakeTarget(int i) {
  Target t;
  t.name = "target-" + std::to_string(i);
  switch (i % 4) {
    case 0:  // Celery-like, legacy path
      t.min_replicas = 10;
      t.max_replicas = 50;
      break;
    case 1: {  // the AMAS backend policy
      t.min_replicas = 3;
      t.max_replicas = 20;
      Behavior b;
      b.scale_up = ScalingRules{
          60, SelectPolicy::kMax, std::vector<ScalingPolicy>{{PolicyType::kPercent, 50, 60}}, {}};
      b.scale_down = ScalingRules{
          300, SelectPolicy::kMax, std::vector<ScalingPolicy>{{PolicyType::kPercent, 10, 60}}, {}};
      t.behavior = b;
      break;
    }
    case 2:  // default behavior
      t.min_replicas = 2;
      t.max_replicas = 40;
      t.behavior = Behavior{};
      break;
    default: {  // two policies each way, Min select down, a cooldown
      t.min_replicas = 1;
      t.max_replicas = 100;
      Behavior b;
      b.scale_up = ScalingRules{
          30, SelectPolicy::kMax,
          std::vector<ScalingPolicy>{{PolicyType::kPods, 4, 60}, {PolicyType::kPercent, 100, 60}},
          0.05};
      b.scale_down = ScalingRules{
          120,
          SelectPolicy::kMin,
          std::vector<ScalingPolicy>{{PolicyType::kPods, 2, 60}, {PolicyType::kPercent, 20, 120}},
          {}};
      t.behavior = b;
      t.cooldown = Duration::Seconds(45);
      break;
    }
  }
  return t;
}

constexpr const char* kRuleNames[kRules] = {"cpu", "memory", "latency-p95", "queue", "errors"};

// Fills one target's verdicts for this round. `mood` drifts slowly per target.
void FillVerdicts(Rng& rng, double mood, Verdict* v) {
  for (int r = 0; r < kRules; ++r) {
    Verdict& x = v[r];
    x.rule = kRuleNames[r];
    x.step.reset();
    x.target_value.reset();
    x.target_average_value.reset();
    x.on_missing = OnMissing::kBlockScaleDown;
    const double u = rng.Unit();
    if (u < 0.01) {
      x.value.reset();  // no data
    } else if (u < 0.015) {
      x.value = std::numeric_limits<double>::quiet_NaN();
    } else {
      x.value = mood + 0.1 * (rng.Unit() - 0.5);
    }
    const double m = x.value.value_or(0.5);
    if (r == 3) {
      x.target_average_value = 0.5;  // queue per replica
      x.value = x.value.has_value() ? std::optional<double>(m * 20) : std::nullopt;
    } else {
      x.vote = m > 0.7 ? Vote::kUp : m < 0.3 ? Vote::kDown : Vote::kHold;
      if (r == 4) x.step = Step{PolicyType::kPercent, 25};
      if (r == 2) x.on_missing = OnMissing::kIgnore;
    }
  }
}

}  // namespace

int main() {
  std::vector<Target> targets;
  targets.reserve(kTargets);
  for (int i = 0; i < kTargets; ++i) targets.push_back(MakeTarget(i));
  std::vector<int32_t> current(kTargets);
  for (int i = 0; i < kTargets; ++i) current[i] = targets[i].min_replicas + 2;
  std::vector<double> mood(kTargets);
  Rng rng;
  for (double& m : mood) m = rng.Unit();
  std::vector<Verdict> verdicts(static_cast<size_t>(kTargets) * kRules);
  std::vector<Decision> decisions(kTargets);

  const Time t0 = Time::FromUnixSeconds(1'700'000'000);
  std::vector<double> round_ms;
  round_ms.reserve(kMeasuredRounds);
  uint64_t measured_allocations = 0;
  int64_t changes = 0;
  int64_t checksum = 0;

  for (int round = 0; round < kWarmupRounds + kMeasuredRounds; ++round) {
    const Time now = t0 + Duration::Seconds(kIntervalSeconds * round);
    for (int i = 0; i < kTargets; ++i) {
      mood[i] = std::clamp(mood[i] + 0.08 * (rng.Unit() - 0.5), 0.0, 1.0);
      FillVerdicts(rng, mood[i], &verdicts[static_cast<size_t>(i) * kRules]);
    }
    const bool measured = round >= kWarmupRounds;

    g_allocations = 0;
    g_counting = measured;
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < kTargets; ++i) {
      const Round r{now, current[i],
                    std::span<const Verdict>(&verdicts[static_cast<size_t>(i) * kRules], kRules)};
      Decide(targets[i], r, &decisions[i]);
    }
    const auto stop = std::chrono::steady_clock::now();
    g_counting = false;

    if (measured) {
      measured_allocations += g_allocations;
      round_ms.push_back(std::chrono::duration<double, std::milli>(stop - start).count());
    }
    for (int i = 0; i < kTargets; ++i) {  // the "actuator": always succeeds
      Decision& d = decisions[i];
      checksum += d.desired + static_cast<int64_t>(d.why.size());
      if (d.desired != current[i]) {
        RecordScale(targets[i], d, &d.history);
        current[i] = d.desired;
        if (measured) ++changes;
      }
    }
  }

  std::sort(round_ms.begin(), round_ms.end());
  const auto pct = [&](double p) {
    return round_ms[static_cast<size_t>(p * static_cast<double>(round_ms.size() - 1))];
  };
  size_t max_recs = 0;
  size_t max_events = 0;
  for (const Decision& d : decisions) {
    max_recs = std::max(max_recs, d.history.recommendations.size());
    max_events = std::max(
        max_events, std::max(d.history.scale_up_events.size(), d.history.scale_down_events.size()));
  }
  std::printf("decide_bench: %d targets x %d rules, %d measured rounds (after %d warm-up)\n",
              kTargets, kRules, kMeasuredRounds, kWarmupRounds);
  std::printf("  round time   min %.3f ms  median %.3f ms  p99 %.3f ms  max %.3f ms\n", pct(0),
              pct(0.5), pct(0.99), round_ms.back());
  std::printf("  per target   median %.0f ns\n", pct(0.5) * 1e6 / kTargets);
  std::printf("  allocations in measured rounds: %llu\n",
              static_cast<unsigned long long>(measured_allocations));
  std::printf("  scale changes in measured rounds: %lld (%.1f%% of target-rounds)\n",
              static_cast<long long>(changes),
              100.0 * static_cast<double>(changes) / (kTargets * kMeasuredRounds));
  std::printf("  history size at end: <= %zu recommendations, <= %zu events per list\n", max_recs,
              max_events);
  std::printf("  checksum %lld\n", static_cast<long long>(checksum));
  std::printf("  target: median round <= 5 ms: %s\n", pct(0.5) <= 5.0 ? "met" : "MISSED");
  return 0;
}
