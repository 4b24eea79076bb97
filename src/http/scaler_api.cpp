#include "http/scaler_api.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <memory>

#include "http/json.h"
#include "rules/template.h"

namespace amas::http {
namespace {

// Prometheus prints alert values with strconv.FormatFloat(v, 'e', -1, 64).
std::string FormatE(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  return std::string(buf, end);
}

void WriteRfc3339(JsonWriter& w, core::Time t) {
  // Go's zero time for "never", as Prometheus writes it.
  WriteString(w, t.unix_millis() == 0 ? "0001-01-01T00:00:00Z" : t.ToRFC3339());
}

void WritePairs(JsonWriter& w, const std::vector<std::pair<std::string, std::string>>& pairs) {
  w.StartObject();
  for (const auto& [k, v] : pairs) {
    w.Key(k.c_str(), static_cast<rapidjson::SizeType>(k.size()));
    WriteString(w, v);
  }
  w.EndObject();
}

void WriteAlert(JsonWriter& w, const rules::Alert& a) {
  w.StartObject();
  w.Key("labels");
  WriteLabels(w, a.labels);
  w.Key("annotations");
  WritePairs(w, a.annotations);
  w.Key("state");
  WriteString(w, rules::ActiveStateName(a.state));
  w.Key("activeAt");
  WriteRfc3339(w, a.active_at);
  if (a.keep_firing_since.unix_millis() != 0) {
    w.Key("keepFiringSince");
    WriteRfc3339(w, a.keep_firing_since);
  }
  w.Key("value");
  WriteString(w, FormatE(a.value));
  w.EndObject();
}

std::string_view RuleState(const std::vector<rules::Alert>& alerts) {
  rules::ActiveState s = rules::ActiveState::kInactive;
  for (const rules::Alert& a : alerts) s = std::max(s, a.state);
  return rules::ActiveStateName(s);
}

void WriteThreshold(JsonWriter& w, const char* key, const std::optional<rules::Threshold>& t) {
  if (!t) return;
  w.Key(key);
  w.StartObject();
  w.Key(t->op == rules::Threshold::Op::kAbove ? "above" : "below");
  WriteNumber(w, t->value);
  w.Key("for");
  WriteNumber(w, t->hold.seconds());
  w.Key("keepFiringFor");
  WriteNumber(w, t->keep_firing_for.seconds());
  w.EndObject();
}

void WriteRule(JsonWriter& w, const rules::Rule& r, const rules::RuleHealth& h,
               const std::vector<rules::Alert>& alerts) {
  w.StartObject();
  w.Key("name");
  WriteString(w, r.name);
  w.Key("query");
  WriteString(w, r.expr_text);
  if (r.kind == rules::Rule::Kind::kAlert) {
    w.Key("state");
    WriteString(w, RuleState(alerts));
    w.Key("duration");
    WriteNumber(w, r.hold.seconds());
    w.Key("keepFiringFor");
    WriteNumber(w, r.keep_firing_for.seconds());
    w.Key("annotations");
    WritePairs(w, r.annotations);
    w.Key("alerts");
    w.StartArray();
    for (const rules::Alert& a : alerts) {
      if (!a.resolved()) WriteAlert(w, a);
    }
    w.EndArray();
  }
  if (r.kind == rules::Rule::Kind::kScale) {
    w.Key("target");
    WriteString(w, r.target);
    WriteThreshold(w, "scaleUp", r.scale_up);
    WriteThreshold(w, "scaleDown", r.scale_down);
    if (r.target_value) {
      w.Key("targetValue");
      WriteNumber(w, *r.target_value);
    }
    if (r.target_average_value) {
      w.Key("targetAverageValue");
      WriteNumber(w, *r.target_average_value);
    }
  }
  if (r.kind != rules::Rule::Kind::kScale) {
    w.Key("labels");
    WritePairs(w, r.labels);
  }
  w.Key("health");
  WriteString(w, h.health);
  if (!h.last_error.empty()) {  // `json:"lastError,omitempty"` in Prometheus
    w.Key("lastError");
    WriteString(w, h.last_error);
  }
  w.Key("evaluationTime");
  WriteNumber(w, h.evaluation_seconds);
  w.Key("lastEvaluation");
  WriteRfc3339(w, h.last_evaluation);
  w.Key("type");
  WriteString(w, r.kind == rules::Rule::Kind::kAlert    ? "alerting"
                 : r.kind == rules::Rule::Kind::kRecord ? "recording"
                                                        : "scaling");
  w.EndObject();
}

Response Rules(const ScalerApiOptions& o, const Request& req) {
  const std::string_view type = req.Param("type");
  if (!type.empty() && type != "alert" && type != "record" && type != "scale") {
    return ApiError(ApiErrorType::kBadData, "invalid rule type \"" + std::string(type) + "\"");
  }
  const std::vector<publish::RuleGroupReport> groups = o.rule_groups();
  auto wanted = [&](const rules::Rule& r) {
    return type.empty() || (type == "alert" && r.kind == rules::Rule::Kind::kAlert) ||
           (type == "record" && r.kind == rules::Rule::Kind::kRecord) ||
           (type == "scale" && r.kind == rules::Rule::Kind::kScale);
  };
  return ApiSuccess([&](JsonWriter& w) {
    w.StartObject();
    w.Key("groups");
    w.StartArray();
    for (const publish::RuleGroupReport& g : groups) {
      // As Prometheus: a group whose rules were all filtered out is left out.
      if (!type.empty() && std::none_of(g.group.rules.begin(), g.group.rules.end(), wanted)) {
        continue;
      }
      w.StartObject();
      w.Key("name");
      WriteString(w, g.group.name);
      w.Key("file");
      WriteString(w, g.group.file);
      if (!g.group.datasource.empty()) {  // amas-scaler's own: the remote_datasources entry
        w.Key("datasource");
        WriteString(w, g.group.datasource);
      }
      w.Key("rules");
      w.StartArray();
      for (size_t i = 0; i < g.group.rules.size(); ++i) {
        const rules::Rule& r = g.group.rules[i];
        if (wanted(r)) WriteRule(w, r, g.health[i], g.alerts[i]);
      }
      w.EndArray();
      w.Key("interval");
      WriteNumber(w, g.interval.seconds());
      w.Key("limit");
      w.Int64(g.group.limit);
      w.Key("evaluationTime");
      WriteNumber(w, g.last_duration_seconds);
      w.Key("lastEvaluation");
      WriteRfc3339(w, g.last_evaluation);
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
  });
}

Response Alerts(const ScalerApiOptions& o) {
  const std::vector<publish::RuleGroupReport> groups = o.rule_groups();
  return ApiSuccess([&](JsonWriter& w) {
    w.StartObject();
    w.Key("alerts");
    w.StartArray();
    for (const publish::RuleGroupReport& g : groups) {
      for (const auto& alerts : g.alerts) {
        for (const rules::Alert& a : alerts) {
          if (!a.resolved()) WriteAlert(w, a);
        }
      }
    }
    w.EndArray();
    w.EndObject();
  });
}

void WriteDecision(JsonWriter& w, const publish::DecisionReport& d) {
  w.StartObject();
  w.Key("at");
  WriteRfc3339(w, d.at);
  w.Key("current");
  w.Int(d.current);
  w.Key("raw");
  w.Int(d.raw);
  w.Key("desired");
  w.Int(d.desired);
  w.Key("limitedBy");
  WriteString(w, d.limit);
  w.Key("why");
  w.StartArray();
  for (const std::string& line : d.why) WriteString(w, line);
  w.EndArray();
  w.EndObject();
}

void WriteAction(JsonWriter& w, const act::ActionRecord& r) {
  w.StartObject();
  w.Key("resource");
  WriteString(w, r.resource);
  w.Key("from");
  w.Int(r.from);
  w.Key("to");
  w.Int(r.to);
  w.Key("direction");
  WriteString(w, act::DirectionName(r.direction));
  w.Key("result");
  WriteString(w, act::ResultName(r.result));
  w.Key("error");
  WriteString(w, r.error);
  w.Key("attempts");
  w.Int(r.attempts);
  w.Key("dryRun");
  w.Bool(r.dry_run);
  w.Key("started");
  WriteRfc3339(w, r.started);
  w.Key("finished");
  WriteRfc3339(w, r.finished);
  w.EndObject();
}

void WriteTarget(JsonWriter& w, const publish::ScaleTargetReport& t, bool detail) {
  w.StartObject();
  w.Key("name");
  WriteString(w, t.name);
  w.Key("actuator");
  WriteString(w, t.actuator);
  w.Key("minReplicas");
  w.Int(t.min_replicas);
  w.Key("maxReplicas");
  w.Int(t.max_replicas);
  w.Key("paused");
  w.Bool(t.paused);
  w.Key("pausedScaleUp");
  w.Bool(t.paused_scale_up);
  w.Key("pausedScaleDown");
  w.Bool(t.paused_scale_down);
  w.Key("dryRun");
  w.Bool(t.dry_run);
  w.Key("currentReplicas");
  if (t.current) {
    w.Int(*t.current);
  } else {
    w.Null();
  }
  if (!t.current_error.empty()) {
    w.Key("currentError");
    WriteString(w, t.current_error);
  }
  w.Key("desiredReplicas");
  if (t.last) {
    w.Int(t.last->desired);
  } else {
    w.Null();
  }
  w.Key("decision");
  if (t.last) {
    WriteDecision(w, *t.last);
  } else {
    w.Null();
  }
  w.Key("rules");
  w.StartArray();
  for (const publish::RuleReport& r : t.rules) {
    w.StartObject();
    w.Key("group");
    WriteString(w, r.group);
    w.Key("rule");
    WriteString(w, r.vote.rule);
    w.Key("vote");
    WriteString(w, rules::ScaleVoteName(r.vote.kind));
    w.Key("value");
    if (r.vote.kind == rules::ScaleVote::Kind::kNoData) {
      w.Null();
    } else {
      WriteNumber(w, r.vote.value);
    }
    w.Key("reason");
    WriteString(w, r.vote.reason);
    w.Key("scaleUp");
    WriteString(w, r.threshold_up);
    w.Key("scaleUpState");
    WriteString(w, rules::ActiveStateName(r.vote.up));
    if (r.vote.up != rules::ActiveState::kInactive) {
      w.Key("scaleUpSince");
      WriteRfc3339(w, r.vote.up_since);
    }
    w.Key("scaleDown");
    WriteString(w, r.threshold_down);
    w.Key("scaleDownState");
    WriteString(w, rules::ActiveStateName(r.vote.down));
    if (r.vote.down != rules::ActiveState::kInactive) {
      w.Key("scaleDownSince");
      WriteRfc3339(w, r.vote.down_since);
    }
    w.EndObject();
  }
  w.EndArray();
  w.Key("actuatorState");
  w.StartObject();
  w.Key("phase");
  WriteString(w, act::PhaseName(t.state.phase));
  w.Key("lastError");
  WriteString(w, t.state.last_error);
  w.Key("drift");
  if (t.state.drift_from) {
    w.StartObject();
    w.Key("expected");
    w.Int(*t.state.drift_from);
    w.Key("observed");
    if (t.state.observed) {
      w.Int(*t.state.observed);
    } else {
      w.Null();
    }
    w.EndObject();
  } else {
    w.Null();
  }
  if (t.state.last_action) {
    w.Key("lastAction");
    WriteAction(w, *t.state.last_action);
  }
  w.EndObject();
  if (!t.gate.empty()) {
    w.Key("readyWhen");
    WriteString(w, t.gate);
  }
  if (detail) {
    w.Key("recentDecisions");
    w.StartArray();
    for (const publish::DecisionReport& d : t.recent) WriteDecision(w, d);
    w.EndArray();
  }
  w.EndObject();
}

// Decodes standard base64; false on any invalid input.
bool Base64Decode(std::string_view in, std::string* out) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  out->clear();
  uint32_t acc = 0;
  int bits = 0;
  size_t i = 0;
  for (; i < in.size() && in[i] != '='; ++i) {
    const int v = value(in[i]);
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  for (; i < in.size(); ++i) {
    if (in[i] != '=') return false;
  }
  return true;
}

bool Authorized(const ReceiverAuth& auth, const Request& req) {
  if (auth.bearer_token.empty() && auth.basic_username.empty()) return true;
  const std::string_view header = req.Header("authorization");
  if (!auth.bearer_token.empty() && header.rfind("Bearer ", 0) == 0) {
    return ConstantTimeEquals(header.substr(7), auth.bearer_token);
  }
  if (!auth.basic_username.empty() && header.rfind("Basic ", 0) == 0) {
    std::string decoded;
    if (!Base64Decode(header.substr(6), &decoded)) return false;
    return ConstantTimeEquals(decoded, auth.basic_username + ":" + auth.basic_password);
  }
  return false;
}

// Before the body is read: the token, then the body limit (the server
// compares Content-Length with it, and counts a chunked body as it comes).
Gate::Verdict AdmitWebhook(const ScalerApiOptions& o, const Request& head) {
  const ReceiverAuth auth = o.receiver_auth();
  Gate::Verdict verdict;
  if (!Authorized(auth, head)) {
    o.rejected("unauthorized");
    Response r = ApiError(ApiErrorType::kBadData, "unauthorized");
    r.status = 401;
    r.headers.emplace_back("WWW-Authenticate",
                           auth.bearer_token.empty() ? "Basic realm=\"amas-scaler\"" : "Bearer");
    verdict.refusal = std::move(r);
    return verdict;
  }
  verdict.max_body_bytes = auth.max_body_bytes;
  return verdict;
}

Response WebhookTooLarge(const ScalerApiOptions& o, size_t max_body_bytes) {
  o.rejected("too_large");
  Response r = ApiError(ApiErrorType::kBadData,
                        "body larger than " + std::to_string(max_body_bytes) + " bytes");
  r.status = 413;
  return r;
}

Response Receive(const ScalerApiOptions& o, const Request& req) {
  ReceiveOutcome out = o.receive(req.body);
  if (!out.status.ok()) {
    o.rejected("bad_request");
    return ApiError(ApiErrorType::kBadData, out.status.message());
  }
  return ApiSuccess([&](JsonWriter& w) {
    w.StartObject();
    w.Key("alerts");
    w.Uint64(out.alerts);
    w.Key("duplicates");
    w.Uint64(out.duplicates);
    w.EndObject();
  });
}

}  // namespace

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  // Length leaks, content does not: compare every byte of the longer input.
  const size_t n = std::max(a.size(), b.size());
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= x ^ y;
  }
  return diff == 0;
}

void AddScalerRoutes(const ScalerApiOptions& options, Router* router) {
  auto o = std::make_shared<const ScalerApiOptions>(options);
  router->Handle("GET", "/api/v1/rules", [o](const Request& r) { return Rules(*o, r); });
  router->Handle("GET", "/api/v1/alerts", [o](const Request&) { return Alerts(*o); });
  router->Handle("GET", "/api/v1/scale_targets", [o](const Request&) {
    const auto targets = o->scale_targets();
    return ApiSuccess([&](JsonWriter& w) {
      w.StartArray();
      for (const auto& t : targets) WriteTarget(w, t, false);
      w.EndArray();
    });
  });
  router->Handle("GET", "/api/v1/scale_targets/{name}", [o](const Request& r) {
    const std::string& name = r.path_params.at("name");
    for (const auto& t : o->scale_targets()) {
      if (t.name == name) return ApiSuccess([&](JsonWriter& w) { WriteTarget(w, t, true); });
    }
    return ApiError(ApiErrorType::kNotFound, "scale target \"" + name + "\" not found");
  });
  Gate gate;
  gate.check = [o](const Request& head) { return AdmitWebhook(*o, head); };
  gate.too_large = [o](size_t max) { return WebhookTooLarge(*o, max); };
  router->Handle(
      "POST", "/api/v1/alertmanager", [o](const Request& r) { return Receive(*o, r); },
      std::move(gate));
}

}  // namespace amas::http
