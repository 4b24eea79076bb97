// API validation as pkg/apis/autoscaling/validation does it, with messages that
// name the field the way config spells it.
#include <cmath>
#include <string>

#include "decide/decide.h"

namespace amas::decide {

namespace {

constexpr int32_t kMaxStabilizationWindowSeconds = 3600;
constexpr int32_t kMaxPeriodSeconds = 1800;

core::Status Invalid(std::string_view field, const std::string& problem) {
  return core::Status::InvalidArgument(std::string(field) + ": " + problem);
}

std::string Num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%g", v);
  return buf;
}

}  // namespace

core::Status ValidateScalingRules(const ScalingRules& rules, std::string_view field) {
  const std::string f(field);
  if (rules.stabilization_window_seconds.has_value()) {
    const int32_t w = *rules.stabilization_window_seconds;
    if (w < 0 || w > kMaxStabilizationWindowSeconds) {
      return Invalid(f + ".stabilizationWindowSeconds",
                     "must be in [0, 3600], got " + std::to_string(w));
    }
  }
  if (rules.policies.has_value()) {
    if (rules.policies->empty()) {
      return Invalid(f + ".policies", "must specify at least one policy");
    }
    for (size_t i = 0; i < rules.policies->size(); ++i) {
      const ScalingPolicy& p = (*rules.policies)[i];
      const std::string at = f + ".policies[" + std::to_string(i) + "]";
      if (p.value <= 0) {
        return Invalid(at + ".value", "must be greater than 0, got " + std::to_string(p.value));
      }
      if (p.period_seconds < 1 || p.period_seconds > kMaxPeriodSeconds) {
        return Invalid(at + ".periodSeconds",
                       "must be in [1, 1800], got " + std::to_string(p.period_seconds));
      }
    }
  }
  if (rules.tolerance.has_value() && !(*rules.tolerance >= 0 && std::isfinite(*rules.tolerance))) {
    return Invalid(f + ".tolerance", "must be a number >= 0, got " + Num(*rules.tolerance));
  }
  return core::Status::Ok();
}

core::Status ValidateBehavior(const Behavior& behavior) {
  if (behavior.scale_up.has_value()) {
    core::Status s = ValidateScalingRules(*behavior.scale_up, "behavior.scaleUp");
    if (!s.ok()) return s;
  }
  if (behavior.scale_down.has_value()) {
    core::Status s = ValidateScalingRules(*behavior.scale_down, "behavior.scaleDown");
    if (!s.ok()) return s;
  }
  return core::Status::Ok();
}

core::Status ValidateTarget(const Target& target) {
  if (target.name.empty()) return Invalid("name", "must not be empty");
  if (target.min_replicas < 0) {
    return Invalid("min_replicas", "must be >= 0, got " + std::to_string(target.min_replicas));
  }
  if (target.min_replicas == 0 && !target.scale_to_zero) {
    return Invalid("min_replicas", "must be at least 1 (0 needs scale_to_zero: true), got 0");
  }
  if (target.max_replicas < 1) {
    return Invalid("max_replicas",
                   "must be at least 1, got " + std::to_string(target.max_replicas));
  }
  if (target.min_replicas > target.max_replicas) {
    return Invalid("max_replicas", "must be greater than or equal to min_replicas (" +
                                       std::to_string(target.min_replicas) + "), got " +
                                       std::to_string(target.max_replicas));
  }
  const Tolerances& t = target.flags.tolerance;
  if (!(t.scale_up >= 0 && std::isfinite(t.scale_up))) {
    return Invalid("tolerance.scale_up", "must be a number >= 0, got " + Num(t.scale_up));
  }
  if (!(t.scale_down >= 0 && std::isfinite(t.scale_down))) {
    return Invalid("tolerance.scale_down", "must be a number >= 0, got " + Num(t.scale_down));
  }
  const int32_t w = target.flags.downscale_stabilization_window_seconds;
  if (w < 0 || w > kMaxStabilizationWindowSeconds) {
    return Invalid("downscale_stabilization_window",
                   "must be in [0s, 1h], got " + std::to_string(w) + "s");
  }
  if (target.cooldown < core::Duration()) {
    return Invalid("cooldown", "must not be negative, got " + target.cooldown.ToString());
  }
  if (target.behavior.has_value()) return ValidateBehavior(*target.behavior);
  return core::Status::Ok();
}

core::Result<SelectPolicy> ParseSelectPolicy(std::string_view text) {
  if (text == "Max") return SelectPolicy::kMax;
  if (text == "Min") return SelectPolicy::kMin;
  if (text == "Disabled") return SelectPolicy::kDisabled;
  return core::Status::InvalidArgument("selectPolicy: unsupported value \"" + std::string(text) +
                                       "\": must be one of Max, Min, Disabled");
}

core::Result<PolicyType> ParsePolicyType(std::string_view text) {
  if (text == "Pods") return PolicyType::kPods;
  if (text == "Percent") return PolicyType::kPercent;
  return core::Status::InvalidArgument("type: unsupported value \"" + std::string(text) +
                                       "\": must be one of Pods, Percent");
}

}  // namespace amas::decide
