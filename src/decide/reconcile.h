// reconcile.h: the decision part of the controller's reconcileAutoscaler (hpa.md §4):
// record the first recommendation, the gate (replicas 0 / above max / below min),
// combine metric proposals, normalize, and the scale-from-zero fix-up. It stops
// before the scale update: storing the scale event after a successful update is
// StoreScaleEvent's job. Pure: no I/O, no clock.
#ifndef AMAS_DECIDE_RECONCILE_H_
#define AMAS_DECIDE_RECONCILE_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "core/time.h"
#include "decide/hpa_types.h"
#include "decide/normalize.h"
#include "decide/replica_calc.h"

namespace amas::decide::hpa {

struct ReconcileInput {
  int32_t current_replicas = 0;         // scale spec.replicas
  std::optional<int32_t> min_replicas;  // unset: 1
  int32_t max_replicas = 1;
  const Behavior* behavior = nullptr;  // nullptr: legacy path
  std::span<const MetricProposal> metric_proposals;
  bool first_reconcile = false;  // no history yet: record (current, now) first
  ControllerFlags flags;
  bool scale_to_zero_gate = false;        // feature gate HPAScaleToZero
  bool scaled_to_zero_condition = false;  // the HPA's ScaledToZero condition is True
  bool has_object_or_external_metric = false;
  core::Time now;
};

struct Condition {
  bool status = false;
  std::string_view reason;
};

enum class Gate {
  kComputed,      // metrics were computed and normalized
  kDisabled,      // replicas 0 and scaling from zero not allowed
  kAboveMax,      // went straight to max
  kBelowMin,      // went straight to min
  kMetricsError,  // no usable proposal: no scaling
};

struct ReconcileResult {
  Gate gate = Gate::kComputed;
  int32_t desired_replicas = 0;  // status.desiredReplicas: current unless rescale
  bool rescale = false;
  bool metrics_computed = false;
  bool error = false;         // some metric failed (scaling may still proceed)
  int32_t prenormalized = 0;  // max(0, combined proposal), when computed
  Normalized normalized;      // when gate == kComputed
  std::optional<Condition> scaling_active;
  std::optional<Condition> scaling_limited;
  std::string_view able_to_scale_reason;  // empty when normalization did not run
};

ReconcileResult Reconcile(const ReconcileInput& in, History* history);

}  // namespace amas::decide::hpa

#endif  // AMAS_DECIDE_RECONCILE_H_
