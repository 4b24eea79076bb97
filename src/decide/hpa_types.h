// hpa_types.h: the HorizontalPodAutoscaler vocabulary decide works in.
// Field names follow autoscaling/v2 (behavior.scaleUp.stabilizationWindowSeconds
// is ScalingRules::stabilization_window_seconds); an unset optional means "apply
// the API default" (hpa.md §3.1), resolved by ResolveRules without copying.
// History is what the controller keeps in memory per HPA; here it is a value the
// caller persists. Times are absolute; a window of W seconds holds the entries
// with timestamp in (now - W, now] unless a function says otherwise.
#ifndef AMAS_DECIDE_HPA_TYPES_H_
#define AMAS_DECIDE_HPA_TYPES_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "core/time.h"

namespace amas::decide {

// Usage-ratio dead band: a ratio r is within iff 1 - scale_down <= r <= 1 + scale_up
// (both ends included, float64, as the controller's Tolerances.isWithin).
struct Tolerances {
  double scale_down = 0.1;
  double scale_up = 0.1;
  bool IsWithin(double ratio) const {
    return (1.0 - scale_down) <= ratio && ratio <= (1.0 + scale_up);
  }
};

enum class PolicyType { kPods, kPercent };
enum class SelectPolicy { kMax, kMin, kDisabled };
enum class Direction { kUp, kDown };

// HPAScalingPolicy: change by `value` pods or percent within `period_seconds`.
struct ScalingPolicy {
  PolicyType type = PolicyType::kPods;
  int32_t value = 0;
  int32_t period_seconds = 0;
};

// HPAScalingRules as written in config; every unset field takes the API default.
struct ScalingRules {
  std::optional<int32_t> stabilization_window_seconds;  // up: 0; down: controller flag
  std::optional<SelectPolicy> select_policy;            // Max
  std::optional<std::vector<ScalingPolicy>> policies;   // replaced as a whole list
  std::optional<double> tolerance;                      // per direction; else the flag
};

// HorizontalPodAutoscalerBehavior. A direction left out gets all defaults.
struct Behavior {
  std::optional<ScalingRules> scale_up;
  std::optional<ScalingRules> scale_down;
};

// kube-controller-manager flags the algorithm reads (hpa.md §3.2), production values.
struct ControllerFlags {
  Tolerances tolerance;                                  // --horizontal-pod-autoscaler-tolerance
  int32_t downscale_stabilization_window_seconds = 300;  // --...-downscale-stabilization
  double scale_up_limit_factor = 2.0;  // legacy path cap: max(factor * current, minimum)
  double scale_up_limit_minimum = 4.0;
};

// One direction's rules with API defaults applied. Borrows `policies` from the
// ScalingRules it was resolved from (or from static defaults): valid while that lives.
struct RulesView {
  int32_t stabilization_window_seconds = 0;
  SelectPolicy select_policy = SelectPolicy::kMax;
  std::span<const ScalingPolicy> policies;
  std::optional<double> tolerance;

  int32_t LongestPeriodSeconds() const;
};

// Defaults (hpa.md §3.1): up = window 0, Max, {Pods 4/15s, Percent 100/15s};
// down = window `flags.downscale_stabilization_window_seconds`, Max, {Percent 100/15s}.
RulesView ResolveRules(const std::optional<ScalingRules>& rules, Direction direction,
                       const ControllerFlags& flags);

// The per-HPA tolerances: behavior's per-direction values where set, else the flag.
Tolerances TolerancesFor(const Behavior* behavior, const ControllerFlags& flags);

// A raw (unstabilized) desired count recorded at `at`.
struct Recommendation {
  core::Time at;
  int32_t replicas = 0;
};

// A successful scale by `change` pods (a positive magnitude in both directions).
// `outdated` marks a slot older than the longest policy period, free for reuse.
struct ScaleEvent {
  core::Time at;
  int32_t change = 0;
  bool outdated = false;
};

// What the controller remembers between rounds. Lists keep storage order: slots
// are reused, never deleted, so their length stays bounded by window / interval.
struct History {
  std::vector<Recommendation> recommendations;
  std::vector<ScaleEvent> scale_up_events;
  std::vector<ScaleEvent> scale_down_events;
  std::optional<core::Time> last_scale_time;  // status.lastScaleTime
};

// Kubernetes condition reasons (hpa.md §4.4), the exact strings.
namespace reason {
inline constexpr std::string_view kReadyForNewScale = "ReadyForNewScale";
inline constexpr std::string_view kScaleUpStabilized = "ScaleUpStabilized";
inline constexpr std::string_view kScaleDownStabilized = "ScaleDownStabilized";
inline constexpr std::string_view kDesiredWithinRange = "DesiredWithinRange";
inline constexpr std::string_view kTooManyReplicas = "TooManyReplicas";
inline constexpr std::string_view kTooFewReplicas = "TooFewReplicas";
inline constexpr std::string_view kScaleUpLimit = "ScaleUpLimit";
inline constexpr std::string_view kScaleDownLimit = "ScaleDownLimit";
inline constexpr std::string_view kValidMetricFound = "ValidMetricFound";
inline constexpr std::string_view kScalingDisabled = "ScalingDisabled";
}  // namespace reason

}  // namespace amas::decide

#endif  // AMAS_DECIDE_HPA_TYPES_H_
