// Runs testdata/scaler_api_cases.txt against the decision-side routes with
// fake ScalerApiOptions functions: a fixed rule group, one scale target and a
// receiver that accepts one alert. Format: README at the top of the data file.
#include <catch2/catch.hpp>
#include <fstream>

#include "golden_cases.h"
#include "http/scaler_api.h"
#include "testing/testing.h"

namespace amas::http {
namespace {

using testing::Case;
using testing::ReadCases;

core::Time At(int64_t s) { return core::Time::FromUnixSeconds(s); }

std::vector<publish::RuleGroupReport> Groups() {
  auto set = rules::ParseRuleFile(R"(groups:
  - name: backend
    interval: 15s
    rules:
      - record: job:load:sum
        expr: sum(load)
        labels: {team: web}
      - alert: HighLoad
        expr: job:load:sum > 0.8
        for: 1m
        labels: {severity: page}
        annotations: {summary: high load}
      - name: cpu
        target: backend
        expr: avg(cpu)
        scale_up: {above: 0.7, for: 5m}
        scale_down: {below: 0.3}
      - name: queue
        target: celery
        expr: sum(queue)
        target_value: 10
)",
                                  "rules/backend.yml");
  REQUIRE(set.ok());
  publish::RuleGroupReport g;
  g.group = set->groups.at(0);
  g.interval = core::Duration::Seconds(15);
  g.last_evaluation = At(1000);
  g.last_duration_seconds = 0.25;
  for (size_t i = 0; i < g.group.rules.size(); ++i) {
    rules::RuleHealth h;
    h.health = "ok";
    h.last_evaluation = At(1000);
    g.health.push_back(h);
    g.alerts.emplace_back();
  }
  g.health[3].health = "err";
  g.health[3].last_error = "expected one series, got 2";
  rules::Alert firing;
  firing.labels = core::Labels::FromPairs({{"alertname", "HighLoad"}, {"severity", "page"}});
  firing.annotations = {{"summary", "high load"}};
  firing.state = rules::ActiveState::kFiring;
  firing.value = 0.92;
  firing.active_at = At(900);
  firing.fired_at = At(960);
  rules::Alert resolved = firing;  // resolved alerts are not shown
  resolved.labels = core::Labels::FromPairs({{"alertname", "HighLoad"}, {"severity", "low"}});
  resolved.resolved_at = At(990);
  g.alerts[1] = {firing, resolved};
  // A second group with a recording rule only: left out when filtered away.
  auto fleet = rules::ParseRuleFile(R"(groups:
  - name: fleet
    rules:
      - record: fleet:up:sum
        expr: sum(up)
)",
                                    "rules/fleet.yml");
  REQUIRE(fleet.ok());
  publish::RuleGroupReport f;
  f.group = fleet->groups.at(0);
  f.interval = core::Duration::Minutes(1);
  f.health.emplace_back();  // never evaluated: "unknown"
  f.alerts.emplace_back();
  return {g, f};
}

std::vector<publish::ScaleTargetReport> Targets() {
  publish::ScaleTargetReport t;
  t.name = "backend";
  t.actuator = "dry_run";
  t.min_replicas = 3;
  t.max_replicas = 20;
  t.current = 4;
  publish::DecisionReport d{
      At(1000), 4, 20, 6, "rate_policy", {"rules: cpu votes up", "rate policy: at most 6"}};
  t.last = d;
  t.recent = {publish::DecisionReport{At(985), 4, 20, 4, "stabilization", {"window"}}, d};
  publish::RuleReport rr;
  rr.group = "backend";
  rr.vote.rule = "cpu";
  rr.vote.target = "backend";
  rr.vote.kind = rules::ScaleVote::Kind::kUp;
  rr.vote.value = 0.85;
  rr.vote.reason = "0.85 above 0.7 for 5m";
  rr.vote.up = rules::ActiveState::kFiring;
  rr.vote.up_since = At(700);
  rr.threshold_up = "above 0.7 for 5m";
  rr.threshold_down = "below 0.3";
  t.rules.push_back(rr);
  t.state.target = "backend";
  t.state.phase = act::TargetState::Phase::kSteady;
  t.state.observed = 4;
  publish::ScaleTargetReport c;
  c.name = "celery";
  c.actuator = "celery";
  c.min_replicas = 10;
  c.max_replicas = 50;
  c.dry_run = true;
  c.current_error = "broker unreachable";
  publish::RuleReport q;
  q.group = "backend";
  q.vote.rule = "queue";
  q.vote.kind = rules::ScaleVote::Kind::kNoData;
  q.vote.reason = "no data";
  c.rules.push_back(q);
  c.gate = "ready_when = 0";
  return {t, c};
}

TEST_CASE("decision-side routes give golden responses", "[unit]") {
  std::vector<std::string> rejected;
  std::vector<std::string> received;
  ScalerApiOptions o;
  o.scale_targets = Targets;
  o.rule_groups = Groups;
  o.receiver_auth = [] {
    ReceiverAuth a;
    a.bearer_token = "s3cret";
    a.basic_username = "am";
    a.basic_password = "pw";
    a.max_body_bytes = 64;
    return a;
  };
  o.receive = [&received](std::string_view body) {
    received.emplace_back(body);
    ReceiveOutcome out;
    if (!body.starts_with("{")) {
      out.status = core::Status::InvalidArgument("body is not JSON: expected '{' at offset 0");
      return out;
    }
    out.alerts = 2;
    out.duplicates = 1;
    return out;
  };
  o.rejected = [&rejected](std::string_view why) { rejected.emplace_back(why); };
  Router router;
  AddScalerRoutes(o, &router);

  const std::string path =
      std::string(AMAS_SOURCE_DIR) + "/test/http/testdata/scaler_api_cases.txt";
  const std::vector<Case> cases = ReadCases(path);
  REQUIRE(cases.size() >= 14);
  for (const Case& c : cases) {
    Request req;
    req.method = c.method;
    const size_t q = c.target.find('?');
    req.path = c.target.substr(0, q);
    if (q != std::string::npos) {
      auto params = ParseQuery(c.target.substr(q + 1));
      REQUIRE(params.ok());
      req.params = *params;
    }
    for (const auto& [k, v] : c.headers) req.headers[k] = v;
    req.body = c.body;
    const Response r = router.Dispatch(req);
    INFO(path << ":" << c.line << ": " << c.method << " " << c.target);
    CHECK(r.status == c.status);
    if (!c.content_type.empty()) CHECK(r.content_type == c.content_type);
    CHECK(r.body == c.want);
  }
  CHECK(rejected == std::vector<std::string>{"unauthorized", "unauthorized", "unauthorized",
                                             "unauthorized", "too_large", "bad_request"});
  CHECK(received.size() == 3);  // only authorized, small enough bodies get through
}

TEST_CASE("the receiver asks for the scheme it accepts", "[unit]") {
  ScalerApiOptions o;
  o.scale_targets = [] { return std::vector<publish::ScaleTargetReport>{}; };
  o.rule_groups = [] { return std::vector<publish::RuleGroupReport>{}; };
  o.receive = [](std::string_view) { return ReceiveOutcome{}; };
  o.rejected = [](std::string_view) {};
  ReceiverAuth auth;
  o.receiver_auth = [&auth] { return auth; };
  Router router;
  AddScalerRoutes(o, &router);
  Request req;
  req.method = "POST";
  req.path = "/api/v1/alertmanager";
  req.body = "{}";
  CHECK(router.Dispatch(req).status == 200);  // no auth configured: open
  auth.basic_username = "am";
  auth.basic_password = "pw";
  Response r = router.Dispatch(req);
  CHECK(r.status == 401);
  REQUIRE(r.headers.size() == 1);
  CHECK(r.headers[0].second == "Basic realm=\"amas-scaler\"");
  auth = ReceiverAuth();
  auth.bearer_token = "t";
  r = router.Dispatch(req);
  CHECK(r.status == 401);
  CHECK(r.headers.at(0).second == "Bearer");
  req.headers["authorization"] = "Bearer t";
  CHECK(router.Dispatch(req).status == 200);
  auth.max_body_bytes = 2;
  CHECK(router.Dispatch(req).status == 200);  // exactly the limit
  req.body = "{ }";
  CHECK(router.Dispatch(req).status == 413);
}

TEST_CASE("ConstantTimeEquals compares whole strings", "[unit]") {
  CHECK(ConstantTimeEquals("", ""));
  CHECK(ConstantTimeEquals("abc", "abc"));
  CHECK_FALSE(ConstantTimeEquals("abc", "abd"));
  CHECK_FALSE(ConstantTimeEquals("abc", "ab"));
  CHECK_FALSE(ConstantTimeEquals("ab", "abc"));
  CHECK_FALSE(ConstantTimeEquals("", "a"));
  CHECK_FALSE(ConstantTimeEquals(std::string_view("a\0", 2), "a"));
}

}  // namespace
}  // namespace amas::http
