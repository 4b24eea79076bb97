// decide.h: per scale target, turns rule verdicts into the replica count to apply.
// Decide() is pure: same Target, Round and History give the same Decision; it reads
// no clock, does no I/O and never throws. Proposals combine like HPA metrics (any up
// wins, largest first; down needs every rule, smallest shrink first); then the
// Kubernetes HPA normalization runs exactly (behavior path, or the legacy path when
// behavior is unset), then cooldown and pause. No data never scales down, and a
// NaN/Inf value never causes a scale action. Every step that changed or held the
// number adds a line to Decision::why. The caller owns History: persist
// Decision::history, and call RecordScale() once a change was actually applied.
// Thread rule: plain values; different targets may be decided on different threads.
#ifndef AMAS_DECIDE_DECIDE_H_
#define AMAS_DECIDE_DECIDE_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "core/time.h"
#include "decide/hpa_types.h"

namespace amas::decide {

// A scale target's configuration. Validate with ValidateTarget() before use.
struct Target {
  std::string name;
  int32_t min_replicas = 1;  // 0 only with scale_to_zero
  int32_t max_replicas = 1;
  // Opt-in for min_replicas 0 (the HPAScaleToZero idea). A target at 0 is then decided
  // from 0; growing from 0 needs a Pods policy, since Percent of 0 is 0 (as in the HPA).
  // With min_replicas >= 1 a target at 0 was scaled down by hand and stays paused.
  bool scale_to_zero = false;
  // spec.behavior. Unset: the HPA legacy path (5-minute max-stabilization of
  // scale-down, at most max(2 x current, 4) per round), not the default behavior.
  std::optional<Behavior> behavior;
  ControllerFlags flags;           // tolerance (per direction) and the controller's defaults
  bool paused = false;             // hold at the current count
  bool paused_scale_up = false;    // never grow
  bool paused_scale_down = false;  // never shrink
  // A change applied at T holds the count during [T, T + cooldown) (zero: none).
  // Reported as rate_policy. Behavior policies usually express this better.
  core::Duration cooldown;
};

enum class Vote { kHold, kUp, kDown };

// A threshold rule's step. Computed like an HPA scaling policy from the current
// count: Pods n adds/removes n; Percent p gives ceil(c * (1 + p/100)) up and
// int32(c * (1 - p/100)) down.
struct Step {
  PolicyType type = PolicyType::kPods;
  int32_t value = 1;
};

// What a rule without data means for its target.
enum class OnMissing {
  kBlockScaleDown,  // default: like a failed HPA metric, blocks scale-down, not scale-up
  kHold,            // freezes the target: no change either way
  kScaleTo,         // proposes Verdict::scale_to (a fallback count)
  kIgnore,          // leaves the vote; cannot block scale-down
};

// One rule's result for this round. Either a threshold verdict (vote, step) or,
// when target_value / target_average_value is set, an HPA proportional proposal:
//   target_value:         like an Object/External Value metric: current if
//                         value/target is within tolerance, else
//                         ceil(value/target * current); from 0, ceil(value/target).
//   target_average_value: like an External AverageValue metric: current if within
//                         tolerance of value/(target * current), else ceil(value/target).
// Values go through int64 milli-units as in the HPA (value truncated as
// prometheus-adapter does, targets rounded to the nearest milli-unit).
// A vote without a step asks for as much as the target allows (up: max_replicas,
// down: min_replicas); the stabilization windows and the behavior's policies then
// set the pace, which is one policy step per period, as an HPA does for a metric
// far from its target. Give a step to move by a fixed amount instead.
struct Verdict {
  std::string_view rule;        // for `why`; borrowed, must outlive the Decide call
  std::optional<double> value;  // nullopt: no data this round
  Vote vote = Vote::kHold;
  std::optional<Step> step;
  std::optional<double> target_value;
  std::optional<double> target_average_value;
  OnMissing on_missing = OnMissing::kBlockScaleDown;
  int32_t scale_to = 0;  // OnMissing::kScaleTo
};

// What this round knows. `verdicts` is borrowed for the call.
struct Round {
  core::Time now;
  int32_t current_replicas = 0;
  std::span<const Verdict> verdicts;
};

// The step that set the final number (the last one that changed or held it).
enum class Limit {
  kNone,
  kStabilization,  // a stabilization window held the count
  kRatePolicy,     // a behavior policy (or the legacy 2x cap, or cooldown) limited it
  kMaxReplicas,
  kMinReplicas,
  kPaused,  // pause, a paused direction, or a target at 0 replicas (manual pause)
  kMissingData,
};
std::string_view LimitName(Limit limit);  // "none", "stabilization", "rate_policy", ...

// Decision::why: reads like a const vector of lines; keeps its string buffers
// across rounds so that a reused Decision does not allocate.
class WhyList {
 public:
  size_t size() const { return used_; }
  bool empty() const { return used_ == 0; }
  const std::string& operator[](size_t i) const { return lines_[i]; }
  std::vector<std::string>::const_iterator begin() const { return lines_.begin(); }
  std::vector<std::string>::const_iterator end() const {
    return lines_.begin() + static_cast<std::ptrdiff_t>(used_);
  }
  void clear() { used_ = 0; }
  void push_back(std::string_view line);

 private:
  std::vector<std::string> lines_;
  size_t used_ = 0;
};

struct Decision {
  core::Time at;  // Round::now
  int32_t current = 0;
  int32_t raw = 0;      // combined recommendation before behavior (current when none)
  int32_t desired = 0;  // after behavior, min/max, cooldown and pause
  Limit limit = Limit::kNone;
  WhyList why;  // one line per step that changed or held the number
  // Kubernetes condition reasons, for explain output (empty when the step did not run).
  std::string_view able_to_scale_reason;
  std::string_view scaling_limited_reason;
  History history;  // to persist; does not yet hold this round's scale event
};

// Decides one round. Examples (target 3..20, behavior +50 %/60 s up, 60 s window):
//   a rule votes up from 4 for 60 s      -> desired 6, limit rate_policy
//   one rule votes down, another has no data -> desired == current, limit missing_data
Decision Decide(const Target& target, const Round& round, const History& history);

// The same, reusing `decision`'s buffers across rounds: decision->history is the
// history going in and is updated in place. Allocates nothing once warmed up.
void Decide(const Target& target, const Round& round, Decision* decision);

// Records that decision.desired was applied (from decision.current): the scale
// event the behavior rate limits read, and last_scale_time for cooldown.
// No-op when desired == current.
void RecordScale(const Target& target, const Decision& decision, History* history);

// API validation (pkg/apis/autoscaling/validation) for config loading. Errors are
// InvalidArgument naming the field as written in config, e.g.
// "behavior.scaleUp.policies[1].periodSeconds: must be in [1, 1800], got 0".
core::Status ValidateScalingRules(const ScalingRules& rules, std::string_view field);
core::Status ValidateBehavior(const Behavior& behavior);
core::Status ValidateTarget(const Target& target);
core::Result<SelectPolicy> ParseSelectPolicy(std::string_view text);  // Max, Min, Disabled
core::Result<PolicyType> ParsePolicyType(std::string_view text);      // Pods, Percent

}  // namespace amas::decide

#endif  // AMAS_DECIDE_DECIDE_H_
