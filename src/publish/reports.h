// reports.h: what a round of rules -> decide -> act looked like, as data
// for /api/v1/scale_targets, /api/v1/rules, /api/v1/alerts and /metrics.
// Plain values copied out of the scaler; nothing here points back into it.
#ifndef AMAS_PUBLISH_REPORTS_H_
#define AMAS_PUBLISH_REPORTS_H_

#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "act/executor.h"
#include "core/core.h"
#include "rules/rules.h"

namespace amas::publish {

// What /api/v1/scale_targets shows for one rule of a target.
struct RuleReport {
  std::string group;
  rules::ScaleVote vote;
  std::string threshold_up;    // "above 0.7 for 5m", "" when none
  std::string threshold_down;  // "below 0.3 for 10m"
  std::optional<double> up_value, down_value;
  bool up_is_above = true, down_is_below = true;
};

struct DecisionReport {
  core::Time at;
  int32_t current = 0;
  int32_t raw = 0;
  int32_t desired = 0;
  std::string limit;  // decide::LimitName
  std::vector<std::string> why;
};

struct ScaleTargetReport {
  std::string name;
  std::string actuator;  // kind
  int32_t min_replicas = 0;
  int32_t max_replicas = 0;
  bool paused = false, paused_scale_up = false, paused_scale_down = false, dry_run = false;
  std::optional<int32_t> current;
  std::string current_error;  // why current is unknown
  std::optional<DecisionReport> last;
  std::deque<DecisionReport> recent;  // newest last, bounded
  std::vector<RuleReport> rules;
  act::TargetState state;  // the executor's view: phase, drift, last action
  std::string gate;        // ready_when outcome, "" when none
};

struct RuleGroupReport {
  rules::Group group;
  std::vector<rules::RuleHealth> health;
  std::vector<std::vector<rules::Alert>> alerts;  // parallel to group.rules
  core::Time last_evaluation;
  double last_duration_seconds = 0;  // steady clock, sub-millisecond
  core::Duration interval;
};

}  // namespace amas::publish

#endif  // AMAS_PUBLISH_REPORTS_H_
