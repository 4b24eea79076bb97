// replica_calc.h: one metric's replica proposal, exactly as the HPA controller's
// replica_calculator.go computes it (hpa.md §1), plus pod grouping and the
// combination of several metrics' proposals (computeReplicasForMetrics).
// Quantities are int64 milli-units; ratios and products are float64 in the
// controller's operation order. A proposal is not bounded by min/max or rates.
// Errors carry the start of the Kubernetes error text. Pure: no I/O, no clock.
#ifndef AMAS_DECIDE_REPLICA_CALC_H_
#define AMAS_DECIDE_REPLICA_CALC_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "core/status.h"
#include "core/time.h"
#include "decide/hpa_types.h"

namespace amas::decide::hpa {

// --- pod grouping (groupPods) -------------------------------------------------

enum class PodClass { kReady, kUnready, kMissing, kIgnored };
std::string_view PodClassName(PodClass c);  // "ready", "unready", "missing", "ignored"

enum class PodPhase { kPending, kRunning, kSucceeded, kFailed, kUnknown };
enum class ConditionStatus { kTrue, kFalse, kUnknown };

// One pod as groupPods sees it. Times are absolute.
struct PodStatus {
  PodPhase phase = PodPhase::kRunning;
  bool deleted = false;                  // has a deletion timestamp
  std::optional<ConditionStatus> ready;  // nullopt: no Ready condition
  core::Time ready_transition;           // Ready's lastTransitionTime
  std::optional<core::Time> start_time;  // nullopt: not started
  bool has_sample = false;               // a metric sample under the pod's name
  core::Time sample_time;
  core::Duration sample_window;
};

struct ReadinessOptions {
  core::Duration cpu_initialization_period = core::Duration::Minutes(5);
  core::Duration initial_readiness_delay = core::Duration::Seconds(30);
};

// The class of one pod (hpa.md §1.3); the CPU readiness rule applies iff `cpu`.
PodClass ClassifyPod(const PodStatus& pod, bool cpu, const ReadinessOptions& options,
                     core::Time now);

// A pod already reduced to what the replica math needs.
enum class PodState {
  kRunning,            // counts as ready when it has a sample
  kRunningCpuUnready,  // Running, but the CPU readiness rule excludes it (cpu only)
  kPending,            // phase Pending: unready for every metric
  kTerminal,           // deleted, Failed or Succeeded: ignored
};

struct PodSample {
  PodState state = PodState::kRunning;
  std::optional<int64_t> usage_milli;    // nullopt: no metric sample for this pod
  std::optional<int64_t> request_milli;  // utilization targets only; nullopt: no request
};

PodClass GroupPod(const PodSample& pod, bool cpu);

// --- Resource / ContainerResource with averageUtilization (GetResourceReplicas) ---

struct UtilizationInput {
  int32_t current_replicas = 0;    // scale spec.replicas
  int32_t target_utilization = 0;  // percent of request
  std::string_view resource = "cpu";
  Tolerances tolerance;
  std::span<const PodSample> pods;               // every pod the selector matches
  std::span<const int64_t> extra_samples_milli;  // samples whose pod name matches no pod
};

struct UtilizationResult {
  int32_t replicas = 0;
  int32_t utilization = 0;        // integer percent, truncated
  int64_t raw_average_milli = 0;  // status only
};

core::Result<UtilizationResult> ReplicasForUtilization(const UtilizationInput& in);

// --- Pods metric, or Resource averageValue (calcPlainMetricReplicas) ---

struct AverageValueInput {
  int32_t current_replicas = 0;
  int64_t target_average_milli = 0;
  std::string_view resource;  // "cpu" for a CPU averageValue (readiness rule); "" for Pods
  Tolerances tolerance;
  std::span<const PodSample> pods;
  std::span<const int64_t> extra_samples_milli;
};

struct AverageValueResult {
  int32_t replicas = 0;
  int64_t usage_milli = 0;  // integer average over the samples used
};

core::Result<AverageValueResult> ReplicasForAverageValue(const AverageValueInput& in);

// --- Object / External with a Value target (getUsageRatioReplicaCount) ---

struct ValueInput {
  int32_t current_replicas = 0;  // spec.replicas; 0 = scale from zero: ceil(ratio)
  int64_t usage_milli = 0;       // object value, or the capped sum of external series
  int64_t target_value_milli = 0;
  int64_t ready_pod_count = 0;  // Running and Ready pods
  Tolerances tolerance;
};

// The proposal; saturates at int32 max.
int32_t ReplicasForValue(const ValueInput& in);

// --- Object / External with an AverageValue target (per-pod) ---

struct AverageTargetInput {
  int32_t status_replicas = 0;  // scale status.replicas
  int64_t usage_milli = 0;
  int64_t target_average_milli = 0;
  Tolerances tolerance;
};

struct AverageTargetResult {
  int32_t replicas = 0;
  int64_t usage_milli = 0;  // per pod: ceil(usage / statusReplicas); 0 when that is 0
};

AverageTargetResult ReplicasForAverageTarget(const AverageTargetInput& in);

// Sum of external series, capped at int64 max on positive overflow.
int64_t SumExternal(std::span<const int64_t> values_milli);

// --- several metrics (computeReplicasForMetrics) ---

// One metric's outcome: a proposal, or nullopt when that metric failed.
struct MetricProposal {
  std::optional<int32_t> replicas;
  std::string_view failure_reason;  // ScalingActive reason when it failed, e.g. FailedGetPodsMetric
};

enum class CombineOutcome {
  kOk,           // every metric gave a proposal
  kOkWithError,  // some failed, but the largest proposal >= spec replicas: scale with it
  kError,        // all failed, or some failed and the largest < spec: no scaling
};
std::string_view CombineOutcomeName(CombineOutcome o);  // "ok", "ok_with_error", "error"

struct Combined {
  CombineOutcome outcome = CombineOutcome::kError;
  int32_t replicas = -1;  // the largest proposal; -1 on kError
  int first_failed = -1;  // index of the first failed metric, or -1
  int chosen = -1;        // index whose proposal won, or -1
};

Combined CombineProposals(int32_t spec_replicas, std::span<const MetricProposal> proposals);

}  // namespace amas::decide::hpa

#endif  // AMAS_DECIDE_REPLICA_CALC_H_
