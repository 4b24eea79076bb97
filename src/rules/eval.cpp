// Group evaluation: Prometheus's alerting and recording rule semantics, and
// the same per-series state machine for the two directions of scale rules.
#include <algorithm>
#include <cmath>
#include <unordered_set>

#include "core/value.h"
#include "promql/go_strconv.h"
#include "rules/rules.h"

namespace amas::rules {
namespace {

using core::Labels;
using core::LabelsBuilder;
using core::Result;
using core::Status;
using core::Time;

constexpr std::string_view kAlertsMetric = "ALERTS";
constexpr std::string_view kAlertsForStateMetric = "ALERTS_FOR_STATE";

using ActiveMap = std::unordered_map<Labels, Alert>;

struct Present {
  Labels labels;
  LabelPairs annotations;
  double value;
};

bool IsZero(Time t) { return t.unix_millis() == 0; }

// Steps the pending→firing machine of one rule (or one scale direction) at t
// given the series whose condition holds now. Mirrors Prometheus's
// AlertingRule.Eval, including keep_firing_for and the retention of resolved
// alerts (0 retention drops them at once).
void StepActive(ActiveMap& active, std::vector<Present>& present, Time t, core::Duration hold,
                core::Duration keep_firing_for, core::Duration resolved_retention) {
  std::unordered_set<Labels> seen;
  for (Present& p : present) {
    seen.insert(p.labels);
    auto it = active.find(p.labels);
    if (it != active.end() && it->second.state != ActiveState::kInactive) {
      it->second.value = p.value;
      it->second.annotations = std::move(p.annotations);
      continue;
    }
    Alert a;
    a.labels = p.labels;
    a.annotations = std::move(p.annotations);
    a.state = ActiveState::kPending;
    a.value = p.value;
    a.active_at = t;
    active.insert_or_assign(p.labels, std::move(a));
  }
  for (auto it = active.begin(); it != active.end();) {
    Alert& a = it->second;
    if (!seen.contains(it->first)) {
      bool keep_firing = false;
      if (a.state == ActiveState::kFiring && keep_firing_for > core::Duration()) {
        if (IsZero(a.keep_firing_since)) a.keep_firing_since = t;
        keep_firing = (t - a.keep_firing_since) < keep_firing_for;
      }
      if (!keep_firing) {
        const bool drop = a.state == ActiveState::kPending ||
                          (a.resolved() && (t - a.resolved_at) > resolved_retention) ||
                          resolved_retention == core::Duration();
        if (a.state != ActiveState::kInactive) {
          a.state = ActiveState::kInactive;
          a.resolved_at = t;
        }
        if (drop) {
          it = active.erase(it);
        } else {
          ++it;
        }
        continue;
      }
    } else {
      a.keep_firing_since = Time();
    }
    if (a.state == ActiveState::kPending && (t - a.active_at) >= hold) {
      a.state = ActiveState::kFiring;
      a.fired_at = t;
    }
    ++it;
  }
}

// An instant result as (labels, value) samples; scalars become one sample
// with no labels, as Prometheus's rule query function does.
Result<promql::Vector> AsVector(promql::Value value) {
  if (auto* v = std::get_if<promql::Vector>(&value)) return std::move(*v);
  if (auto* s = std::get_if<promql::Scalar>(&value)) {
    promql::Vector out;
    out.push_back({Labels(), s->t_ms, s->value});
    return out;
  }
  return Status::InvalidArgument("rule result is not a vector or scalar");
}

// " for 5m or more", or nothing when the condition needs no time.
std::string ForClause(core::Duration hold) {
  return hold > core::Duration() ? " for " + hold.ToString() + " or more" : "";
}

}  // namespace

std::string_view ActiveStateName(ActiveState s) {
  switch (s) {
    case ActiveState::kInactive:
      return "inactive";
    case ActiveState::kPending:
      return "pending";
    case ActiveState::kFiring:
      return "firing";
  }
  return "unknown";
}

std::string_view ScaleVoteName(ScaleVote::Kind k) {
  switch (k) {
    case ScaleVote::Kind::kUp:
      return "up";
    case ScaleVote::Kind::kDown:
      return "down";
    case ScaleVote::Kind::kHold:
      return "hold";
    case ScaleVote::Kind::kNoData:
      return "no_data";
    case ScaleVote::Kind::kProportional:
      return "proportional";
  }
  return "unknown";
}

struct GroupEvaluator::Impl {
  struct RuleState {
    ActiveMap alerts;  // alert rules
    ActiveMap up;      // scale rules, per direction
    ActiveMap down;
    std::vector<Labels> written;  // series written last round, for stale markers
  };

  Group group;
  EvalOptions options;
  std::vector<RuleHealth> health;
  std::vector<RuleState> states;

  Status EvalAlert(const Rule& rule, RuleState& st, promql::Vector vec, Time t,
                   std::vector<std::pair<Labels, double>>* out) {
    std::vector<Present> present;
    present.reserve(vec.size());
    std::unordered_set<Labels> seen;
    for (promql::VectorSample& s : vec) {
      TemplateData data;
      data.labels = &s.labels;
      data.value = s.value;
      data.external_labels = &options.external_labels;
      data.external_url = options.external_url;
      LabelsBuilder b(s.labels);
      b.Del(core::kMetricName);
      for (size_t i = 0; i < rule.labels.size(); ++i) {
        Result<std::string> v = rule.label_templates[i].Expand(data);
        // Prometheus expands to an error text rather than failing the rule.
        b.Set(rule.labels[i].first,
              v.ok() ? *v : "<error expanding template: " + v.status().message() + ">");
      }
      b.Set("alertname", rule.name);
      LabelPairs annotations;
      for (size_t i = 0; i < rule.annotations.size(); ++i) {
        Result<std::string> v = rule.annotation_templates[i].Expand(data);
        annotations.emplace_back(
            rule.annotations[i].first,
            v.ok() ? *v : "<error expanding template: " + v.status().message() + ">");
      }
      Labels labels = b.Build();
      if (!seen.insert(labels).second) {
        return Status::InvalidArgument(
            "vector contains metrics with the same labelset after applying alert labels");
      }
      present.push_back({std::move(labels), std::move(annotations), s.value});
    }
    StepActive(st.alerts, present, t, rule.hold, rule.keep_firing_for, options.resolved_retention);
    size_t active = 0;
    for (const auto& [labels, a] : st.alerts) {
      if (a.state == ActiveState::kInactive) continue;
      ++active;
      LabelsBuilder b(labels);
      b.Set(core::kMetricName, kAlertsMetric);
      b.Set("alertstate", ActiveStateName(a.state));
      out->emplace_back(b.Build(), 1.0);
      LabelsBuilder f(labels);
      f.Set(core::kMetricName, kAlertsForStateMetric);
      out->emplace_back(f.Build(), static_cast<double>(a.active_at.unix_millis() / 1000));
    }
    if (group.limit > 0 && active > static_cast<size_t>(group.limit)) {
      st.alerts.clear();
      out->clear();
      return Status::ResourceExhausted("exceeded limit of " + std::to_string(group.limit) +
                                       " with " + std::to_string(active) + " alerts");
    }
    return Status();
  }

  Status EvalRecord(const Rule& rule, promql::Vector vec,
                    std::vector<std::pair<Labels, double>>* out) {
    std::unordered_set<Labels> seen;
    for (promql::VectorSample& s : vec) {
      LabelsBuilder b(s.labels);
      b.Set(core::kMetricName, rule.name);
      for (const auto& [name, value] : rule.labels) b.Set(name, value);
      Labels labels = b.Build();
      if (!seen.insert(labels).second) {
        out->clear();
        return Status::InvalidArgument(
            "vector contains metrics with the same labelset after applying rule labels");
      }
      out->emplace_back(std::move(labels), s.value);
    }
    if (group.limit > 0 && out->size() > static_cast<size_t>(group.limit)) {
      const size_t n = out->size();
      out->clear();
      return Status::ResourceExhausted("exceeded limit " + std::to_string(group.limit) + " with " +
                                       std::to_string(n) + " series");
    }
    return Status();
  }

  static void Summarize(const ActiveMap& m, ActiveState* state, Time* since) {
    *state = ActiveState::kInactive;
    *since = Time();
    for (const auto& [labels, a] : m) {
      if (a.state > *state || (a.state == *state && a.active_at < *since)) {
        *state = a.state;
        *since = a.active_at;
      }
    }
  }

  ScaleVote EvalScale(const Rule& rule, RuleState& st, const Result<promql::Vector>& result,
                      Time t) {
    ScaleVote v;
    v.rule = rule.name;
    v.target = rule.target;
    std::vector<Present> up_present, down_present;
    size_t non_finite = 0;
    double sum = 0;
    std::optional<double> extreme;
    if (result.ok()) {
      v.series = result->size();
      const bool want_max = !rule.scale_up || rule.scale_up->op == Threshold::Op::kAbove;
      for (const promql::VectorSample& s : *result) {
        if (!std::isfinite(s.value)) {
          ++non_finite;
          continue;
        }
        sum += s.value;
        if (!extreme || (want_max ? s.value > *extreme : s.value < *extreme)) extreme = s.value;
        Labels key = LabelsBuilder(s.labels).Del(core::kMetricName).Build();
        if (rule.scale_up && rule.scale_up->Holds(s.value))
          up_present.push_back({key, {}, s.value});
        if (rule.scale_down && rule.scale_down->Holds(s.value)) {
          down_present.push_back({std::move(key), {}, s.value});
        }
      }
    }
    // Without data every condition is false: pending states reset, firing
    // ones end (after keep_firing_for), exactly like an alert whose series vanished.
    if (rule.scale_up) {
      StepActive(st.up, up_present, t, rule.scale_up->hold, rule.scale_up->keep_firing_for,
                 core::Duration());
    }
    if (rule.scale_down) {
      StepActive(st.down, down_present, t, rule.scale_down->hold, rule.scale_down->keep_firing_for,
                 core::Duration());
    }
    Summarize(st.up, &v.up, &v.up_since);
    Summarize(st.down, &v.down, &v.down_since);

    if (!result.ok()) {
      v.kind = ScaleVote::Kind::kNoData;
      v.reason = "query failed: " + result.status().message();
      return v;
    }
    const size_t finite = v.series - non_finite;
    if (finite == 0) {
      v.kind = ScaleVote::Kind::kNoData;
      v.reason = v.series == 0 ? "no data" : "value is NaN or infinite";
      return v;
    }
    v.value = (rule.target_value || rule.target_average_value) ? sum : *extreme;
    if (rule.target_value || rule.target_average_value) {
      if (non_finite > 0) {
        v.kind = ScaleVote::Kind::kNoData;
        v.reason = std::to_string(non_finite) + " of " + std::to_string(v.series) +
                   " series are NaN or infinite";
        return v;
      }
      v.kind = ScaleVote::Kind::kProportional;
      v.reason =
          "value " + promql::FormatFloatG(sum) + " against target " +
          promql::FormatFloatG(rule.target_value ? *rule.target_value : *rule.target_average_value);
      return v;
    }
    if (v.up == ActiveState::kFiring) {
      v.kind = ScaleVote::Kind::kUp;
      v.reason = "value " + promql::FormatFloatG(v.value) +
                 (rule.scale_up->op == Threshold::Op::kAbove ? " above " : " below ") +
                 promql::FormatFloatG(rule.scale_up->value) + ForClause(rule.scale_up->hold);
      return v;
    }
    const bool all_down =
        rule.scale_down && non_finite == 0 &&
        std::all_of(st.down.begin(), st.down.end(),
                    [](const auto& e) { return e.second.state == ActiveState::kFiring; }) &&
        st.down.size() == finite;
    if (all_down) {
      v.kind = ScaleVote::Kind::kDown;
      v.reason = "value " + promql::FormatFloatG(v.value) +
                 (rule.scale_down->op == Threshold::Op::kBelow ? " below " : " above ") +
                 promql::FormatFloatG(rule.scale_down->value) + ForClause(rule.scale_down->hold);
      return v;
    }
    v.kind = ScaleVote::Kind::kHold;
    if (v.up == ActiveState::kPending) {
      v.reason = "scale_up condition pending since " + v.up_since.ToRFC3339();
    } else if (v.down == ActiveState::kPending) {
      v.reason = "scale_down condition pending since " + v.down_since.ToRFC3339();
    } else if (non_finite > 0) {
      v.reason = std::to_string(non_finite) + " series are NaN or infinite";
    } else if (v.down == ActiveState::kFiring) {
      v.reason = "not every series agrees to scale down";
    } else {
      v.reason = "value " + promql::FormatFloatG(v.value) + " is inside the dead band";
    }
    return v;
  }
};

GroupEvaluator::GroupEvaluator(Group group, EvalOptions options) : impl_(new Impl) {
  impl_->group = std::move(group);
  impl_->options = std::move(options);
  impl_->health.resize(impl_->group.rules.size());
  impl_->states.resize(impl_->group.rules.size());
}

GroupEvaluator::~GroupEvaluator() = default;

const Group& GroupEvaluator::group() const { return impl_->group; }
const std::vector<RuleHealth>& GroupEvaluator::health() const { return impl_->health; }

std::vector<Alert> GroupEvaluator::Alerts(size_t rule_index) const {
  std::vector<Alert> out;
  for (const auto& [labels, a] : impl_->states.at(rule_index).alerts) out.push_back(a);
  std::sort(out.begin(), out.end(),
            [](const Alert& a, const Alert& b) { return a.labels < b.labels; });
  return out;
}

GroupResult GroupEvaluator::Eval(Querier& querier, SampleSink& sink, Time t, Stopwatch* stopwatch) {
  GroupResult result;
  Impl& im = *impl_;
  auto now = [stopwatch] { return stopwatch != nullptr ? stopwatch->Seconds() : 0.0; };
  const double group_start = now();
  for (size_t i = 0; i < im.group.rules.size(); ++i) {
    const Rule& rule = im.group.rules[i];
    Impl::RuleState& st = im.states[i];
    RuleHealth& health = im.health[i];
    const double rule_start = now();
    health.last_evaluation =
        t + core::Duration::Millis(std::llround((rule_start - group_start) * 1000));

    Result<promql::Vector> vec = Status::Internal("not evaluated");
    Result<promql::Value> value = querier.Query(rule, t);
    vec = value.ok() ? AsVector(std::move(*value)) : Result<promql::Vector>(value.status());

    std::vector<std::pair<Labels, double>> out;
    Status status;
    if (rule.kind == Rule::Kind::kScale) {
      result.votes.push_back(im.EvalScale(rule, st, vec, t));
      status = vec.ok() ? Status() : vec.status();
    } else if (!vec.ok()) {
      status = vec.status();
    } else if (rule.kind == Rule::Kind::kAlert) {
      status = im.EvalAlert(rule, st, std::move(*vec), t, &out);
    } else {
      status = im.EvalRecord(rule, std::move(*vec), &out);
    }
    if (!status.ok()) {
      ++result.failures;
      health.health = "err";
      health.last_error = status.message();
      // As Prometheus: a failed rule writes nothing, not even stale markers;
      // what it wrote last time stays current until it succeeds again.
      health.evaluation_seconds = now() - rule_start;
      continue;
    }
    health.health = "ok";
    health.last_error.clear();
    health.series = out.size();

    // Series written last round and absent now get a stale marker, so they
    // end at once for instant queries instead of lingering for 5 minutes.
    std::unordered_set<Labels> now_written;
    for (const auto& [labels, v] : out) {
      sink.Write(labels, t.unix_millis(), v);
      now_written.insert(labels);
    }
    for (const Labels& old : st.written) {
      if (!now_written.contains(old)) sink.Write(old, t.unix_millis(), core::StaleNaN());
    }
    st.written.clear();
    for (auto& [labels, v] : out) st.written.push_back(std::move(labels));
    sink.Flush();
    health.evaluation_seconds = now() - rule_start;
  }
  result.evaluation_seconds = now() - group_start;
  return result;
}

std::vector<ActiveRecord> GroupEvaluator::Save() const {
  std::vector<ActiveRecord> out;
  const Impl& im = *impl_;
  for (size_t i = 0; i < im.group.rules.size(); ++i) {
    const Impl::RuleState& st = im.states[i];
    auto add = [&](const ActiveMap& m, std::string_view kind) {
      for (const auto& [labels, a] : m) {
        if (a.state == ActiveState::kInactive) continue;
        out.push_back({im.group.name, im.group.rules[i].name, std::string(kind), labels, a.state,
                       a.active_at, a.fired_at, a.keep_firing_since, a.value});
      }
    };
    add(st.alerts, "alert");
    add(st.up, "scale_up");
    add(st.down, "scale_down");
  }
  return out;
}

void GroupEvaluator::Restore(const std::vector<ActiveRecord>& records, Time saved_at, Time now,
                             core::Duration outage_tolerance) {
  const core::Duration down = now - saved_at;
  if (down > outage_tolerance || down < core::Duration()) return;
  Impl& im = *impl_;
  for (const ActiveRecord& r : records) {
    if (r.group != im.group.name) continue;
    for (size_t i = 0; i < im.group.rules.size(); ++i) {
      const Rule& rule = im.group.rules[i];
      if (rule.name != r.rule) continue;
      ActiveMap* m = nullptr;
      if (r.kind == "alert" && rule.kind == Rule::Kind::kAlert) {
        m = &im.states[i].alerts;
      } else if (r.kind == "scale_up" && rule.scale_up) {
        m = &im.states[i].up;
      } else if (r.kind == "scale_down" && rule.scale_down) {
        m = &im.states[i].down;
      }
      if (m == nullptr) continue;
      Alert a;
      a.labels = r.labels;
      a.state = r.state;
      a.value = r.value;
      a.fired_at = r.fired_at;
      a.keep_firing_since = r.keep_firing_since;
      // Time spent down does not count toward `for` (as in Prometheus's
      // for-state restore), and time pending before the restart still does.
      a.active_at = a.state == ActiveState::kPending ? r.active_at + down : r.active_at;
      m->insert_or_assign(a.labels, std::move(a));
    }
  }
}

}  // namespace amas::rules
