// The AMAS decision layer: how verdicts combine, what missing or broken data does,
// pause, cooldown, the replica gates, step defaults and the why lines.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "decide/decide.h"

using namespace amas::decide;  // NOLINT: test-local
using amas::core::Duration;
using amas::core::Time;

namespace {

const Time kT0 = Time::FromUnixSeconds(1'800'000'000);

// Behavior that never slows anything down, so `desired` shows the combined raw
// value bounded only by min/max.
Target Free(int32_t min = 1, int32_t max = 100) {
  Target t;
  t.name = "free";
  t.min_replicas = min;
  t.max_replicas = max;
  Behavior b;
  b.scale_up = ScalingRules{
      0, SelectPolicy::kMax, std::vector<ScalingPolicy>{{PolicyType::kPods, 1000, 1}}, {}};
  b.scale_down = ScalingRules{
      0, SelectPolicy::kMax, std::vector<ScalingPolicy>{{PolicyType::kPods, 1000, 1}}, {}};
  t.behavior = b;
  return t;
}

Verdict Up(std::string_view rule, std::optional<Step> step = std::nullopt, double value = 1) {
  Verdict v;
  v.rule = rule;
  v.value = value;
  v.vote = Vote::kUp;
  v.step = step;
  return v;
}
Verdict Down(std::string_view rule, std::optional<Step> step = std::nullopt, double value = 0) {
  Verdict v = Up(rule, step, value);
  v.vote = Vote::kDown;
  return v;
}
Verdict Hold(std::string_view rule, double value = 0.5) {
  Verdict v = Up(rule, std::nullopt, value);
  v.vote = Vote::kHold;
  return v;
}
Verdict NoData(std::string_view rule, OnMissing on_missing = OnMissing::kBlockScaleDown,
               int32_t scale_to = 0) {
  Verdict v;
  v.rule = rule;
  v.on_missing = on_missing;
  v.scale_to = scale_to;
  v.vote = Vote::kDown;  // ignored without a value
  return v;
}
Step Pods(int32_t n) { return {PolicyType::kPods, n}; }
Step Percent(int32_t p) { return {PolicyType::kPercent, p}; }

Decision Once(const Target& t, int32_t current, const std::vector<Verdict>& verdicts,
              Time now = kT0) {
  return Decide(t, Round{now, current, verdicts}, History{});
}

bool WhyMentions(const Decision& d, std::string_view text) {
  for (const std::string& line : d.why) {
    if (line.find(text) != std::string::npos) return true;
  }
  return false;
}

std::string WhyText(const Decision& d) {
  std::string out;
  for (const std::string& line : d.why) out += line + "\n";
  return out;
}

}  // namespace

TEST_CASE("combination: any rule up scales up, the largest proposal wins") {
  const Decision d = Once(Free(), 5, {Up("a", Pods(1)), Hold("b"), Up("c", Pods(3)), Down("d")});
  INFO(WhyText(d));
  CHECK(d.raw == 8);
  CHECK(d.desired == 8);
  CHECK(d.limit == Limit::kNone);
  CHECK(WhyMentions(d, "rule c votes up"));
}

TEST_CASE("combination: down only when every rule agrees, the smallest shrink wins") {
  const Decision held = Once(Free(), 10, {Down("a", Pods(2)), Hold("b")});
  CHECK(held.raw == 10);
  CHECK(held.desired == 10);
  CHECK(WhyMentions(held, "rule b holds"));

  const Decision down = Once(Free(), 10, {Down("a", Pods(2)), Down("b", Pods(1)), Down("c")});
  INFO(WhyText(down));
  CHECK(down.raw == 9);
  CHECK(down.desired == 9);
  CHECK(WhyMentions(down, "every rule agrees to scale down"));
}

TEST_CASE("steps: computed like HPA policies from current; no step asks for the bound") {
  CHECK(Once(Free(), 4, {Up("a", Percent(50))}).raw == 6);
  CHECK(Once(Free(), 5, {Up("a", Percent(50))}).raw == 8);  // ceil(7.5)
  CHECK(Once(Free(), 20, {Down("a", Percent(10))}).raw == 18);
  CHECK(Once(Free(), 18, {Down("a", Percent(10))}).raw == 16);  // trunc(16.2)
  CHECK(Once(Free(), 10, {Down("a", Percent(80))}).raw == 1);   // 10 * 0.19999999999999996
  CHECK(Once(Free(3, 20), 4, {Up("a")}).raw == 20);
  CHECK(Once(Free(3, 20), 12, {Down("a")}).raw == 3);
}

TEST_CASE("proportional rules use the HPA Value / AverageValue math") {
  Verdict v;
  v.rule = "queue";
  v.value = 25;
  v.target_value = 10;
  CHECK(Once(Free(), 4, {v}).raw == 10);  // ceil(2.5 * 4)
  v.value = 10.5;
  CHECK(Once(Free(), 4, {v}).raw == 4);  // ratio 1.05: inside the 10 % band
  v.value = 0.7;
  v.target_value = 0.7;
  CHECK(Once(Free(), 4, {v}).raw == 4);  // milli-units: 700 vs 700

  Verdict avg;
  avg.rule = "queue-per-worker";
  avg.value = 32;
  avg.target_average_value = 5;
  CHECK(Once(Free(), 4, {avg}).raw == 7);  // ceil(32 / 5)
  avg.value = 21;
  CHECK(Once(Free(), 4, {avg}).raw == 4);  // 21 / (5 * 4) = 1.05: within

  SECTION("per-direction tolerance from behavior") {
    Target t = Free();
    t.behavior->scale_up->tolerance = 0.01;
    v.value = 10.5;
    v.target_value = 10;
    CHECK(Once(t, 4, {v}).raw == 5);  // ceil(1.05 * 4) = 5 with a 1 % up band
  }
}

TEST_CASE("on_missing: block_scale_down blocks down but lets up through") {
  const Decision blocked = Once(Free(), 10, {Down("cpu", Pods(2)), NoData("queue")});
  INFO(WhyText(blocked));
  CHECK(blocked.desired == 10);
  CHECK(blocked.limit == Limit::kMissingData);
  CHECK(WhyMentions(blocked, "rule queue has no data"));

  const Decision up = Once(Free(), 10, {Up("cpu", Pods(2)), NoData("queue")});
  CHECK(up.desired == 12);
  CHECK(up.limit == Limit::kNone);
}

TEST_CASE("on_missing: hold freezes the target both ways") {
  const Decision d = Once(Free(), 10, {Up("cpu", Pods(2)), NoData("queue", OnMissing::kHold)});
  CHECK(d.desired == 10);
  CHECK(d.limit == Limit::kMissingData);
  CHECK(WhyMentions(d, "on_missing is hold"));
}

TEST_CASE("on_missing: scale_to proposes its count") {
  CHECK(Once(Free(), 10, {NoData("q", OnMissing::kScaleTo, 14)}).desired == 14);
  // As a proposal it must still agree with the others to scale down.
  CHECK(Once(Free(), 10, {NoData("q", OnMissing::kScaleTo, 4), Hold("cpu")}).desired == 10);
  CHECK(Once(Free(), 10, {NoData("q", OnMissing::kScaleTo, 4), Down("cpu")}).desired == 4);
}

TEST_CASE("on_missing: ignore leaves the vote") {
  CHECK(Once(Free(), 10, {Down("cpu", Pods(2)), NoData("q", OnMissing::kIgnore)}).desired == 8);
  const Decision none = Once(Free(), 10, {NoData("q", OnMissing::kIgnore)});
  CHECK(none.desired == 10);
  CHECK(none.limit == Limit::kMissingData);
  CHECK(WhyMentions(none, "no rule has data"));
  CHECK(Once(Free(), 10, {}).limit == Limit::kMissingData);
}

TEST_CASE("NaN and Inf never cause a scale action") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  for (double bad : {nan, inf, -inf}) {
    INFO(bad);
    const Decision alone = Once(Free(), 10, {Up("cpu", Pods(2), bad)});
    CHECK(alone.desired == 10);
    CHECK(alone.limit == Limit::kMissingData);
    CHECK(Once(Free(), 10, {Down("cpu", Pods(2), bad)}).desired == 10);
    // It blocks the others' scale-down, even with on_missing ignore ...
    Verdict ignored = Down("lat", Pods(2), bad);
    ignored.on_missing = OnMissing::kIgnore;
    CHECK(Once(Free(), 10, {Down("cpu", Pods(2)), ignored}).desired == 10);
    // ... and never turns into a scale_to fallback.
    Verdict fallback = Hold("lat", bad);
    fallback.on_missing = OnMissing::kScaleTo;
    fallback.scale_to = 50;
    CHECK(Once(Free(), 10, {fallback}).desired == 10);
    // Another rule's scale-up still goes through.
    CHECK(Once(Free(), 10, {Up("cpu", Pods(2)), Up("lat", Pods(9), bad)}).desired == 12);
    Verdict prop;
    prop.rule = "queue";
    prop.value = bad;
    prop.target_value = 10;
    CHECK(Once(Free(), 10, {prop}).desired == 10);
  }
  const Decision d = Once(Free(), 10, {Down("cpu", Pods(2), nan)});
  CHECK(WhyMentions(d, "NaN/Inf"));
}

TEST_CASE("broken rule config fails like a failed metric") {
  Verdict zero_target;
  zero_target.rule = "q";
  zero_target.value = 5;
  zero_target.target_value = 0;
  CHECK(Once(Free(), 10, {zero_target}).limit == Limit::kMissingData);
  CHECK(Once(Free(), 10, {Up("cpu", Pods(0))}).desired == 10);
}

TEST_CASE("pause: holds the count, still explains and records the raw value") {
  Target t = Free();
  t.paused = true;
  const Decision d = Once(t, 10, {Up("cpu", Pods(3))});
  CHECK(d.raw == 13);
  CHECK(d.desired == 10);
  CHECK(d.limit == Limit::kPaused);
  CHECK(WhyMentions(d, "paused: paused: holds at 10 instead of 13"));
  CHECK(d.history.recommendations.back().replicas == 13);

  t.paused = false;
  t.paused_scale_up = true;
  CHECK(Once(t, 10, {Up("cpu", Pods(3))}).desired == 10);
  CHECK(Once(t, 10, {Down("cpu", Pods(3))}).desired == 7);
  t.paused_scale_up = false;
  t.paused_scale_down = true;
  CHECK(Once(t, 10, {Up("cpu", Pods(3))}).desired == 13);
  const Decision down = Once(t, 10, {Down("cpu", Pods(3))});
  CHECK(down.desired == 10);
  CHECK(down.limit == Limit::kPaused);
  // Pause also holds the min/max corrections.
  t.paused = true;
  CHECK(Once(t, 200, {}).desired == 200);
}

TEST_CASE("cooldown: no change until it has passed since the last applied change") {
  Target t = Free();
  t.cooldown = Duration::Minutes(2);
  Decision d = Once(t, 10, {Up("cpu", Pods(2))});
  REQUIRE(d.desired == 12);
  History h = d.history;
  RecordScale(t, d, &h);
  REQUIRE(h.last_scale_time == kT0);

  const std::vector<Verdict> up = {Up("cpu", Pods(2))};
  Decision soon = Decide(t, Round{kT0 + Duration::Seconds(60), 12, up}, h);
  CHECK(soon.desired == 12);
  CHECK(soon.limit == Limit::kRatePolicy);
  CHECK(WhyMentions(soon, "cooldown 120s"));
  Decision later = Decide(t, Round{kT0 + Duration::Seconds(120), 12, up}, h);
  CHECK(later.desired == 14);
}

TEST_CASE("gates: zero replicas, above max, below min") {
  const Target t = Free(3, 20);
  const Decision zero = Once(t, 0, {Up("cpu")});
  CHECK(zero.desired == 0);
  CHECK(zero.limit == Limit::kPaused);

  const Decision above = Once(t, 25, {Up("cpu")});
  CHECK(above.desired == 20);
  CHECK(above.limit == Limit::kMaxReplicas);
  CHECK(above.raw == 25);

  const Decision below = Once(t, 1, {Down("cpu")});
  CHECK(below.desired == 3);
  CHECK(below.limit == Limit::kMinReplicas);

  SECTION("min 0 (scale_to_zero) computes from zero") {
    Target z = Free(0, 20);
    z.scale_to_zero = true;
    Verdict q;
    q.rule = "queue";
    q.value = 35;
    q.target_value = 10;
    CHECK(Once(z, 0, {q}).desired == 4);  // ceil(3.5): from zero, no tolerance
  }
}

TEST_CASE("bounds: max_replicas and min_replicas reasons") {
  const Target t = Free(3, 20);
  const Decision up = Once(t, 15, {Up("cpu", Pods(10))});
  CHECK(up.desired == 20);
  CHECK(up.limit == Limit::kMaxReplicas);
  CHECK(up.scaling_limited_reason == "TooManyReplicas");
  CHECK(WhyMentions(up, "max_replicas: capped at 20"));
  const Decision down = Once(t, 5, {Down("cpu", Pods(10))});
  CHECK(down.desired == 3);
  CHECK(down.limit == Limit::kMinReplicas);
  CHECK(WhyMentions(down, "min_replicas: raised to 3"));
}

TEST_CASE("legacy path (no behavior): 2x cap per round and a 300 s max-stabilization") {
  Target t;
  t.name = "legacy";
  t.min_replicas = 2;
  t.max_replicas = 50;
  const Decision up = Once(t, 5, {Up("cpu")});
  CHECK(up.raw == 50);
  CHECK(up.desired == 10);
  CHECK(up.limit == Limit::kRatePolicy);
  CHECK(WhyMentions(up, "without behavior"));

  // First round seeds the current count: scale-down waits for the window.
  const Decision down = Once(t, 10, {Down("cpu")});
  CHECK(down.desired == 10);
  CHECK(down.limit == Limit::kStabilization);
  CHECK(down.able_to_scale_reason == "ScaleDownStabilized");
}

TEST_CASE("history: first round seeds current; RecordScale stores behavior events only") {
  Target t = Free();
  const Decision d = Once(t, 10, {Up("cpu", Pods(2))});
  REQUIRE(d.history.recommendations.size() == 2);
  CHECK(d.history.recommendations[0].replicas == 10);
  CHECK(d.history.recommendations[1].replicas == 12);
  CHECK(d.history.scale_up_events.empty());
  History h = d.history;
  RecordScale(t, d, &h);
  REQUIRE(h.scale_up_events.size() == 1);
  CHECK(h.scale_up_events[0].change == 2);
  CHECK(h.scale_up_events[0].at == kT0);

  Target legacy = t;
  legacy.behavior.reset();
  History l = d.history;
  RecordScale(legacy, d, &l);
  CHECK(l.scale_up_events.empty());
  CHECK(l.last_scale_time == kT0);

  const Decision same = Once(t, 10, {Hold("cpu")});
  History s = same.history;
  RecordScale(t, same, &s);
  CHECK_FALSE(s.last_scale_time.has_value());
}

TEST_CASE("in place: a long run keeps history bounded and why lines current") {
  Target t = Free(3, 20);
  t.behavior->scale_down->stabilization_window_seconds = 300;
  Decision d;
  const std::vector<Verdict> hold = {Hold("cpu")};
  for (int i = 0; i < 2000; ++i) {
    Decide(t, Round{kT0 + Duration::Seconds(15 * i), 10, hold}, &d);
  }
  // 300 s / 15 s rounds: the window holds 20 entries, plus the slot being reused.
  CHECK(d.history.recommendations.size() <= 22);
  REQUIRE(d.why.size() == 1);
  CHECK(d.why[0] == "raw 10 (= current): rule cpu holds (value 0.5)");
}

TEST_CASE("limit names") {
  CHECK(LimitName(Limit::kNone) == "none");
  CHECK(LimitName(Limit::kStabilization) == "stabilization");
  CHECK(LimitName(Limit::kRatePolicy) == "rate_policy");
  CHECK(LimitName(Limit::kMaxReplicas) == "max_replicas");
  CHECK(LimitName(Limit::kMinReplicas) == "min_replicas");
  CHECK(LimitName(Limit::kPaused) == "paused");
  CHECK(LimitName(Limit::kMissingData) == "missing_data");
}

TEST_CASE("the examples in decide.h hold") {
  Target t;
  t.name = "backend";
  t.min_replicas = 3;
  t.max_replicas = 20;
  Behavior b;
  b.scale_up = ScalingRules{
      60, SelectPolicy::kMax, std::vector<ScalingPolicy>{{PolicyType::kPercent, 50, 60}}, {}};
  t.behavior = b;
  Decision d;
  const std::vector<Verdict> up = {Up("cpu")};
  for (int s = 0; s <= 60; s += 15) Decide(t, Round{kT0 + Duration::Seconds(s), 4, up}, &d);
  CHECK(d.desired == 6);
  CHECK(d.limit == Limit::kRatePolicy);

  const Decision held = Once(t, 10, {Down("cpu"), NoData("queue")});
  CHECK(held.desired == 10);
  CHECK(held.limit == Limit::kMissingData);
}

TEST_CASE("from zero: a Percent-only scale-up policy cannot grow, a Pods policy can") {
  Target t;
  t.name = "workers";
  t.min_replicas = 0;
  t.scale_to_zero = true;
  t.max_replicas = 10;
  Behavior b;
  b.scale_up = ScalingRules{0, SelectPolicy::kMax,
                            std::vector<ScalingPolicy>{{PolicyType::kPercent, 50, 60}}, {}};
  t.behavior = b;
  const Decision stuck = Once(t, 0, {Up("queue")});
  CHECK(stuck.desired == 0);
  CHECK(stuck.limit == Limit::kRatePolicy);
  t.behavior->scale_up->policies->push_back({PolicyType::kPods, 2, 60});
  CHECK(Once(t, 0, {Up("queue")}).desired == 2);
}
