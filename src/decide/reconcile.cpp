#include "decide/reconcile.h"

#include <algorithm>

namespace amas::decide::hpa {

ReconcileResult Reconcile(const ReconcileInput& in, History* history) {
  ReconcileResult out;
  const int32_t current = in.current_replicas;
  if (in.first_reconcile) history->recommendations.push_back({in.now, current});
  const int32_t min_replicas = in.min_replicas.value_or(1);

  const bool scaled_to_zero = in.scale_to_zero_gate && in.scaled_to_zero_condition;
  const bool can_scale_from_zero = scaled_to_zero && in.has_object_or_external_metric;

  out.rescale = true;
  if (current == 0) {
    // A target at zero the HPA did not put there (a manual scale to 0) stays paused.
    if (!((min_replicas != 0 && scaled_to_zero) || can_scale_from_zero)) {
      out.gate = Gate::kDisabled;
      out.desired_replicas = 0;
      out.rescale = false;
      out.scaling_active = Condition{false, reason::kScalingDisabled};
      return out;
    }
  } else if (current > in.max_replicas) {
    out.gate = Gate::kAboveMax;
    out.desired_replicas = in.max_replicas;
    out.rescale = out.desired_replicas != current;
    return out;
  } else if (current < min_replicas) {
    out.gate = Gate::kBelowMin;
    out.desired_replicas = min_replicas;
    out.rescale = out.desired_replicas != current;
    return out;
  }

  out.metrics_computed = true;
  const Combined combined = CombineProposals(current, in.metric_proposals);
  out.error = combined.first_failed >= 0;
  if (combined.outcome == CombineOutcome::kError) {
    out.gate = Gate::kMetricsError;
    out.rescale = false;
    out.desired_replicas = current;
    const std::string_view failed = combined.first_failed >= 0
                                        ? in.metric_proposals[combined.first_failed].failure_reason
                                        : std::string_view();
    out.scaling_active = Condition{false, failed};
    return out;
  }
  out.scaling_active = Condition{true, reason::kValidMetricFound};

  out.prenormalized = std::max(0, combined.replicas);
  out.normalized = Normalize(
      {current, out.prenormalized, min_replicas, in.max_replicas, in.behavior, in.flags, in.now},
      history);
  out.able_to_scale_reason = out.normalized.able_to_scale_reason;
  out.scaling_limited =
      Condition{out.normalized.scaling_limited, out.normalized.scaling_limited_reason};
  int32_t desired = out.normalized.replicas;
  if (current == 0 && min_replicas != 0 && scaled_to_zero && desired < min_replicas) {
    desired = min_replicas;  // minReplicas was raised while the HPA held the target at zero
  }
  out.rescale = desired != current;
  out.desired_replicas = out.rescale ? desired : current;
  return out;
}

}  // namespace amas::decide::hpa
