// notifier.h: sends alerts to Alertmanager's API v2 the way Prometheus does.
// Select() is the pure part: which alerts need sending at `now` (firing ones
// again after resend_delay, a resolved one once), each with endsAt =
// now + 4 x max(resend_delay, evaluation interval) while firing and the
// resolve time after. Notifier queues batches (bounded, oldest dropped and
// counted) and a thread POSTs them to every Alertmanager's /api/v2/alerts.
// Thread rule: Notify() and Stats() from any thread.
#ifndef AMAS_PUBLISH_NOTIFIER_H_
#define AMAS_PUBLISH_NOTIFIER_H_

#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/core.h"

namespace amas::publish {

// An alert as amas-scaler knows it (from an alert: rule, or a recommendation).
struct AlertInfo {
  core::Labels labels;  // alertname and the rest; external labels are added on send
  std::vector<std::pair<std::string, std::string>> annotations;
  core::Time active_at;
  core::Time resolved_at;  // zero while firing
  bool firing = false;     // false and resolved_at zero: pending, never sent
  std::string expr;        // for generatorURL
};

// What goes on the wire (one element of the POST body).
struct PostableAlert {
  core::Labels labels;
  std::vector<std::pair<std::string, std::string>> annotations;
  core::Time starts_at;
  core::Time ends_at;
  std::string generator_url;
};

struct NotifierOptions {
  std::vector<std::string> alertmanagers;  // base URLs, "http://host:9093"
  core::Duration resend_delay = core::Duration::Minutes(1);
  core::Duration evaluation_interval = core::Duration::Minutes(1);
  std::string external_url;  // "http://amas-scaler:9105"
  core::Labels external_labels;
  size_t queue_capacity = 10000;
  size_t max_batch = 64;
  core::Duration timeout = core::Duration::Seconds(10);
};

// Remembers when each alert was last sent, keyed by its labels.
class SendTracker {
 public:
  // The alerts that need sending at now, and marks them sent.
  std::vector<PostableAlert> Select(const std::vector<AlertInfo>& alerts, core::Time now,
                                    const NotifierOptions& options);

 private:
  struct Sent {
    core::Time last_sent;
    bool resolved_sent = false;
  };
  std::unordered_map<core::Labels, Sent> sent_;
};

// The JSON array Alertmanager's POST /api/v2/alerts takes.
std::string AlertsJson(const std::vector<PostableAlert>& alerts);

struct NotifierStats {
  std::string alertmanager;
  uint64_t sent = 0;    // alerts
  uint64_t errors = 0;  // failed batches
};

class Notifier {
 public:
  static core::Result<std::unique_ptr<Notifier>> Create(NotifierOptions options);
  Notifier(const Notifier&) = delete;  // owns its delivery thread
  Notifier& operator=(const Notifier&) = delete;
  ~Notifier();

  // Queues alerts for every Alertmanager; never blocks on the network.
  void Notify(std::vector<PostableAlert> alerts);
  std::vector<NotifierStats> Stats() const;
  uint64_t dropped() const;
  size_t queue_length() const;
  void Flush();  // waits until the queue is empty (tests, shutdown)

 private:
  Notifier() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace amas::publish

#endif  // AMAS_PUBLISH_NOTIFIER_H_
