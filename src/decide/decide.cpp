#include "decide/decide.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "decide/normalize.h"
#include "decide/numeric.h"
#include "decide/replica_calc.h"
#include "decide/why.h"

namespace amas::decide {

using internal::AddWhy;
using internal::CeilToInt32;
using internal::ClampToInt32;
using internal::TruncToInt32;
using internal::TruncToInt64;

std::string_view LimitName(Limit limit) {
  switch (limit) {
    case Limit::kNone:
      return "none";
    case Limit::kStabilization:
      return "stabilization";
    case Limit::kRatePolicy:
      return "rate_policy";
    case Limit::kMaxReplicas:
      return "max_replicas";
    case Limit::kMinReplicas:
      return "min_replicas";
    case Limit::kPaused:
      return "paused";
    case Limit::kMissingData:
      return "missing_data";
  }
  return "?";
}

namespace {

// How one verdict came to its proposal (or to none), for the why line.
enum class Basis {
  kVoteUpStep,
  kVoteUpBound,
  kVoteDownStep,
  kVoteDownBound,
  kHold,
  kValue,
  kAverageValue,
  kScaleTo,
  kNoData,      // failed: no data, on_missing block_scale_down
  kNotFinite,   // failed: NaN or Inf
  kBadTarget,   // failed: target <= 0 or not finite
  kBadStep,     // failed: step value <= 0
  kBadScaleTo,  // failed: scale_to < 0
  kIgnored,     // not part of the vote
  kFreeze,      // no data, on_missing hold
};

struct RuleResult {
  Basis basis = Basis::kIgnored;
  int32_t replicas = 0;  // when it proposes
};

const char* FailureText(Basis b) {
  switch (b) {
    case Basis::kNoData:
      return "has no data";
    case Basis::kNotFinite:
      return "has a NaN/Inf value (treated as failed)";
    case Basis::kBadTarget:
      return "has a target that is not a positive number";
    case Basis::kBadStep:
      return "has a step that is not positive";
    case Basis::kBadScaleTo:
      return "has a negative scale_to";
    default:
      return "failed";
  }
}

const char* PolicyTypeName(PolicyType t) { return t == PolicyType::kPods ? "Pods" : "Percent"; }

// Values are truncated to milli-units as prometheus-adapter does before the HPA sees them.
int64_t ValueToMilli(double v) { return TruncToInt64(v * 1000.0); }

// A target as a Quantity would hold it: the nearest milli-unit, at least 1.
int64_t TargetToMilli(double t) {
  return std::max<int64_t>(1, TruncToInt64(std::nearbyint(t * 1000.0)));
}

bool PositiveFinite(const std::optional<double>& v) {
  return v.has_value() && std::isfinite(*v) && *v > 0;
}

int32_t StepFrom(int32_t current, const Step& step, bool up) {
  if (step.type == PolicyType::kPods) {
    return ClampToInt32(static_cast<int64_t>(current) + (up ? step.value : -step.value));
  }
  const double c = static_cast<double>(current);
  const double v = static_cast<double>(step.value);
  return up ? CeilToInt32(c * (1 + v / 100)) : TruncToInt32(c * (1 - v / 100));
}

RuleResult Evaluate(const Target& target, int32_t current, const Verdict& v,
                    const Tolerances& tolerance) {
  if (!v.value.has_value()) {
    switch (v.on_missing) {
      case OnMissing::kBlockScaleDown:
        return {Basis::kNoData, 0};
      case OnMissing::kHold:
        return {Basis::kFreeze, 0};
      case OnMissing::kScaleTo:
        if (v.scale_to < 0) return {Basis::kBadScaleTo, 0};
        return {Basis::kScaleTo, v.scale_to};
      case OnMissing::kIgnore:
        return {Basis::kIgnored, 0};
    }
  }
  const double value = *v.value;
  if (!std::isfinite(value)) return {Basis::kNotFinite, 0};

  if (v.target_value.has_value()) {
    if (!PositiveFinite(v.target_value)) return {Basis::kBadTarget, 0};
    hpa::ValueInput in;
    in.current_replicas = current;
    in.usage_milli = ValueToMilli(value);
    in.target_value_milli = TargetToMilli(*v.target_value);
    in.ready_pod_count = current;  // no pod readiness here: every replica counts
    in.tolerance = tolerance;
    return {Basis::kValue, hpa::ReplicasForValue(in)};
  }
  if (v.target_average_value.has_value()) {
    if (!PositiveFinite(v.target_average_value)) return {Basis::kBadTarget, 0};
    hpa::AverageTargetInput in;
    in.status_replicas = current;
    in.usage_milli = ValueToMilli(value);
    in.target_average_milli = TargetToMilli(*v.target_average_value);
    in.tolerance = tolerance;
    return {Basis::kAverageValue, hpa::ReplicasForAverageTarget(in).replicas};
  }
  switch (v.vote) {
    case Vote::kHold:
      return {Basis::kHold, current};
    case Vote::kUp:
      if (!v.step.has_value()) return {Basis::kVoteUpBound, target.max_replicas};
      if (v.step->value <= 0) return {Basis::kBadStep, 0};
      return {Basis::kVoteUpStep, StepFrom(current, *v.step, true)};
    case Vote::kDown:
      if (!v.step.has_value()) return {Basis::kVoteDownBound, target.min_replicas};
      if (v.step->value <= 0) return {Basis::kBadStep, 0};
      return {Basis::kVoteDownStep, StepFrom(current, *v.step, false)};
  }
  return {Basis::kHold, current};
}

// "rule cpu votes up (value 0.82): asks for max_replicas 20", for the raw line.
void DescribeRule(const Verdict& v, const RuleResult& r, char* buf, size_t size) {
  const int name_len = static_cast<int>(v.rule.size());
  const char* name = v.rule.data();
  const double value = v.value.value_or(0);
  switch (r.basis) {
    case Basis::kVoteUpStep:
    case Basis::kVoteDownStep:
      std::snprintf(buf, size, "rule %.*s votes %s (value %g): step %s %d gives %d", name_len, name,
                    r.basis == Basis::kVoteUpStep ? "up" : "down", value,
                    PolicyTypeName(v.step->type), v.step->value, r.replicas);
      return;
    case Basis::kVoteUpBound:
      std::snprintf(buf, size, "rule %.*s votes up (value %g): asks for max_replicas %d", name_len,
                    name, value, r.replicas);
      return;
    case Basis::kVoteDownBound:
      std::snprintf(buf, size, "rule %.*s votes down (value %g): asks for min_replicas %d",
                    name_len, name, value, r.replicas);
      return;
    case Basis::kHold:
      std::snprintf(buf, size, "rule %.*s holds (value %g)", name_len, name, value);
      return;
    case Basis::kValue:
      std::snprintf(buf, size, "rule %.*s: value %g for target_value %g proposes %d", name_len,
                    name, value, *v.target_value, r.replicas);
      return;
    case Basis::kAverageValue:
      std::snprintf(buf, size, "rule %.*s: value %g for target_average_value %g proposes %d",
                    name_len, name, value, *v.target_average_value, r.replicas);
      return;
    case Basis::kScaleTo:
      std::snprintf(buf, size, "rule %.*s has no data: on_missing scale_to %d", name_len, name,
                    r.replicas);
      return;
    default:
      std::snprintf(buf, size, "rule %.*s %s", name_len, name, FailureText(r.basis));
      return;
  }
}

// "Percent 50/60s, Pods 4/15s (Max)", for rate-limit lines.
void DescribePolicies(const RulesView& rules, char* buf, size_t size) {
  size_t used = 0;
  buf[0] = '\0';
  for (const ScalingPolicy& p : rules.policies) {
    if (used >= size) break;
    const int n = std::snprintf(buf + used, size - used, "%s%s %d/%ds", used == 0 ? "" : ", ",
                                PolicyTypeName(p.type), p.value, p.period_seconds);
    if (n < 0) break;
    used += static_cast<size_t>(n);
  }
  if (used < size) {
    const char* select = rules.select_policy == SelectPolicy::kMin ? "Min" : "Max";
    std::snprintf(buf + used, size - used, " (%s)", select);
  }
}

// Small fixed buffers keep a round allocation-free for up to kInline rules.
constexpr size_t kInline = 16;

struct Proposals {
  std::array<hpa::MetricProposal, kInline> inline_proposals{};
  std::array<uint32_t, kInline> inline_index{};  // proposal -> verdict
  std::vector<hpa::MetricProposal> heap_proposals;
  std::vector<uint32_t> heap_index;
  size_t size = 0;

  void Reserve(size_t n) {
    if (n > kInline) {
      heap_proposals.resize(n);
      heap_index.resize(n);
    }
  }
  hpa::MetricProposal* proposals() {
    return heap_proposals.empty() ? inline_proposals.data() : heap_proposals.data();
  }
  uint32_t* index() { return heap_index.empty() ? inline_index.data() : heap_index.data(); }
  void Add(uint32_t verdict, std::optional<int32_t> replicas) {
    proposals()[size] = hpa::MetricProposal{replicas, {}};
    index()[size] = verdict;
    ++size;
  }
};

}  // namespace

void WhyList::push_back(std::string_view line) {
  // The first line sizes every buffer for the most lines one decision writes and the
  // longest line AddWhy formats: a Decision allocates here once in its life.
  constexpr size_t kLines = 6;
  if (lines_.empty()) {
    lines_.resize(kLines);
    for (std::string& l : lines_) l.reserve(internal::kWhyLineCapacity);
  }
  if (used_ == lines_.size()) lines_.emplace_back();
  lines_[used_].assign(line);
  ++used_;
}

void Decide(const Target& target, const Round& round, Decision* d) {
  const int32_t current = round.current_replicas;
  const core::Time now = round.now;
  History& history = d->history;
  d->at = now;
  d->current = current;
  d->raw = current;
  d->desired = current;
  d->limit = Limit::kNone;
  d->able_to_scale_reason = {};
  d->scaling_limited_reason = {};
  WhyList* why = &d->why;
  why->clear();

  // First round for this target: the controller records the current count, so a
  // restart holds scale-down for a full window instead of acting on one sample.
  if (history.recommendations.empty()) history.recommendations.push_back({now, current});

  bool computed = false;
  if (current == 0 && target.min_replicas != 0) {
    AddWhy(why,
           "paused: the target has 0 replicas and min_replicas %d; a target scaled to 0 by "
           "hand stays paused (as with the HPA)",
           target.min_replicas);
    d->limit = Limit::kPaused;
  } else if (current > target.max_replicas) {
    d->desired = target.max_replicas;
    d->limit = Limit::kMaxReplicas;
    AddWhy(why,
           "max_replicas: current %d is above max_replicas %d: straight to %d, no rules, "
           "no stabilization",
           current, target.max_replicas, target.max_replicas);
  } else if (current < target.min_replicas) {
    d->desired = target.min_replicas;
    d->limit = Limit::kMinReplicas;
    AddWhy(why,
           "min_replicas: current %d is below min_replicas %d: straight to %d, no rules, "
           "no stabilization",
           current, target.min_replicas, target.min_replicas);
  } else {
    computed = true;
  }

  if (computed) {
    const Behavior* behavior = target.behavior.has_value() ? &*target.behavior : nullptr;
    const Tolerances tolerance = TolerancesFor(behavior, target.flags);
    std::array<RuleResult, kInline> inline_results{};
    std::vector<RuleResult> heap_results;
    const size_t n = round.verdicts.size();
    if (n > kInline) heap_results.resize(n);
    RuleResult* results = n > kInline ? heap_results.data() : inline_results.data();
    Proposals props;
    props.Reserve(n);
    int freeze = -1;
    for (size_t i = 0; i < n; ++i) {
      results[i] = Evaluate(target, current, round.verdicts[i], tolerance);
      switch (results[i].basis) {
        case Basis::kIgnored:
          break;
        case Basis::kFreeze:
          if (freeze < 0) freeze = static_cast<int>(i);
          break;
        case Basis::kNoData:
        case Basis::kNotFinite:
        case Basis::kBadTarget:
        case Basis::kBadStep:
        case Basis::kBadScaleTo:
          props.Add(static_cast<uint32_t>(i), std::nullopt);
          break;
        default:
          props.Add(static_cast<uint32_t>(i), results[i].replicas);
          break;
      }
    }

    char rule_text[200];
    const hpa::Combined combined = hpa::CombineProposals(
        current, std::span<const hpa::MetricProposal>(props.proposals(), props.size));
    if (freeze >= 0) {
      const Verdict& v = round.verdicts[static_cast<size_t>(freeze)];
      AddWhy(why, "missing_data: hold at %d: rule %.*s has no data and on_missing is hold", current,
             static_cast<int>(v.rule.size()), v.rule.data());
      d->limit = Limit::kMissingData;
    } else if (combined.outcome == hpa::CombineOutcome::kError) {
      d->limit = Limit::kMissingData;
      if (combined.first_failed < 0) {
        AddWhy(why, "missing_data: hold at %d: no rule has data", current);
      } else {
        const uint32_t vi = props.index()[combined.first_failed];
        DescribeRule(round.verdicts[vi], results[vi], rule_text, sizeof(rule_text));
        const bool any_usable =
            std::any_of(props.proposals(), props.proposals() + props.size,
                        [](const hpa::MetricProposal& p) { return p.replicas.has_value(); });
        if (!any_usable) {
          AddWhy(why, "missing_data: hold at %d: no usable rule result (%s)", current, rule_text);
        } else {
          AddWhy(why, "missing_data: hold at %d: %s, and scale-down needs every rule to agree",
                 current, rule_text);
        }
      }
    } else {
      d->raw = std::max(0, combined.replicas);
      const uint32_t vi = props.index()[combined.chosen];
      DescribeRule(round.verdicts[vi], results[vi], rule_text, sizeof(rule_text));
      const char* missing_note = "";
      if (combined.outcome == hpa::CombineOutcome::kOkWithError) {
        missing_note = "; a rule without usable data only blocks scale-down";
      }
      if (d->raw > current) {
        AddWhy(why, "raw %d: %s%s", d->raw, rule_text, missing_note);
      } else if (d->raw < current) {
        AddWhy(why, "raw %d: every rule agrees to scale down; the smallest shrink: %s", d->raw,
               rule_text);
      } else {
        AddWhy(why, "raw %d (= current): %s%s", d->raw, rule_text, missing_note);
      }

      const hpa::Normalized norm = hpa::Normalize(
          {current, d->raw, target.min_replicas, target.max_replicas, behavior, target.flags, now},
          &history);
      d->able_to_scale_reason = norm.able_to_scale_reason;
      d->scaling_limited_reason = norm.scaling_limited_reason;
      d->desired = norm.replicas;
      if (norm.stabilized != d->raw) {
        d->limit = Limit::kStabilization;
        if (behavior == nullptr) {
          AddWhy(why,
                 "stabilization: the %ds scale-down window holds at %d (highest recent "
                 "recommendation)",
                 target.flags.downscale_stabilization_window_seconds, norm.stabilized);
        } else if (d->raw >= current) {
          const RulesView up = ResolveRules(behavior->scale_up, Direction::kUp, target.flags);
          AddWhy(why,
                 "stabilization: the %ds scale-up window holds at %d (lowest recent "
                 "recommendation)",
                 up.stabilization_window_seconds, norm.stabilized);
        } else {
          const RulesView down = ResolveRules(behavior->scale_down, Direction::kDown, target.flags);
          AddWhy(why,
                 "stabilization: the %ds scale-down window holds at %d (highest recent "
                 "recommendation)",
                 down.stabilization_window_seconds, norm.stabilized);
        }
      }
      if (norm.scaling_limited) {
        const std::string_view r = norm.scaling_limited_reason;
        if (r == reason::kTooManyReplicas) {
          d->limit = Limit::kMaxReplicas;
          AddWhy(why, "max_replicas: capped at %d", norm.replicas);
        } else if (r == reason::kTooFewReplicas) {
          d->limit = Limit::kMinReplicas;
          AddWhy(why, "min_replicas: raised to %d", norm.replicas);
        } else if (behavior == nullptr) {
          d->limit = Limit::kRatePolicy;
          AddWhy(why, "rate_policy: without behavior at most max(%g x %d, %g) = %d per round",
                 target.flags.scale_up_limit_factor, current, target.flags.scale_up_limit_minimum,
                 norm.replicas);
        } else {
          d->limit = Limit::kRatePolicy;
          const bool up = r == reason::kScaleUpLimit;
          const RulesView rules =
              up ? ResolveRules(behavior->scale_up, Direction::kUp, target.flags)
                 : ResolveRules(behavior->scale_down, Direction::kDown, target.flags);
          char policies[160];
          DescribePolicies(rules, policies, sizeof(policies));
          if (rules.select_policy == SelectPolicy::kDisabled) {
            AddWhy(why, "rate_policy: behavior.%s.selectPolicy is Disabled: holds at %d",
                   up ? "scaleUp" : "scaleDown", norm.replicas);
          } else {
            AddWhy(why, "rate_policy: %s limited to %d by behavior.%s policies %s",
                   up ? "scale-up" : "scale-down", norm.replicas, up ? "scaleUp" : "scaleDown",
                   policies);
          }
        }
      }
    }
  }

  if (computed && d->desired != current && target.cooldown > core::Duration() &&
      history.last_scale_time.has_value() && now - *history.last_scale_time < target.cooldown) {
    AddWhy(why,
           "rate_policy: cooldown %llds: the last scale was %llds ago; holds at %d instead of %d",
           static_cast<long long>(target.cooldown.millis() / 1000),
           static_cast<long long>((now - *history.last_scale_time).millis() / 1000), current,
           d->desired);
    d->desired = current;
    d->limit = Limit::kRatePolicy;
  }

  const bool pause_hit = (target.paused && d->desired != current) ||
                         (target.paused_scale_up && d->desired > current) ||
                         (target.paused_scale_down && d->desired < current);
  if (pause_hit) {
    const char* which = target.paused          ? "paused"
                        : d->desired > current ? "paused_scale_up"
                                               : "paused_scale_down";
    AddWhy(why, "paused: %s: holds at %d instead of %d", which, current, d->desired);
    d->desired = current;
    d->limit = Limit::kPaused;
  }
}

Decision Decide(const Target& target, const Round& round, const History& history) {
  Decision d;
  d.history = history;
  Decide(target, round, &d);
  return d;
}

void RecordScale(const Target& target, const Decision& decision, History* history) {
  if (decision.desired == decision.current) return;
  const bool up = decision.desired > decision.current;
  const int32_t change =
      up ? decision.desired - decision.current : decision.current - decision.desired;
  if (target.behavior.has_value()) {
    const RulesView rules =
        up ? ResolveRules(target.behavior->scale_up, Direction::kUp, target.flags)
           : ResolveRules(target.behavior->scale_down, Direction::kDown, target.flags);
    hpa::StoreScaleEvent(&rules, change, decision.at,
                         up ? &history->scale_up_events : &history->scale_down_events);
  }
  history->last_scale_time = decision.at;
}

}  // namespace amas::decide
