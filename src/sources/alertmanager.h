// alertmanager.h: the Alertmanager webhook receiver's logic, without HTTP.
// ParseWebhook() accepts payload version "4" only and validates it strictly;
// an error names the field ("alerts[0].startsAt: not an RFC 3339 time").
// AlertIntake keeps the alerts Alertmanager reports firing, idempotent on
// fingerprint + startsAt (HA Alertmanagers send duplicates), and Samples()
// turns them into ALERTS{alertname=..., alertstate="firing", ...} = 1 until
// they are resolved or their endsAt passes, then writes one stale marker.
// Thread rule: AlertIntake is safe from any thread.
#ifndef AMAS_SOURCES_ALERTMANAGER_H_
#define AMAS_SOURCES_ALERTMANAGER_H_

#include <map>
#include <optional>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/core.h"

namespace amas::sources {

struct WebhookAlert {
  std::string status;  // "firing" or "resolved"
  core::Labels labels;
  std::vector<std::pair<std::string, std::string>> annotations;
  core::Time starts_at;
  std::optional<core::Time> ends_at;  // unset while firing (0001-01-01T00:00:00Z)
  std::string generator_url;
  std::string fingerprint;
};

struct WebhookPayload {
  std::string version;
  std::string receiver;
  std::string status;
  std::string group_key;
  std::string external_url;
  int64_t truncated_alerts = 0;
  std::vector<WebhookAlert> alerts;
};

// InvalidArgument naming the field for anything that is not a version 4
// payload: malformed JSON (with its offset), invalid UTF-8, wrong types,
// missing fields, bad times, invalid label names.
core::Result<WebhookPayload> ParseWebhook(std::string_view body);

struct IntakeCounts {
  size_t firing = 0;      // new or changed firing alerts
  size_t resolved = 0;    // alerts that ended
  size_t duplicates = 0;  // already known with the same status
};

class AlertIntake {
 public:
  // Firing alerts not refreshed within stale_after are dropped, in case
  // Alertmanager never sends their resolution (send_resolved: false).
  explicit AlertIntake(core::Duration stale_after = core::Duration::Hours(4));

  IntakeCounts Receive(const WebhookPayload& payload, core::Time now);
  // The ALERTS samples to append at now: 1 for every active alert, and a
  // stale marker (core::StaleNaN) once for each alert that ended since.
  std::vector<std::pair<core::Labels, double>> Samples(core::Time now);
  size_t active() const;

 private:
  struct Active {
    core::Labels series;  // ALERTS{...}
    core::Time starts_at;
    std::optional<core::Time> ends_at;
    core::Time last_seen;
  };
  core::Duration stale_after_;
  mutable std::mutex mu_;
  std::map<std::string, Active> active_;  // by fingerprint
  std::vector<core::Labels> ended_;        // need a stale marker
};

}  // namespace amas::sources

#endif  // AMAS_SOURCES_ALERTMANAGER_H_
