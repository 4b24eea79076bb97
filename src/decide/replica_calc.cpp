#include "decide/replica_calc.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "decide/numeric.h"

namespace amas::decide::hpa {

using internal::CeilToInt32;
using internal::ClampToInt32;
using internal::kMaxInt32;
using internal::kMaxInt64;
using internal::SaturatingAdd;
using internal::SaturatingMul;
using internal::TruncToInt64;

std::string_view PodClassName(PodClass c) {
  switch (c) {
    case PodClass::kReady:
      return "ready";
    case PodClass::kUnready:
      return "unready";
    case PodClass::kMissing:
      return "missing";
    case PodClass::kIgnored:
      return "ignored";
  }
  return "?";
}

PodClass ClassifyPod(const PodStatus& pod, bool cpu, const ReadinessOptions& options,
                     core::Time now) {
  if (pod.deleted || pod.phase == PodPhase::kFailed || pod.phase == PodPhase::kSucceeded) {
    return PodClass::kIgnored;
  }
  if (pod.phase == PodPhase::kPending) return PodClass::kUnready;
  if (!pod.has_sample) return PodClass::kMissing;
  if (cpu) {
    bool unready = false;
    if (!pod.ready.has_value() || !pod.start_time.has_value()) {
      unready = true;
    } else if (*pod.start_time + options.cpu_initialization_period > now) {
      // Still initialising: a sample taken before one full window after the last
      // Ready transition may include start-up CPU, so it is not trusted.
      unready = *pod.ready == ConditionStatus::kFalse ||
                pod.sample_time < pod.ready_transition + pod.sample_window;
    } else {
      // Unready and never ready since start: its CPU says nothing about load.
      unready = *pod.ready == ConditionStatus::kFalse &&
                *pod.start_time + options.initial_readiness_delay > pod.ready_transition;
    }
    if (unready) return PodClass::kUnready;
  }
  return PodClass::kReady;
}

PodClass GroupPod(const PodSample& pod, bool cpu) {
  switch (pod.state) {
    case PodState::kTerminal:
      return PodClass::kIgnored;
    case PodState::kPending:
      return PodClass::kUnready;
    case PodState::kRunning:
    case PodState::kRunningCpuUnready:
      break;
  }
  if (!pod.usage_milli.has_value()) return PodClass::kMissing;
  if (cpu && pod.state == PodState::kRunningCpuUnready) return PodClass::kUnready;
  return PodClass::kReady;
}

namespace {

struct Groups {
  int64_t ready = 0;
  int64_t unready = 0;
  int64_t missing = 0;
};

Groups CountGroups(std::span<const PodSample> pods, bool cpu) {
  Groups g;
  for (const PodSample& p : pods) {
    switch (GroupPod(p, cpu)) {
      case PodClass::kReady:
        ++g.ready;
        break;
      case PodClass::kUnready:
        ++g.unready;
        break;
      case PodClass::kMissing:
        ++g.missing;
        break;
      case PodClass::kIgnored:
        break;
    }
  }
  return g;
}

size_t CountSamples(std::span<const PodSample> pods, std::span<const int64_t> extra) {
  size_t n = extra.size();
  for (const PodSample& p : pods) n += p.usage_milli.has_value() ? 1 : 0;
  return n;
}

// GetResourceUtilizationRatio over the samples that have a request.
struct UtilizationSums {
  int64_t usage = 0;
  int64_t request = 0;
  int64_t entries = 0;
};

struct Ratio {
  double ratio = 0;
  int32_t utilization = 0;
  int64_t raw_average = 0;
};

core::Result<Ratio> UtilizationRatio(const UtilizationSums& s, int32_t target) {
  if (s.request == 0) return core::Status::Unavailable("no metrics returned matched known pods");
  Ratio r;
  r.utilization = ClampToInt32(SaturatingMul(s.usage, 100) / s.request);
  r.ratio = static_cast<double>(r.utilization) / static_cast<double>(target);
  r.raw_average = s.entries > 0 ? s.usage / s.entries : 0;
  return r;
}

bool DirectionFlipped(double before, double after) {
  return (before < 1.0 && after > 1.0) || (before > 1.0 && after < 1.0);
}

// A change in the number of pods counted must not reverse the direction.
bool CountReversesDirection(double ratio, int32_t proposal, int32_t current) {
  return (ratio < 1.0 && proposal > current) || (ratio > 1.0 && proposal < current);
}

}  // namespace

core::Result<UtilizationResult> ReplicasForUtilization(const UtilizationInput& in) {
  const bool cpu = in.resource == "cpu";
  if (CountSamples(in.pods, in.extra_samples_milli) == 0) {
    return core::Status::Unavailable("no metrics returned from resource metrics API");
  }
  if (in.pods.empty()) {
    return core::Status::Unavailable(
        "no pods returned by selector while calculating replica count");
  }
  const Groups g = CountGroups(in.pods, cpu);
  const int64_t samples_left = g.ready + static_cast<int64_t>(in.extra_samples_milli.size());
  if (samples_left == 0) {
    return core::Status::Unavailable(
        "did not receive metrics for targeted pods (pods might be unready)");
  }
  for (const PodSample& p : in.pods) {
    if (!p.request_milli.has_value()) {
      return core::Status::FailedPrecondition("missing request for " + std::string(in.resource));
    }
  }

  UtilizationSums sums;
  for (const PodSample& p : in.pods) {
    if (GroupPod(p, cpu) != PodClass::kReady) continue;
    sums.usage = SaturatingAdd(sums.usage, *p.usage_milli);
    sums.request = SaturatingAdd(sums.request, *p.request_milli);
    ++sums.entries;
  }
  core::Result<Ratio> first = UtilizationRatio(sums, in.target_utilization);
  if (!first.ok()) return first.status();
  UtilizationResult out;
  out.utilization = first->utilization;
  out.raw_average_milli = first->raw_average;
  const double ratio = first->ratio;

  const bool scale_up_with_unready = g.unready > 0 && ratio > 1.0;
  if (!scale_up_with_unready && g.missing == 0) {
    out.replicas = in.tolerance.IsWithin(ratio) ? in.current_replicas
                                                : CeilToInt32(ratio * static_cast<double>(g.ready));
    return out;
  }

  // Rebalance pessimistically, against the direction of the move.
  UtilizationSums rebalanced = sums;
  int64_t counted = samples_left;
  const int64_t fallback_percent = std::max<int64_t>(100, in.target_utilization);
  for (const PodSample& p : in.pods) {
    const PodClass c = GroupPod(p, cpu);
    if (c == PodClass::kMissing && ratio != 1.0) {
      // Scale-down: assume the pod uses its full request (or the target if above 100 %).
      // Scale-up: assume it uses nothing.
      const int64_t usage =
          ratio < 1.0 ? SaturatingMul(*p.request_milli, fallback_percent) / 100 : 0;
      rebalanced.usage = SaturatingAdd(rebalanced.usage, usage);
      rebalanced.request = SaturatingAdd(rebalanced.request, *p.request_milli);
      ++rebalanced.entries;
      ++counted;
    } else if (c == PodClass::kUnready && scale_up_with_unready) {
      rebalanced.request = SaturatingAdd(rebalanced.request, *p.request_milli);
      ++rebalanced.entries;
      ++counted;
    }
  }
  core::Result<Ratio> second = UtilizationRatio(rebalanced, in.target_utilization);
  if (!second.ok()) return second.status();
  const double new_ratio = second->ratio;
  if (in.tolerance.IsWithin(new_ratio) || DirectionFlipped(ratio, new_ratio)) {
    out.replicas = in.current_replicas;
    return out;
  }
  const int32_t proposal = CeilToInt32(new_ratio * static_cast<double>(counted));
  out.replicas = CountReversesDirection(new_ratio, proposal, in.current_replicas)
                     ? in.current_replicas
                     : proposal;
  return out;
}

core::Result<AverageValueResult> ReplicasForAverageValue(const AverageValueInput& in) {
  const bool cpu = in.resource == "cpu";
  if (CountSamples(in.pods, in.extra_samples_milli) == 0) {
    return core::Status::Unavailable(in.resource.empty()
                                         ? "no metrics returned from custom metrics API"
                                         : "no metrics returned from resource metrics API");
  }
  if (in.pods.empty()) {
    return core::Status::Unavailable(
        "no pods returned by selector while calculating replica count");
  }
  const Groups g = CountGroups(in.pods, cpu);
  int64_t total = 0;
  int64_t counted = 0;
  for (const PodSample& p : in.pods) {
    if (GroupPod(p, cpu) != PodClass::kReady) continue;
    total = SaturatingAdd(total, *p.usage_milli);
    ++counted;
  }
  for (int64_t v : in.extra_samples_milli) {
    total = SaturatingAdd(total, v);
    ++counted;
  }
  if (counted == 0) {
    return core::Status::Unavailable(
        "did not receive metrics for targeted pods (pods might be unready)");
  }
  const auto target = static_cast<double>(in.target_average_milli);
  AverageValueResult out;
  out.usage_milli = total / counted;
  const double ratio = static_cast<double>(out.usage_milli) / target;

  const bool scale_up_with_unready = g.unready > 0 && ratio > 1.0;
  if (!scale_up_with_unready && g.missing == 0) {
    out.replicas = in.tolerance.IsWithin(ratio) ? in.current_replicas
                                                : CeilToInt32(ratio * static_cast<double>(g.ready));
    return out;
  }

  int64_t new_total = total;
  int64_t new_count = counted;
  if (g.missing > 0 && ratio != 1.0) {
    // Scale-down: a missing pod is assumed exactly at target; scale-up: at zero.
    if (ratio < 1.0) {
      new_total = SaturatingAdd(new_total, SaturatingMul(in.target_average_milli, g.missing));
    }
    new_count += g.missing;
  }
  if (scale_up_with_unready) new_count += g.unready;
  const double new_ratio = static_cast<double>(new_total / new_count) / target;
  if (in.tolerance.IsWithin(new_ratio) || DirectionFlipped(ratio, new_ratio)) {
    out.replicas = in.current_replicas;
    return out;
  }
  const int32_t proposal = CeilToInt32(new_ratio * static_cast<double>(new_count));
  out.replicas = CountReversesDirection(new_ratio, proposal, in.current_replicas)
                     ? in.current_replicas
                     : proposal;
  return out;
}

int32_t ReplicasForValue(const ValueInput& in) {
  const double ratio =
      static_cast<double>(in.usage_milli) / static_cast<double>(in.target_value_milli);
  if (in.current_replicas == 0) return CeilToInt32(ratio);  // from zero: no tolerance, no pods
  if (in.tolerance.IsWithin(ratio)) return in.current_replicas;
  const double replicas = ratio * static_cast<double>(in.ready_pod_count);
  if (replicas > static_cast<double>(kMaxInt32)) return kMaxInt32;
  return CeilToInt32(replicas);
}

AverageTargetResult ReplicasForAverageTarget(const AverageTargetInput& in) {
  const auto usage = static_cast<double>(in.usage_milli);
  const auto target = static_cast<double>(in.target_average_milli);
  AverageTargetResult out;
  out.replicas = in.status_replicas;
  // With status_replicas == 0 this is Inf or NaN: never within, so it is recomputed.
  const double ratio = usage / (target * static_cast<double>(in.status_replicas));
  if (!in.tolerance.IsWithin(ratio)) out.replicas = CeilToInt32(usage / target);
  if (usage >= static_cast<double>(kMaxInt64)) {
    out.usage_milli = kMaxInt64;
  } else if (in.status_replicas == 0) {
    out.usage_milli = 0;
  } else {
    out.usage_milli = TruncToInt64(std::ceil(usage / static_cast<double>(in.status_replicas)));
  }
  return out;
}

int64_t SumExternal(std::span<const int64_t> values_milli) {
  int64_t usage = 0;
  for (int64_t v : values_milli) {
    if (v > 0 && usage > kMaxInt64 - v) return kMaxInt64;
    usage = SaturatingAdd(usage, v);
  }
  return usage;
}

std::string_view CombineOutcomeName(CombineOutcome o) {
  switch (o) {
    case CombineOutcome::kOk:
      return "ok";
    case CombineOutcome::kOkWithError:
      return "ok_with_error";
    case CombineOutcome::kError:
      return "error";
  }
  return "?";
}

Combined CombineProposals(int32_t spec_replicas, std::span<const MetricProposal> proposals) {
  Combined out;
  int32_t replicas = 0;
  size_t invalid = 0;
  for (size_t i = 0; i < proposals.size(); ++i) {
    const MetricProposal& p = proposals[i];
    if (!p.replicas.has_value()) {
      if (invalid == 0) out.first_failed = static_cast<int>(i);
      ++invalid;
      continue;
    }
    // The first valid proposal is always taken, even when it is 0.
    if (replicas == 0 || *p.replicas > replicas) {
      replicas = *p.replicas;
      out.chosen = static_cast<int>(i);
    }
  }
  // Scale-down is never decided on partial data.
  if (invalid >= proposals.size() || (invalid > 0 && replicas < spec_replicas)) {
    out.outcome = CombineOutcome::kError;
    out.replicas = -1;
    out.chosen = -1;
    return out;
  }
  out.outcome = invalid > 0 ? CombineOutcome::kOkWithError : CombineOutcome::kOk;
  out.replicas = replicas;
  return out;
}

}  // namespace amas::decide::hpa
