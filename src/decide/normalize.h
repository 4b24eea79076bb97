// normalize.h: from a raw desired count to the count to apply, exactly as the HPA
// controller's horizontal.go does it: stabilization windows, scale-up/down rate
// limits from Pods/Percent policies and selectPolicy, min/max, and the scale-event
// bookkeeping those limits read (hpa.md §2, §3.3). Each function that records
// something takes the History (or one of its lists) by pointer and reuses slots
// the way the controller does, so steady-state rounds do not allocate.
// Windows: behavior windows and policy periods hold entries younger than W,
// i.e. timestamps in (now - W, now]; the legacy window also holds age == W.
#ifndef AMAS_DECIDE_NORMALIZE_H_
#define AMAS_DECIDE_NORMALIZE_H_

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "core/time.h"
#include "decide/hpa_types.h"

namespace amas::decide::hpa {

// --- legacy path (spec.behavior unset) ---

// stabilizeRecommendation: the max of `desired` and every recommendation not older
// than `window`; records `desired` in the last slot older than the window, or appends.
int32_t StabilizeLegacy(int32_t desired, core::Duration window, core::Time now,
                        std::vector<Recommendation>* recommendations);

struct Bounded {
  int32_t replicas = 0;
  std::string_view reason;  // DesiredWithinRange, TooFewReplicas, TooManyReplicas, Scale*Limit
};

struct LegacyConvertInput {
  int32_t current = 0;
  int32_t desired = 0;  // already stabilized
  int32_t min_replicas = 1;
  int32_t max_replicas = 1;
  double scale_up_limit_factor = 2.0;
  double scale_up_limit_minimum = 4.0;
};

// convertDesiredReplicasWithRules: min first, then the per-round cap
// int32(max(factor * current, minimum)) or max_replicas, whichever is lower.
Bounded ConvertLegacy(const LegacyConvertInput& in);

// --- behavior path ---

struct BehaviorStabilizeInput {
  int32_t current = 0;
  int32_t desired = 0;  // raw
  int32_t up_window_seconds = 0;
  int32_t down_window_seconds = 300;
  core::Time now;
};

struct Stabilized {
  int32_t replicas = 0;
  std::string_view reason;  // ScaleUpStabilized if desired >= current, else ScaleDownStabilized
};

// stabilizeRecommendationWithBehaviors: current clamped into
// [min over the up window, max over the down window] (both including `desired`);
// records `desired` in the last slot older than both windows, or appends.
Stabilized StabilizeWithBehavior(const BehaviorStabilizeInput& in,
                                 std::vector<Recommendation>* recommendations);

// Sum of changes of events younger than `period_seconds` (getReplicasChangePerPeriod).
int32_t ReplicasChangeInPeriod(int32_t period_seconds, std::span<const ScaleEvent> events,
                               core::Time now);

struct LimitInput {
  int32_t current = 0;
  std::span<const ScaleEvent> scale_up_events;
  std::span<const ScaleEvent> scale_down_events;
  RulesView rules;  // of the direction being limited
  core::Time now;
};

// calculateScaleUpLimitWithScalingRules: per policy, from the period start
// current - added + removed: Pods adds value, Percent is ceil(start * (1 + v/100)).
// Max takes the largest, Min the smallest; Disabled returns current.
int32_t ScaleUpLimit(const LimitInput& in);

// calculateScaleDownLimitWithBehaviors: Pods subtracts value, Percent truncates
// start * (1 - v/100) toward zero. Max takes the smallest floor, Min the largest;
// Disabled returns current. The floor may be negative.
int32_t ScaleDownLimit(const LimitInput& in);

struct RateInput {
  int32_t current = 0;
  int32_t desired = 0;  // already stabilized
  int32_t min_replicas = 1;
  int32_t max_replicas = 1;
  RulesView scale_up;
  RulesView scale_down;
  std::span<const ScaleEvent> scale_up_events;
  std::span<const ScaleEvent> scale_down_events;
  core::Time now;
};

// convertDesiredReplicasWithBehaviorRate. Scaling up never checks min and scaling
// down never checks max (the reconcile gate guarantees them).
Bounded ConvertWithBehaviorRate(const RateInput& in);

// --- both paths ---

struct NormalizeInput {
  int32_t current = 0;
  int32_t desired = 0;  // raw: the combined metric proposal
  int32_t min_replicas = 1;
  int32_t max_replicas = 1;
  const Behavior* behavior = nullptr;  // nullptr: legacy path
  ControllerFlags flags;
  core::Time now;
};

struct Normalized {
  int32_t replicas = 0;                   // to apply
  int32_t stabilized = 0;                 // after the stabilization window, before rate and bounds
  std::string_view able_to_scale_reason;  // ReadyForNewScale or Scale{Up,Down}Stabilized
  bool scaling_limited = false;           // replicas != stabilized
  std::string_view scaling_limited_reason;
};

// normalizeDesiredReplicas (behavior == nullptr) or
// normalizeDesiredReplicasWithBehaviors; records the raw desired in `history`.
Normalized Normalize(const NormalizeInput& in, History* history);

// storeScaleEvent for one direction's list: marks events older than the longest
// policy period of `rules` outdated, then overwrites the last outdated one with
// (change, now) or appends. `rules == nullptr` (no behavior) stores nothing.
void StoreScaleEvent(const RulesView* rules, int32_t change, core::Time now,
                     std::vector<ScaleEvent>* events);

}  // namespace amas::decide::hpa

#endif  // AMAS_DECIDE_NORMALIZE_H_
