#include "decide/normalize.h"

#include <algorithm>
#include <cmath>

#include "decide/numeric.h"

namespace amas::decide::hpa {

using internal::ClampToInt32;
using internal::kMaxInt32;
using internal::kMinInt32;
using internal::TruncToInt32;

namespace {

// The period start for one policy: the count before this period's events.
int64_t PeriodStart(const LimitInput& in, int32_t period_seconds) {
  const int64_t added = ReplicasChangeInPeriod(period_seconds, in.scale_up_events, in.now);
  const int64_t removed = ReplicasChangeInPeriod(period_seconds, in.scale_down_events, in.now);
  return static_cast<int64_t>(in.current) - added + removed;
}

}  // namespace

int32_t StabilizeLegacy(int32_t desired, core::Duration window, core::Time now,
                        std::vector<Recommendation>* recommendations) {
  int32_t max_recommendation = desired;
  const core::Time cutoff = now - window;
  bool found_old = false;
  size_t old_index = 0;
  for (size_t i = 0; i < recommendations->size(); ++i) {
    const Recommendation& rec = (*recommendations)[i];
    if (rec.at < cutoff) {
      found_old = true;
      old_index = i;
    } else if (rec.replicas > max_recommendation) {
      max_recommendation = rec.replicas;
    }
  }
  if (found_old) {
    (*recommendations)[old_index] = Recommendation{now, desired};
  } else {
    recommendations->push_back(Recommendation{now, desired});
  }
  return max_recommendation;
}

Bounded ConvertLegacy(const LegacyConvertInput& in) {
  const int32_t scale_up_limit = TruncToInt32(std::max(
      in.scale_up_limit_factor * static_cast<double>(in.current), in.scale_up_limit_minimum));
  int32_t upper = in.max_replicas;
  std::string_view upper_reason = reason::kTooManyReplicas;
  if (in.max_replicas > scale_up_limit) {
    upper = scale_up_limit;
    upper_reason = reason::kScaleUpLimit;
  }
  if (in.desired < in.min_replicas) return {in.min_replicas, reason::kTooFewReplicas};
  if (in.desired > upper) return {upper, upper_reason};
  return {in.desired, reason::kDesiredWithinRange};
}

Stabilized StabilizeWithBehavior(const BehaviorStabilizeInput& in,
                                 std::vector<Recommendation>* recommendations) {
  const core::Time up_cutoff = in.now - core::Duration::Seconds(in.up_window_seconds);
  const core::Time down_cutoff = in.now - core::Duration::Seconds(in.down_window_seconds);
  int32_t up_limit = in.desired;
  int32_t down_limit = in.desired;
  bool found_old = false;
  size_t old_index = 0;
  for (size_t i = 0; i < recommendations->size(); ++i) {
    const Recommendation& rec = (*recommendations)[i];
    if (rec.at > up_cutoff) up_limit = std::min(rec.replicas, up_limit);
    if (rec.at > down_cutoff) down_limit = std::max(rec.replicas, down_limit);
    if (rec.at < up_cutoff && rec.at < down_cutoff) {
      found_old = true;
      old_index = i;
    }
  }
  int32_t stabilized = in.current;
  if (stabilized < up_limit) stabilized = up_limit;
  if (stabilized > down_limit) stabilized = down_limit;
  if (found_old) {
    (*recommendations)[old_index] = Recommendation{in.now, in.desired};
  } else {
    recommendations->push_back(Recommendation{in.now, in.desired});
  }
  return {stabilized,
          in.desired >= in.current ? reason::kScaleUpStabilized : reason::kScaleDownStabilized};
}

int32_t ReplicasChangeInPeriod(int32_t period_seconds, std::span<const ScaleEvent> events,
                               core::Time now) {
  const core::Time cutoff = now - core::Duration::Seconds(period_seconds);
  int64_t replicas = 0;
  for (const ScaleEvent& e : events) {
    if (e.at > cutoff) replicas += e.change;
  }
  return ClampToInt32(replicas);
}

int32_t ScaleUpLimit(const LimitInput& in) {
  if (in.rules.select_policy == SelectPolicy::kDisabled) return in.current;
  const bool take_min = in.rules.select_policy == SelectPolicy::kMin;
  int32_t result = take_min ? kMaxInt32 : kMinInt32;
  for (const ScalingPolicy& policy : in.rules.policies) {
    const int64_t start = PeriodStart(in, policy.period_seconds);
    int32_t proposed = 0;
    if (policy.type == PolicyType::kPods) {
      proposed = ClampToInt32(start + policy.value);
    } else {
      // Rounded up, or a small percentage of a small count would never add a pod.
      proposed = TruncToInt32(std::ceil(static_cast<double>(ClampToInt32(start)) *
                                        (1 + static_cast<double>(policy.value) / 100)));
    }
    result = take_min ? std::min(result, proposed) : std::max(result, proposed);
  }
  return result;
}

int32_t ScaleDownLimit(const LimitInput& in) {
  if (in.rules.select_policy == SelectPolicy::kDisabled) return in.current;
  // "Min" is the smallest change, which for a floor is the largest value.
  const bool smallest_change = in.rules.select_policy == SelectPolicy::kMin;
  int32_t result = smallest_change ? kMinInt32 : kMaxInt32;
  for (const ScalingPolicy& policy : in.rules.policies) {
    const int64_t start = PeriodStart(in, policy.period_seconds);
    int32_t proposed = 0;
    if (policy.type == PolicyType::kPods) {
      proposed = ClampToInt32(start - policy.value);
    } else {
      proposed = TruncToInt32(static_cast<double>(ClampToInt32(start)) *
                              (1 - static_cast<double>(policy.value) / 100));
    }
    result = smallest_change ? std::max(result, proposed) : std::min(result, proposed);
  }
  return result;
}

Bounded ConvertWithBehaviorRate(const RateInput& in) {
  LimitInput limit_in{in.current, in.scale_up_events, in.scale_down_events, {}, in.now};
  if (in.desired > in.current) {
    limit_in.rules = in.scale_up;
    // Never shrink while scaling up, even if recent events say the period is used up.
    const int32_t limit = std::max(ScaleUpLimit(limit_in), in.current);
    int32_t bound = in.max_replicas;
    std::string_view why = reason::kTooManyReplicas;
    if (bound > limit) {
      bound = limit;
      why = reason::kScaleUpLimit;
    }
    if (in.desired > bound) return {bound, why};
  } else if (in.desired < in.current) {
    limit_in.rules = in.scale_down;
    const int32_t limit = std::min(ScaleDownLimit(limit_in), in.current);
    int32_t bound = in.min_replicas;
    std::string_view why = reason::kTooFewReplicas;
    if (bound < limit) {
      bound = limit;
      why = reason::kScaleDownLimit;
    }
    if (in.desired < bound) return {bound, why};
  }
  return {in.desired, reason::kDesiredWithinRange};
}

Normalized Normalize(const NormalizeInput& in, History* history) {
  Normalized out;
  Bounded bounded;
  if (in.behavior == nullptr) {
    out.stabilized = StabilizeLegacy(
        in.desired, core::Duration::Seconds(in.flags.downscale_stabilization_window_seconds),
        in.now, &history->recommendations);
    out.able_to_scale_reason =
        out.stabilized != in.desired ? reason::kScaleDownStabilized : reason::kReadyForNewScale;
    bounded = ConvertLegacy({in.current, out.stabilized, in.min_replicas, in.max_replicas,
                             in.flags.scale_up_limit_factor, in.flags.scale_up_limit_minimum});
  } else {
    const RulesView up = ResolveRules(in.behavior->scale_up, Direction::kUp, in.flags);
    const RulesView down = ResolveRules(in.behavior->scale_down, Direction::kDown, in.flags);
    const Stabilized s =
        StabilizeWithBehavior({in.current, in.desired, up.stabilization_window_seconds,
                               down.stabilization_window_seconds, in.now},
                              &history->recommendations);
    out.stabilized = s.replicas;
    out.able_to_scale_reason = s.replicas != in.desired ? s.reason : reason::kReadyForNewScale;
    bounded =
        ConvertWithBehaviorRate({in.current, s.replicas, in.min_replicas, in.max_replicas, up, down,
                                 history->scale_up_events, history->scale_down_events, in.now});
  }
  out.replicas = bounded.replicas;
  out.scaling_limited = bounded.replicas != out.stabilized;
  out.scaling_limited_reason = bounded.reason;
  return out;
}

void StoreScaleEvent(const RulesView* rules, int32_t change, core::Time now,
                     std::vector<ScaleEvent>* events) {
  if (rules == nullptr) return;  // without behavior the events would never be read
  const core::Time cutoff = now - core::Duration::Seconds(rules->LongestPeriodSeconds());
  bool found_old = false;
  size_t old_index = 0;
  for (size_t i = 0; i < events->size(); ++i) {
    ScaleEvent& e = (*events)[i];
    if (e.at < cutoff) e.outdated = true;
    if (e.outdated) {
      found_old = true;
      old_index = i;
    }
  }
  if (found_old) {
    (*events)[old_index] = ScaleEvent{now, change, false};
  } else {
    events->push_back(ScaleEvent{now, change, false});
  }
}

}  // namespace amas::decide::hpa
