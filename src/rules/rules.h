// rules.h: rule files and their evaluation. Depends on core and promql.
// LoadFile() reads a `groups:` file of Prometheus alert/record rules and
// amas scale rules, rejecting every mistake with file:line:col and the field.
// A GroupEvaluator runs one group at a time it is given: it asks its Querier,
// steps each rule's pending→firing state per series (for, keep_firing_for,
// exactly as Prometheus), writes recorded series, ALERTS and ALERTS_FOR_STATE
// to a SampleSink, and returns alerts and scale votes as data.
// A scale rule with no data, stale data or a failed query votes kNoData.
// Pure: no clock, no I/O of its own. Thread rule: one thread per evaluator.
#ifndef AMAS_RULES_RULES_H_
#define AMAS_RULES_RULES_H_

#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/core.h"
#include "promql/promql.h"
#include "rules/template.h"

namespace amas::rules {

using LabelPairs = std::vector<std::pair<std::string, std::string>>;

// One direction of a threshold scale rule: scale_up: {above: 0.7, for: 5m}.
struct Threshold {
  enum class Op { kAbove, kBelow };
  Op op = Op::kAbove;
  double value = 0;
  core::Duration hold;             // `for`
  core::Duration keep_firing_for;  // keeps voting this long after the condition clears
  bool Holds(double v) const { return op == Op::kAbove ? v > value : v < value; }
};

// How far one scale step moves: `step: {type: Percent, value: 50}`.
struct Step {
  enum class Type { kPods, kPercent };
  Type type = Type::kPods;
  int32_t value = 1;
};

// What a scale rule without data means for its target.
struct OnMissing {
  enum class Kind { kBlockScaleDown, kHold, kScaleTo, kIgnore };
  Kind kind = Kind::kBlockScaleDown;
  int32_t scale_to = 0;  // kScaleTo only
};

struct Rule {
  enum class Kind { kAlert, kRecord, kScale };
  Kind kind = Kind::kAlert;
  std::string name;  // alert:, record: or (scale rules) name:
  std::string expr_text;
  promql::ExprPtr expr;  // nullptr for remote groups' expressions we cannot parse
  std::string file;
  int line = 0;
  // alert rules
  core::Duration hold;  // `for`
  core::Duration keep_firing_for;
  LabelPairs labels;  // alert and record rules; alert label values are templates
  LabelPairs annotations;
  std::vector<Template> label_templates;       // parallel to labels (alerts)
  std::vector<Template> annotation_templates;  // parallel to annotations
  // scale rules
  std::string target;  // a scale_targets name
  std::optional<Threshold> scale_up;
  std::optional<Threshold> scale_down;
  std::optional<Step> step;
  std::optional<double> target_value;          // desired = ceil(current * value / target_value)
  std::optional<double> target_average_value;  // desired = ceil(value / target_average_value)
  OnMissing on_missing;
};

struct Group {
  std::string name;
  std::string file;
  core::Duration interval;  // 0: the global evaluation_interval
  std::string datasource;   // "" (local store) or a remote_datasources name
  int64_t limit = 0;        // as Prometheus: 0 means no limit on series per rule
  std::vector<Rule> rules;
};

struct RuleSet {
  std::vector<Group> groups;
};

struct LoadOptions {
  // Parse expressions with promql::Parse; remote groups may use PromQL we do
  // not evaluate ourselves, so their parse failures are kept as text only.
  bool parse_remote_expressions = false;
};

core::Result<RuleSet> LoadFile(const std::string& path, const LoadOptions& options = {});
core::Result<RuleSet> ParseRuleFile(std::string_view content, const std::string& file,
                                    const LoadOptions& options = {});
// Loads every file (globs already expanded) into one set; group names must be
// unique per file, as in Prometheus.
core::Result<RuleSet> LoadFiles(const std::vector<std::string>& paths,
                                const LoadOptions& options = {});

// Evaluates one rule's expression at t: locally with promql::Engine or
// against a remote Prometheus API.
class Querier {
 public:
  virtual ~Querier() = default;
  virtual core::Result<promql::Value> Query(const Rule& rule, core::Time t) = 0;
};

// Where evaluation output goes (app appends it to the store). Flush() is
// called after each rule so later rules of the group see earlier results.
class SampleSink {
 public:
  virtual ~SampleSink() = default;
  virtual void Write(const core::Labels& labels, int64_t t_ms, double value) = 0;
  virtual void Flush() = 0;
};

enum class ActiveState { kInactive = 0, kPending = 1, kFiring = 2 };
std::string_view ActiveStateName(ActiveState s);  // "inactive", "pending", "firing"

struct Alert {
  core::Labels labels;  // alertname + series labels + rule labels
  LabelPairs annotations;
  ActiveState state = ActiveState::kPending;
  double value = 0;
  core::Time active_at;
  core::Time fired_at;
  core::Time resolved_at;        // zero while active
  core::Time keep_firing_since;  // zero unless kept firing by keep_firing_for
  bool resolved() const { return resolved_at.unix_millis() != 0; }
};

// A scale rule's view of one evaluation.
struct ScaleVote {
  enum class Kind { kUp, kDown, kHold, kNoData, kProportional };
  std::string rule;
  std::string target;
  Kind kind = Kind::kNoData;
  double value = 0;  // the series value (threshold: max over series; proportional: sum)
  size_t series = 0;
  std::string reason;  // why this vote, in one line
  ActiveState up = ActiveState::kInactive;
  ActiveState down = ActiveState::kInactive;
  core::Time up_since;    // when the up condition started holding
  core::Time down_since;  // when the down condition started holding
};
std::string_view ScaleVoteName(
    ScaleVote::Kind k);  // "up", "down", "hold", "no_data", "proportional"

struct RuleHealth {
  std::string health = "unknown";  // "ok", "err", "unknown" (Prometheus's strings)
  std::string last_error;
  // When the rule's evaluation started: the group's t plus the time the
  // rules before it took (Prometheus reports the rule's own start).
  core::Time last_evaluation;
  double evaluation_seconds = 0;  // query, state step and writes of the last round
  size_t series = 0;
};

struct GroupResult {
  std::vector<ScaleVote> votes;
  size_t failures = 0;            // rules whose evaluation failed this round
  double evaluation_seconds = 0;  // the whole round, 0 without a Stopwatch
};

// A monotonic reading in seconds (any origin) for timing rules. The caller
// owns the clock: the app passes a steady clock, tests a scripted one.
class Stopwatch {
 public:
  virtual ~Stopwatch() = default;
  virtual double Seconds() = 0;
};

// What is persisted to survive restarts: the pending/firing start times.
struct ActiveRecord {
  std::string group;
  std::string rule;
  std::string kind;  // "alert", "scale_up", "scale_down"
  core::Labels labels;
  ActiveState state = ActiveState::kPending;
  core::Time active_at;
  core::Time fired_at;
  core::Time keep_firing_since;
  double value = 0;
};

struct EvalOptions {
  core::Labels external_labels;
  std::string external_url;
  // Resolved alerts stay visible this long so notifiers can send them.
  core::Duration resolved_retention = core::Duration::Minutes(15);
};

class GroupEvaluator {
 public:
  GroupEvaluator(Group group, EvalOptions options);
  GroupEvaluator(const GroupEvaluator&) = delete;  // holds per-series state; move the owner
  GroupEvaluator& operator=(const GroupEvaluator&) = delete;
  ~GroupEvaluator();

  // Evaluates every rule at t, in order. A failing rule is counted and
  // reported in its health; the others still run. With a stopwatch each
  // rule's health gets its evaluation time; without, times stay 0.
  GroupResult Eval(Querier& querier, SampleSink& sink, core::Time t,
                   Stopwatch* stopwatch = nullptr);

  const Group& group() const;
  // Parallel to group().rules.
  const std::vector<RuleHealth>& health() const;
  // Active alerts (pending, firing, and resolved within retention) of rule i.
  std::vector<Alert> Alerts(size_t rule_index) const;

  std::vector<ActiveRecord> Save() const;
  // Restores records of rules that still exist with the same kind. A
  // restart gap longer than outage_tolerance forgets the saved times, as
  // Prometheus's --rules.alert.for-outage-tolerance does.
  void Restore(const std::vector<ActiveRecord>& records, core::Time saved_at, core::Time now,
               core::Duration outage_tolerance);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace amas::rules

#endif  // AMAS_RULES_RULES_H_
