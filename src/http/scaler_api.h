// scaler_api.h: the routes of the decision side, in Prometheus's shapes where
// Prometheus has them: GET /api/v1/rules, /api/v1/alerts (alert rules and
// amas scale rules), GET /api/v1/scale_targets[/{name}] (inputs, votes,
// decision and why), and POST /api/v1/alertmanager (the Alertmanager webhook
// receiver, with optional bearer or basic auth compared in constant time and
// a body limit, both checked before the body is read). Handlers only call
// the functions in ScalerApiOptions (copied into the routes), which must be
// safe from several threads at once.
#ifndef AMAS_HTTP_SCALER_API_H_
#define AMAS_HTTP_SCALER_API_H_

#include <functional>
#include <string>
#include <vector>

#include "core/core.h"
#include "http/http.h"
#include "publish/reports.h"

namespace amas::http {

struct ReceiverAuth {
  std::string bearer_token;  // "" = none
  std::string basic_username;
  std::string basic_password;
  size_t max_body_bytes = 1 << 20;
};

// What the receiver handler reports back to its caller.
struct ReceiveOutcome {
  core::Status status;  // InvalidArgument → 400 with the message
  size_t alerts = 0, duplicates = 0;
};

struct ScalerApiOptions {
  std::function<std::vector<publish::ScaleTargetReport>()> scale_targets;
  std::function<std::vector<publish::RuleGroupReport>()> rule_groups;
  std::function<ReceiverAuth()> receiver_auth;
  // Parses and applies one webhook body.
  std::function<ReceiveOutcome(std::string_view body)> receive;
  // Counts a rejected request: "unauthorized", "too_large", "bad_request".
  std::function<void(std::string_view reason)> rejected;
};

void AddScalerRoutes(const ScalerApiOptions& options, Router* router);

// True iff a equals b, in time that does not depend on where they differ.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace amas::http

#endif  // AMAS_HTTP_SCALER_API_H_
