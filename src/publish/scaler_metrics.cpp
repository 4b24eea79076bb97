#include "publish/scaler_metrics.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <cmath>
#include <mutex>

namespace amas::publish {
namespace {

using Labels = std::map<std::string, std::string>;

constexpr const char* kLimitReasons[] = {"stabilization", "rate_policy", "max_replicas",
                                         "min_replicas",  "paused",      "missing_data"};

// Counters that mirror a running total: add only what grew since last time.
class CounterMirror {
 public:
  explicit CounterMirror(prometheus::Family<prometheus::Counter>& family) : family_(family) {}
  void Set(const Labels& labels, double total) {
    double& last = last_[labels];
    if (total > last) family_.Add(labels).Increment(total - last);
    if (total < last) family_.Add(labels);  // a restart of the source: keep the counter
    last = std::max(last, total);
  }

 private:
  prometheus::Family<prometheus::Counter>& family_;
  std::map<Labels, double> last_;
};

prometheus::Histogram::BucketBoundaries DurationBuckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
}

}  // namespace

struct ScalerMetrics::Impl {
  explicit Impl(prometheus::Registry& r)
      : desired(Gauge(r, "amas_scaler_desired_replicas",
                      "The count amas-scaler wants, after behavior, bounds and pause.")),
        current(Gauge(r, "amas_scaler_current_replicas", "The count the target has now.")),
        raw(Gauge(r, "amas_scaler_recommendation_raw",
                  "The rules' combined recommendation before behavior.")),
        min(Gauge(r, "amas_scaler_min_replicas", "The target's min_replicas.")),
        max(Gauge(r, "amas_scaler_max_replicas", "The target's max_replicas.")),
        rule_value(Gauge(r, "amas_scaler_rule_value", "A scale rule's last value.")),
        rule_state(
            Gauge(r, "amas_scaler_rule_state",
                  "A scale rule's condition per direction: 0 inactive, 1 pending, 2 firing.")),
        rule_threshold(
            Gauge(r, "amas_scaler_rule_threshold", "A scale rule's threshold per direction.")),
        limited(Gauge(r, "amas_scaler_scaling_limited",
                      "1 when this reason set the desired count this round.")),
        drift(Gauge(r, "amas_scaler_drift_replicas",
                    "Observed minus last applied count while a manual change is reported.")),
        last_duration(Gauge(r, "amas_scaler_rule_group_last_duration_seconds",
                            "How long the group's last evaluation took.")),
        webhook_queue(Gauge(r, "amas_scaler_webhook_queue_length",
                            "Events waiting for delivery, per endpoint.")),
        notifier_queue(Gauge(r, "amas_scaler_notifications_queue_length",
                             "Alerts waiting to be sent to Alertmanager.")),
        leader(Gauge(r, "amas_scaler_leader", "1 while this replica holds the lease and may act.")),
        actions(Counter(r, "amas_scaler_actions_total", "Scale actions by result.")),
        iterations(
            Counter(r, "amas_scaler_rule_group_iterations_total", "Rule group evaluations.")),
        missed(Counter(r, "amas_scaler_rule_group_iterations_missed_total",
                       "Rule group evaluations skipped because the previous one ran late.")),
        failures(Counter(r, "amas_scaler_rule_evaluation_failures_total",
                         "Rule evaluations that failed.")),
        sent(Counter(r, "amas_scaler_webhook_events_sent_total", "Webhook events delivered.")),
        failed(Counter(r, "amas_scaler_webhook_events_failed_total",
                       "Webhook delivery attempts that failed.")),
        dead(Counter(r, "amas_scaler_webhook_dead_letters_total",
                     "Webhook events given up on and written to the dead-letter file.")),
        latency_sum(Counter(r, "amas_scaler_webhook_delivery_seconds_total",
                            "Total time spent on successful webhook deliveries.")),
        am_sent(Counter(r, "amas_scaler_notifications_sent_total", "Alerts sent to Alertmanager.")),
        am_errors(Counter(r, "amas_scaler_notifications_errors_total",
                          "Batches Alertmanager did not accept.")),
        am_dropped(Counter(r, "amas_scaler_notifications_dropped_total",
                           "Alerts dropped because the queue was full.")),
        received(Counter(r, "amas_scaler_alertmanager_webhooks_received_total",
                         "Alertmanager webhook requests accepted.")),
        received_alerts(Counter(r, "amas_scaler_alertmanager_alerts_received_total",
                                "Alerts in accepted Alertmanager webhooks.")),
        duplicates(Counter(r, "amas_scaler_alertmanager_alerts_duplicate_total",
                           "Alerts already known (HA Alertmanagers send each one twice).")),
        rejected(Counter(r, "amas_scaler_alertmanager_webhooks_rejected_total",
                         "Alertmanager webhook requests rejected, by reason.")),
        eval_duration(prometheus::BuildHistogram()
                          .Name("amas_scaler_rule_evaluation_duration_seconds")
                          .Help("How long a rule group's evaluation took.")
                          .Register(r)),
        action_duration(prometheus::BuildHistogram()
                            .Name("amas_scaler_action_duration_seconds")
                            .Help("How long a scale action took, retries included.")
                            .Register(r)),
        actions_m(actions),
        iterations_m(iterations),
        missed_m(missed),
        failures_m(failures),
        sent_m(sent),
        failed_m(failed),
        dead_m(dead),
        latency_m(latency_sum),
        am_sent_m(am_sent),
        am_errors_m(am_errors),
        am_dropped_m(am_dropped),
        received_m(received),
        received_alerts_m(received_alerts),
        duplicates_m(duplicates),
        rejected_m(rejected) {}

  static prometheus::Family<prometheus::Gauge>& Gauge(prometheus::Registry& r, const char* name,
                                                      const char* help) {
    return prometheus::BuildGauge().Name(name).Help(help).Register(r);
  }
  static prometheus::Family<prometheus::Counter>& Counter(prometheus::Registry& r, const char* name,
                                                          const char* help) {
    return prometheus::BuildCounter().Name(name).Help(help).Register(r);
  }

  std::mutex mu;
  prometheus::Family<prometheus::Gauge>&desired, &current, &raw, &min, &max, &rule_value,
      &rule_state, &rule_threshold, &limited, &drift, &last_duration, &webhook_queue,
      &notifier_queue, &leader;
  prometheus::Family<prometheus::Counter>&actions, &iterations, &missed, &failures, &sent, &failed,
      &dead, &latency_sum, &am_sent, &am_errors, &am_dropped, &received, &received_alerts,
      &duplicates, &rejected;
  prometheus::Family<prometheus::Histogram>&eval_duration, &action_duration;
  CounterMirror actions_m, iterations_m, missed_m, failures_m, sent_m, failed_m, dead_m, latency_m,
      am_sent_m, am_errors_m, am_dropped_m, received_m, received_alerts_m, duplicates_m, rejected_m;
};

ScalerMetrics::ScalerMetrics(prometheus::Registry& registry)
    : impl_(std::make_unique<Impl>(registry)) {}
ScalerMetrics::~ScalerMetrics() = default;

void ScalerMetrics::UpdateTargets(const std::vector<ScaleTargetReport>& targets) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  Impl& m = *impl_;
  for (const ScaleTargetReport& t : targets) {
    const Labels target{{"target", t.name}};
    m.min.Add(target).Set(t.min_replicas);
    m.max.Add(target).Set(t.max_replicas);
    if (t.current) m.current.Add(target).Set(*t.current);
    if (t.last) {
      m.desired.Add(target).Set(t.last->desired);
      m.raw.Add(target).Set(t.last->raw);
    }
    for (const char* reason : kLimitReasons) {
      m.limited.Add({{"target", t.name}, {"reason", reason}})
          .Set(t.last && t.last->limit == reason ? 1 : 0);
    }
    m.drift.Add(target).Set(
        t.state.drift_from && t.state.observed ? *t.state.observed - *t.state.drift_from : 0);
    for (const RuleReport& r : t.rules) {
      const Labels rule{{"rule", r.vote.rule}, {"target", t.name}};
      if (r.vote.kind != rules::ScaleVote::Kind::kNoData && std::isfinite(r.vote.value)) {
        m.rule_value.Add(rule).Set(r.vote.value);
      }
      m.rule_state.Add({{"rule", r.vote.rule}, {"target", t.name}, {"direction", "up"}})
          .Set(static_cast<double>(r.vote.up));
      m.rule_state.Add({{"rule", r.vote.rule}, {"target", t.name}, {"direction", "down"}})
          .Set(static_cast<double>(r.vote.down));
      if (r.up_value) {
        m.rule_threshold.Add({{"rule", r.vote.rule}, {"target", t.name}, {"direction", "up"}})
            .Set(*r.up_value);
      }
      if (r.down_value) {
        m.rule_threshold.Add({{"rule", r.vote.rule}, {"target", t.name}, {"direction", "down"}})
            .Set(*r.down_value);
      }
    }
  }
}

void ScalerMetrics::UpdateGroups(const std::map<std::string, GroupCounts>& groups,
                                 const std::vector<RuleGroupReport>& reports) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  for (const auto& [name, c] : groups) {
    const Labels g{{"group", name}};
    impl_->iterations_m.Set(g, static_cast<double>(c.iterations));
    impl_->missed_m.Set(g, static_cast<double>(c.missed));
    impl_->failures_m.Set(g, static_cast<double>(c.failures));
  }
  for (const RuleGroupReport& r : reports) {
    impl_->last_duration.Add({{"group", r.group.name}}).Set(r.last_duration_seconds);
  }
}

void ScalerMetrics::UpdateActions(const std::map<act::ActionLog::Key, uint64_t>& counts) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  for (const auto& [key, n] : counts) {
    const auto& [target, direction, result] = key;
    impl_->actions_m.Set({{"target", target}, {"direction", direction}, {"result", result}},
                         static_cast<double>(n));
  }
}

void ScalerMetrics::UpdateWebhooks(const std::vector<WebhookStats>& stats) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  for (const WebhookStats& s : stats) {
    const Labels e{{"endpoint", s.endpoint}};
    impl_->sent_m.Set(e, static_cast<double>(s.sent));
    impl_->failed_m.Set(e, static_cast<double>(s.failed_attempts));
    impl_->dead_m.Set(e, static_cast<double>(s.dead_letters));
    impl_->latency_m.Set(e, s.latency_seconds_sum);
    impl_->webhook_queue.Add(e).Set(static_cast<double>(s.queue_length));
  }
}

void ScalerMetrics::UpdateNotifier(const std::vector<NotifierStats>& stats, uint64_t dropped,
                                   size_t queue) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  for (const NotifierStats& s : stats) {
    const Labels am{{"alertmanager", s.alertmanager}};
    impl_->am_sent_m.Set(am, static_cast<double>(s.sent));
    impl_->am_errors_m.Set(am, static_cast<double>(s.errors));
  }
  impl_->am_dropped_m.Set({}, static_cast<double>(dropped));
  impl_->notifier_queue.Add({}).Set(static_cast<double>(queue));
}

void ScalerMetrics::UpdateReceiver(const ReceiverCounts& c) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->received_m.Set({}, static_cast<double>(c.received));
  impl_->received_alerts_m.Set({}, static_cast<double>(c.alerts));
  impl_->duplicates_m.Set({}, static_cast<double>(c.duplicates));
  for (const char* reason : {"bad_request", "unauthorized", "too_large"}) {
    auto it = c.rejected.find(reason);
    impl_->rejected_m.Set({{"reason", reason}},
                          it == c.rejected.end() ? 0 : static_cast<double>(it->second));
  }
}

void ScalerMetrics::SetLeader(bool leader) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->leader.Add({}).Set(leader ? 1 : 0);
}

void ScalerMetrics::ObserveGroupDuration(const std::string& group, double took_seconds) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->eval_duration.Add({{"group", group}}, DurationBuckets()).Observe(took_seconds);
}

void ScalerMetrics::ObserveAction(const act::ActionRecord& record) {
  if (record.result == act::ActionResult::kUnchanged) return;
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->action_duration.Add({{"target", record.target}}, DurationBuckets())
      .Observe((record.finished - record.started).seconds());
}

}  // namespace amas::publish
