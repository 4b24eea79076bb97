#include "decide/hpa_types.h"

#include <algorithm>

namespace amas::decide {

namespace {

// pkg/apis/autoscaling/v2/defaults.go.
constexpr ScalingPolicy kDefaultScaleUpPolicies[] = {
    {PolicyType::kPods, 4, 15},
    {PolicyType::kPercent, 100, 15},
};
constexpr ScalingPolicy kDefaultScaleDownPolicies[] = {
    {PolicyType::kPercent, 100, 15},
};

}  // namespace

int32_t RulesView::LongestPeriodSeconds() const {
  int32_t longest = 0;
  for (const ScalingPolicy& p : policies) longest = std::max(longest, p.period_seconds);
  return longest;
}

RulesView ResolveRules(const std::optional<ScalingRules>& rules, Direction direction,
                       const ControllerFlags& flags) {
  RulesView view;
  const bool up = direction == Direction::kUp;
  view.stabilization_window_seconds = up ? 0 : flags.downscale_stabilization_window_seconds;
  view.policies = up ? std::span<const ScalingPolicy>(kDefaultScaleUpPolicies)
                     : std::span<const ScalingPolicy>(kDefaultScaleDownPolicies);
  if (!rules.has_value()) return view;
  if (rules->stabilization_window_seconds.has_value()) {
    view.stabilization_window_seconds = *rules->stabilization_window_seconds;
  }
  if (rules->select_policy.has_value()) view.select_policy = *rules->select_policy;
  if (rules->policies.has_value()) view.policies = *rules->policies;
  view.tolerance = rules->tolerance;
  return view;
}

Tolerances TolerancesFor(const Behavior* behavior, const ControllerFlags& flags) {
  Tolerances t = flags.tolerance;
  if (behavior == nullptr) return t;
  if (behavior->scale_down.has_value() && behavior->scale_down->tolerance.has_value()) {
    t.scale_down = *behavior->scale_down->tolerance;
  }
  if (behavior->scale_up.has_value() && behavior->scale_up->tolerance.has_value()) {
    t.scale_up = *behavior->scale_up->tolerance;
  }
  return t;
}

}  // namespace amas::decide
