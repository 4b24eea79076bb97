// scaler.h: one evaluation round, from rule votes to actions, and its report.
// Tick(now) evaluates the rule groups that are due (their output goes into
// the store), then decides every scale target whose rules ran, hands changed
// counts to its Executor on a worker thread, and records what happened as a
// TargetReport for /api/v1/scale_targets, /metrics and webhooks. Action
// results come back through a queue and enter the decide history on the next
// Tick, so acting never blocks evaluation. Thread rule: Tick() on one thread;
// Reports()/RuleGroups() from any thread (they copy under a mutex).
#ifndef AMAS_APP_SCALER_H_
#define AMAS_APP_SCALER_H_

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "act/executor.h"
#include "app/scale_config.h"
#include "core/core.h"
#include "decide/decide.h"
#include "promql/promql.h"
#include "publish/events.h"
#include "publish/reports.h"
#include "rules/rules.h"
#include "store/store.h"

namespace amas::sources {
class PrometheusApi;  // sources/prometheus_api.h
}  // namespace amas::sources

namespace amas::app {

using publish::DecisionReport;
using publish::RuleGroupReport;
using publish::RuleReport;
using publish::ScaleEvent;
using TargetReport = publish::ScaleTargetReport;

// Hooks for metrics and webhooks (publish/). Called on the thread that
// produced the fact: Tick()'s thread, or an action worker.
class ScalerObserver {
 public:
  virtual ~ScalerObserver() = default;
  // took_seconds: steady-clock time, sub-millisecond.
  virtual void GroupEvaluated(const std::string& group, double took_seconds, size_t failures,
                              uint64_t missed) = 0;
  virtual void ActionFinished(const act::ActionRecord& record) = 0;
  virtual void Event(const ScaleEvent& event) = 0;
};

struct ScalerOptions {
  core::Duration evaluation_interval = core::Duration::Minutes(1);  // global default
  core::Labels external_labels;
  std::string external_url;
  promql::EngineOptions engine;
  bool global_dry_run = false;
  int action_workers = 4;
  size_t recent_decisions = 20;
  // The fencing token to act with, or nullopt when this replica does not
  // hold the lease (it then decides and reports but never acts).
  std::function<std::optional<act::Fence>()> fence = [] { return act::Fence{}; };
  ScalerObserver* observer = nullptr;  // borrowed; may be null
};

// Turns one remote datasource's answer into a promql::Value; app wires the
// Prometheus API client in (sources/). Called on the Tick() thread.
using RemoteQuery =
    std::function<core::Result<promql::Value>(const std::string& expr, core::Time t)>;

// The RemoteQuery that sends expressions to a Prometheus-compatible API
// (/api/v1/query); its errors start with context when one is given.
RemoteQuery RemoteQueryOf(std::shared_ptr<sources::PrometheusApi> api, std::string context = "");

class Scaler {
 public:
  // The store, clock and sleeper must outlive the Scaler. Builds one
  // Executor per target; fails when an actuator cannot be built.
  static core::Result<std::unique_ptr<Scaler>> Create(
      std::vector<ScaleTargetConfig> targets, rules::RuleSet rule_set, ScalerOptions options,
      std::map<std::string, RemoteQuery> datasources, store::Store* store,
      const core::Clock* clock);
  Scaler(const Scaler&) = delete;  // owns worker threads and executors
  Scaler& operator=(const Scaler&) = delete;
  ~Scaler();

  // Evaluates due groups and decides their targets. Returns when the round's
  // decisions are made (actions may still be running).
  void Tick(core::Time now);
  // The earliest time a group is due again.
  core::Time NextDue() const;

  std::vector<TargetReport> Reports() const;
  std::vector<RuleGroupReport> RuleGroups() const;
  // Counters of actions by (target, direction, result).
  std::map<act::ActionLog::Key, uint64_t> ActionCounts() const;
  // Evaluation failures and missed iterations per group name.
  struct GroupCounters {
    uint64_t iterations = 0, missed = 0, failures = 0;
  };
  std::map<std::string, GroupCounters> GroupStats() const;

  // What survives a restart, as a JSON document (see state/), and back.
  std::string SaveState(core::Time now) const;
  core::Status RestoreState(std::string_view document, core::Time now,
                            core::Duration outage_tolerance);
  // Waits for running actions to finish (shutdown).
  void Drain();

 private:
  Scaler() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace amas::app

#endif  // AMAS_APP_SCALER_H_
