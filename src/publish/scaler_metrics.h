// scaler_metrics.h: the decisions, rules, actions, webhooks and receiver as
// /metrics series (amas_scaler_*; the list is docs/metrics.md). Update*()
// copy a snapshot into gauges and counters; Observe*() feed histograms.
// Never read by decide: data flows out only. Thread rule: thread-safe.
#ifndef AMAS_PUBLISH_SCALER_METRICS_H_
#define AMAS_PUBLISH_SCALER_METRICS_H_

#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "act/executor.h"
#include "core/core.h"
#include "publish/notifier.h"
#include "publish/reports.h"
#include "publish/webhooks.h"

namespace prometheus {
class Registry;
}

namespace amas::publish {

struct GroupCounts {
  uint64_t iterations = 0, missed = 0, failures = 0;
};

struct ReceiverCounts {
  uint64_t received = 0;  // webhook requests accepted
  uint64_t alerts = 0;    // alerts in them
  uint64_t duplicates = 0;
  std::map<std::string, uint64_t> rejected;  // by reason: bad_request, unauthorized, too_large
};

class ScalerMetrics {
 public:
  explicit ScalerMetrics(prometheus::Registry& registry);  // must outlive this
  ScalerMetrics(const ScalerMetrics&) = delete;            // holds pointers into the registry
  ScalerMetrics& operator=(const ScalerMetrics&) = delete;
  ~ScalerMetrics();

  void UpdateTargets(const std::vector<ScaleTargetReport>& targets);
  void UpdateGroups(const std::map<std::string, GroupCounts>& groups,
                    const std::vector<RuleGroupReport>& reports);
  void UpdateActions(const std::map<act::ActionLog::Key, uint64_t>& counts);
  void UpdateWebhooks(const std::vector<WebhookStats>& stats);
  void UpdateNotifier(const std::vector<NotifierStats>& stats, uint64_t dropped, size_t queue);
  void UpdateReceiver(const ReceiverCounts& counts);
  void SetLeader(bool leader);
  void ObserveGroupDuration(const std::string& group, double took_seconds);
  void ObserveAction(const act::ActionRecord& record);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace amas::publish

#endif  // AMAS_PUBLISH_SCALER_METRICS_H_
