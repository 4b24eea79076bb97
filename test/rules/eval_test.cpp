// The pending→firing machine of alert and scale rules, as state tables with
// explicit timestamps. A fake Querier stands in for PromQL.
#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <map>

#include "core/value.h"
#include "rules/rules.h"

using amas::core::Duration;
using amas::core::Labels;
using amas::core::Result;
using amas::core::Status;
using amas::core::Time;
using namespace amas::rules;

namespace {

Time At(int64_t seconds) { return Time::FromUnixSeconds(1'700'000'000 + seconds); }

// Answers each rule from a function of time.
class FakeQuerier : public Querier {
 public:
  using Fn = std::function<Result<amas::promql::Value>(Time)>;
  void Set(const std::string& rule, Fn fn) { fns_[rule] = std::move(fn); }
  Result<amas::promql::Value> Query(const Rule& rule, Time t) override {
    return fns_.at(rule.name)(t);
  }

 private:
  std::map<std::string, Fn> fns_;
};

struct Written {
  Labels labels;
  int64_t t_ms;
  double value;
};

class RecordingSink : public SampleSink {
 public:
  void Write(const Labels& labels, int64_t t_ms, double value) override {
    pending_.push_back({labels, t_ms, value});
  }
  void Flush() override {
    for (auto& w : pending_) all.push_back(std::move(w));
    pending_.clear();
    ++flushes;
  }
  std::vector<Written> At(int64_t t_ms) const {
    std::vector<Written> out;
    for (const auto& w : all) {
      if (w.t_ms == t_ms) out.push_back(w);
    }
    return out;
  }
  std::vector<Written> all;
  int flushes = 0;

 private:
  std::vector<Written> pending_;
};

amas::promql::Value OneSeries(const Labels& labels, double v) {
  return amas::promql::Vector{{labels, 0, v}};
}

amas::promql::Value Empty() { return amas::promql::Vector{}; }

Rule AlertRule(std::string name, Duration hold, Duration keep = Duration()) {
  Rule r;
  r.kind = Rule::Kind::kAlert;
  r.name = std::move(name);
  r.hold = hold;
  r.keep_firing_for = keep;
  r.labels = {{"severity", "page"}};
  r.label_templates.push_back(*Template::Compile("page"));
  r.annotations = {{"summary", "{{ $labels.job }} is {{ $value }}"}};
  r.annotation_templates.push_back(*Template::Compile("{{ $labels.job }} is {{ $value }}"));
  return r;
}

Rule ScaleRule(std::string name, std::optional<Threshold> up, std::optional<Threshold> down) {
  Rule r;
  r.kind = Rule::Kind::kScale;
  r.name = std::move(name);
  r.target = "backend";
  r.scale_up = up;
  r.scale_down = down;
  return r;
}

Threshold Above(double v, Duration hold) { return {Threshold::Op::kAbove, v, hold, Duration()}; }
Threshold Below(double v, Duration hold) { return {Threshold::Op::kBelow, v, hold, Duration()}; }

Group OneRuleGroup(Rule r) {
  Group g;
  g.name = "g";
  g.rules.push_back(std::move(r));
  return g;
}

}  // namespace

TEST_CASE("alert: pending until `for` has passed, then firing; ALERTS as Prometheus writes them") {
  const Labels series = Labels::FromPairs({{"__name__", "up"}, {"job", "api"}});
  FakeQuerier q;
  q.Set("Down", [&](Time) { return OneSeries(series, 0); });
  GroupEvaluator ev(OneRuleGroup(AlertRule("Down", Duration::Minutes(5))), {});
  RecordingSink sink;

  struct Step {
    int64_t t;
    ActiveState want;
  };
  for (Step s : {Step{0, ActiveState::kPending}, Step{240, ActiveState::kPending},
                 Step{299, ActiveState::kPending}, Step{300, ActiveState::kFiring},
                 Step{600, ActiveState::kFiring}}) {
    INFO("t=" << s.t);
    GroupResult r = ev.Eval(q, sink, At(s.t));
    CHECK(r.failures == 0);
    auto alerts = ev.Alerts(0);
    REQUIRE(alerts.size() == 1);
    CHECK(alerts[0].state == s.want);
    CHECK(alerts[0].active_at == At(0));
    CHECK(alerts[0].annotations[0].second == "api is 0");
  }
  const Labels alerts_firing = Labels::FromPairs({{"__name__", "ALERTS"},
                                                  {"alertname", "Down"},
                                                  {"alertstate", "firing"},
                                                  {"job", "api"},
                                                  {"severity", "page"}});
  const Labels for_state = Labels::FromPairs({{"__name__", "ALERTS_FOR_STATE"},
                                              {"alertname", "Down"},
                                              {"job", "api"},
                                              {"severity", "page"}});
  auto at300 = sink.At(At(300).unix_millis());
  bool saw_firing = false, saw_for_state = false, saw_pending_stale = false;
  for (const auto& w : at300) {
    if (w.labels == alerts_firing && w.value == 1) saw_firing = true;
    if (w.labels == for_state && w.value == static_cast<double>(At(0).unix_millis() / 1000)) {
      saw_for_state = true;
    }
    if (w.labels.Get("alertstate") == "pending" && amas::core::IsStaleNaN(w.value)) {
      saw_pending_stale = true;  // the pending series ends when it turns firing
    }
  }
  CHECK(saw_firing);
  CHECK(saw_for_state);
  CHECK(saw_pending_stale);
}

TEST_CASE("alert: a pending alert whose series vanishes is forgotten; its series go stale") {
  const Labels series = Labels::FromPairs({{"job", "api"}});
  bool present = true;
  FakeQuerier q;
  q.Set("Down", [&](Time) { return present ? OneSeries(series, 1) : Empty(); });
  GroupEvaluator ev(OneRuleGroup(AlertRule("Down", Duration::Minutes(5))), {});
  RecordingSink sink;
  ev.Eval(q, sink, At(0));
  present = false;
  ev.Eval(q, sink, At(60));
  CHECK(ev.Alerts(0).empty());
  auto at60 = sink.At(At(60).unix_millis());
  REQUIRE(at60.size() == 2);  // ALERTS and ALERTS_FOR_STATE, both stale
  for (const auto& w : at60) CHECK(amas::core::IsStaleNaN(w.value));
  present = true;
  ev.Eval(q, sink, At(120));
  CHECK(ev.Alerts(0)[0].active_at == At(120));  // `for` starts over
}

TEST_CASE("alert: keep_firing_for keeps a firing alert after its condition clears") {
  const Labels series = Labels::FromPairs({{"job", "api"}});
  bool present = true;
  FakeQuerier q;
  q.Set("Down", [&](Time) { return present ? OneSeries(series, 1) : Empty(); });
  GroupEvaluator ev(OneRuleGroup(AlertRule("Down", Duration(), Duration::Minutes(2))), {});
  RecordingSink sink;
  ev.Eval(q, sink, At(0));
  CHECK(ev.Alerts(0)[0].state == ActiveState::kFiring);  // for: 0 fires at once
  present = false;
  ev.Eval(q, sink, At(60));
  CHECK(ev.Alerts(0)[0].state == ActiveState::kFiring);
  ev.Eval(q, sink, At(119));
  CHECK(ev.Alerts(0)[0].state == ActiveState::kFiring);
  ev.Eval(q, sink, At(180));  // 120 s after keep_firing_since = 60
  auto alerts = ev.Alerts(0);
  REQUIRE(alerts.size() == 1);  // kept, resolved, for the notifier
  CHECK(alerts[0].state == ActiveState::kInactive);
  CHECK(alerts[0].resolved_at == At(180));
  // Gone after the resolved retention (15 m).
  ev.Eval(q, sink, At(180 + 15 * 60 + 1));
  CHECK(ev.Alerts(0).empty());
}

TEST_CASE("alert: a duplicate label set after applying labels fails the rule, not the group") {
  FakeQuerier q;
  amas::promql::Vector two{{Labels::FromPairs({{"__name__", "a"}, {"job", "x"}}), 0, 1},
                           {Labels::FromPairs({{"__name__", "b"}, {"job", "x"}}), 0, 1}};
  q.Set("Dup", [&](Time) { return amas::promql::Value(two); });
  q.Set("Ok", [&](Time) { return OneSeries(Labels::FromPairs({{"job", "y"}}), 1); });
  Group g;
  g.name = "g";
  g.rules.push_back(AlertRule("Dup", Duration()));
  g.rules.push_back(AlertRule("Ok", Duration()));
  GroupEvaluator ev(std::move(g), {});
  RecordingSink sink;
  GroupResult r = ev.Eval(q, sink, At(0));
  CHECK(r.failures == 1);
  CHECK(ev.health()[0].health == "err");
  CHECK(ev.health()[0].last_error ==
        "vector contains metrics with the same labelset after applying alert labels");
  CHECK(ev.health()[1].health == "ok");
  CHECK(ev.Alerts(1).size() == 1);
}

TEST_CASE("record: writes the renamed series, flushes per rule, marks vanished series stale") {
  Rule r;
  r.kind = Rule::Kind::kRecord;
  r.name = "job:up:sum";
  r.labels = {{"team", "sre"}};
  bool present = true;
  FakeQuerier q;
  q.Set("job:up:sum", [&](Time) -> Result<amas::promql::Value> {
    if (!present) return Empty();
    return OneSeries(Labels::FromPairs({{"job", "api"}}), 3);
  });
  GroupEvaluator ev(OneRuleGroup(r), {});
  RecordingSink sink;
  ev.Eval(q, sink, At(0));
  REQUIRE(sink.all.size() == 1);
  CHECK(sink.all[0].labels ==
        Labels::FromPairs({{"__name__", "job:up:sum"}, {"job", "api"}, {"team", "sre"}}));
  CHECK(sink.all[0].value == 3);
  CHECK(sink.flushes == 1);
  present = false;
  ev.Eval(q, sink, At(15));
  REQUIRE(sink.all.size() == 2);
  CHECK(amas::core::IsStaleNaN(sink.all[1].value));
}

TEST_CASE("record: a scalar result becomes one series named by the rule") {
  Rule r;
  r.kind = Rule::Kind::kRecord;
  r.name = "answer";
  FakeQuerier q;
  q.Set("answer", [](Time) { return amas::promql::Value(amas::promql::Scalar{0, 42}); });
  GroupEvaluator ev(OneRuleGroup(r), {});
  RecordingSink sink;
  ev.Eval(q, sink, At(0));
  REQUIRE(sink.all.size() == 1);
  CHECK(sink.all[0].labels == Labels::FromPairs({{"__name__", "answer"}}));
}

// The AMAS CPU thresholds: up above 70 % for 5 m, down below 30 % for 10 m.
TEST_CASE("scale: thresholds vote only after `for`; the dead band holds") {
  double cpu = 0;
  FakeQuerier q;
  q.Set("cpu", [&](Time) { return OneSeries(Labels(), cpu); });
  auto group = OneRuleGroup(
      ScaleRule("cpu", Above(0.70, Duration::Minutes(5)), Below(0.30, Duration::Minutes(10))));
  RecordingSink sink;

  SECTION("75 % for 5 m scales up; 72 % for 4 m does not") {
    GroupEvaluator ev(std::move(group), {});
    cpu = 0.72;
    for (int64_t t = 0; t <= 240; t += 15) {
      auto r = ev.Eval(q, sink, At(t));
      CHECK(r.votes[0].kind == ScaleVote::Kind::kHold);
    }
    cpu = 0.5;  // back in the dead band: the pending up condition resets
    ev.Eval(q, sink, At(255));
    cpu = 0.75;
    for (int64_t t = 270; t < 270 + 300; t += 15) {
      INFO("t=" << t);
      CHECK(ev.Eval(q, sink, At(t)).votes[0].kind == ScaleVote::Kind::kHold);
    }
    auto r = ev.Eval(q, sink, At(570));
    CHECK(r.votes[0].kind == ScaleVote::Kind::kUp);
    CHECK(r.votes[0].up == ActiveState::kFiring);
    CHECK(r.votes[0].up_since == At(270));
    CHECK(r.votes[0].value == 0.75);
    CHECK(r.votes[0].reason == "value 0.75 above 0.7 for 5m or more");
  }
  SECTION("25 % for 9 m does nothing; for 10 m scales down") {
    GroupEvaluator ev(std::move(group), {});
    cpu = 0.25;
    for (int64_t t = 0; t < 600; t += 15) {
      CHECK(ev.Eval(q, sink, At(t)).votes[0].kind == ScaleVote::Kind::kHold);
    }
    auto r = ev.Eval(q, sink, At(600));
    CHECK(r.votes[0].kind == ScaleVote::Kind::kDown);
  }
  SECTION("50 % sits in the dead band") {
    GroupEvaluator ev(std::move(group), {});
    cpu = 0.5;
    for (int64_t t = 0; t < 3600; t += 60) {
      auto r = ev.Eval(q, sink, At(t));
      CHECK(r.votes[0].kind == ScaleVote::Kind::kHold);
      CHECK(r.votes[0].reason == "value 0.5 is inside the dead band");
    }
  }
  CHECK(sink.all.empty());  // scale rules write no series of their own
}

TEST_CASE("scale: no data, NaN and failed queries vote no_data and reset pending conditions") {
  Result<amas::promql::Value> answer = OneSeries(Labels(), 0.1);
  FakeQuerier q;
  q.Set("cpu", [&](Time) { return answer; });
  GroupEvaluator ev(OneRuleGroup(ScaleRule("cpu", std::nullopt, Below(0.3, Duration::Minutes(1)))),
                    {});
  RecordingSink sink;
  ev.Eval(q, sink, At(0));
  answer = Empty();
  auto r = ev.Eval(q, sink, At(30));
  CHECK(r.votes[0].kind == ScaleVote::Kind::kNoData);
  CHECK(r.votes[0].reason == "no data");
  CHECK(r.votes[0].down == ActiveState::kInactive);
  answer = OneSeries(Labels(), std::nan(""));
  r = ev.Eval(q, sink, At(60));
  CHECK(r.votes[0].kind == ScaleVote::Kind::kNoData);
  CHECK(r.votes[0].reason == "value is NaN or infinite");
  answer = OneSeries(Labels(), -INFINITY);
  CHECK(ev.Eval(q, sink, At(75)).votes[0].kind == ScaleVote::Kind::kNoData);
  answer = Status::Unavailable("datasource thanos: connection refused");
  r = ev.Eval(q, sink, At(90));
  CHECK(r.votes[0].kind == ScaleVote::Kind::kNoData);
  CHECK(r.votes[0].reason == "query failed: datasource thanos: connection refused");
  CHECK(r.failures == 1);
  answer = OneSeries(Labels(), 0.1);
  ev.Eval(q, sink, At(120));
  CHECK(ev.Eval(q, sink, At(150)).votes[0].kind == ScaleVote::Kind::kHold);
  CHECK(ev.Eval(q, sink, At(180)).votes[0].kind == ScaleVote::Kind::kDown);
}

TEST_CASE("scale: down only when every series agrees; up when any series asks") {
  amas::promql::Vector pods;
  FakeQuerier q;
  q.Set("cpu", [&](Time) { return amas::promql::Value(pods); });
  GroupEvaluator ev(OneRuleGroup(ScaleRule("cpu", Above(0.7, Duration()), Below(0.3, Duration()))),
                    {});
  RecordingSink sink;
  const Labels a = Labels::FromPairs({{"pod", "a"}}), b = Labels::FromPairs({{"pod", "b"}});
  pods = {{a, 0, 0.1}, {b, 0, 0.5}};
  CHECK(ev.Eval(q, sink, At(0)).votes[0].kind == ScaleVote::Kind::kHold);
  pods = {{a, 0, 0.1}, {b, 0, 0.2}};
  CHECK(ev.Eval(q, sink, At(15)).votes[0].kind == ScaleVote::Kind::kDown);
  pods = {{a, 0, 0.1}, {b, 0, 0.9}};
  auto r = ev.Eval(q, sink, At(30));
  CHECK(r.votes[0].kind == ScaleVote::Kind::kUp);
  CHECK(r.votes[0].value == 0.9);
  pods = {{a, 0, 0.1}, {b, 0, std::nan("")}};
  CHECK(ev.Eval(q, sink, At(45)).votes[0].kind == ScaleVote::Kind::kHold);
}

TEST_CASE("scale: proportional rules report the summed value") {
  FakeQuerier q;
  q.Set("queue", [](Time) {
    return amas::promql::Value(amas::promql::Vector{{Labels::FromPairs({{"q", "a"}}), 0, 30},
                                                    {Labels::FromPairs({{"q", "b"}}), 0, 12}});
  });
  Rule r = ScaleRule("queue", std::nullopt, std::nullopt);
  r.target_value = 10;
  GroupEvaluator ev(OneRuleGroup(r), {});
  RecordingSink sink;
  auto res = ev.Eval(q, sink, At(0));
  CHECK(res.votes[0].kind == ScaleVote::Kind::kProportional);
  CHECK(res.votes[0].value == 42);
}

TEST_CASE("restore: a restart neither resets `for` nor counts the time spent down") {
  double cpu = 0.1;
  FakeQuerier q;
  q.Set("cpu", [&](Time) { return OneSeries(Labels(), cpu); });
  auto make = [] {
    return OneRuleGroup(ScaleRule("cpu", std::nullopt, Below(0.3, Duration::Minutes(10))));
  };
  RecordingSink sink;
  GroupEvaluator before(make(), {});
  for (int64_t t = 0; t <= 360; t += 60) before.Eval(q, sink, At(t));  // 6 m pending
  const std::vector<ActiveRecord> saved = before.Save();
  REQUIRE(saved.size() == 1);
  CHECK(saved[0].kind == "scale_down");

  SECTION("within the outage tolerance the remaining 4 m are kept") {
    GroupEvaluator after(make(), {});
    after.Restore(saved, At(360), At(420), Duration::Hours(1));  // down 1 m
    CHECK(after.Eval(q, sink, At(420)).votes[0].down_since == At(60));
    CHECK(after.Eval(q, sink, At(659)).votes[0].kind == ScaleVote::Kind::kHold);
    CHECK(after.Eval(q, sink, At(660)).votes[0].kind == ScaleVote::Kind::kDown);
  }
  SECTION("past the outage tolerance the state is forgotten") {
    GroupEvaluator after(make(), {});
    after.Restore(saved, At(360), At(360 + 7200), Duration::Hours(1));
    CHECK(after.Eval(q, sink, At(7560)).votes[0].down_since == At(7560));
  }
}

namespace {

// Time moves only when a query says so, so timings are exact.
class ScriptedStopwatch : public Stopwatch {
 public:
  double Seconds() override { return now; }
  double now = 100;
};

}  // namespace

TEST_CASE("timing: each rule's evaluation time and start, the group's total, from the caller") {
  ScriptedStopwatch clock;
  FakeQuerier q;
  q.Set("Slow", [&](Time) {
    clock.now += 0.25;
    return OneSeries(Labels::FromPairs({{"job", "api"}}), 1);
  });
  q.Set("Broken", [&](Time) -> Result<amas::promql::Value> {
    clock.now += 0.5;
    return Status::Unavailable("connection refused");
  });
  Group g;
  g.name = "g";
  g.rules = {AlertRule("Slow", Duration()), AlertRule("Broken", Duration())};
  GroupEvaluator ev(std::move(g), {});
  RecordingSink sink;

  GroupResult r = ev.Eval(q, sink, At(10), &clock);
  CHECK(r.evaluation_seconds == 0.75);
  CHECK(r.failures == 1);
  const auto& h = ev.health();
  CHECK(h[0].evaluation_seconds == 0.25);
  CHECK(h[0].last_evaluation == At(10));
  CHECK(h[1].evaluation_seconds == 0.5);  // a failing rule is timed too
  CHECK(h[1].last_evaluation == At(10) + Duration::Millis(250));
  CHECK(h[1].last_error == "connection refused");

  // Without a stopwatch nothing is measured and every rule starts at t.
  GroupResult untimed = ev.Eval(q, sink, At(20));
  CHECK(untimed.evaluation_seconds == 0);
  CHECK(ev.health()[0].evaluation_seconds == 0);
  CHECK(ev.health()[1].last_evaluation == At(20));
}

TEST_CASE("alert: a failed query keeps the alert and writes nothing, not even stale markers") {
  bool fail = false, present = true;
  FakeQuerier q;
  q.Set("Down", [&](Time) -> Result<amas::promql::Value> {
    if (fail) return Status::Unavailable("prometheus: connection refused");
    return present ? OneSeries(Labels::FromPairs({{"job", "api"}}), 1) : Empty();
  });
  GroupEvaluator ev(OneRuleGroup(AlertRule("Down", Duration())), {});
  RecordingSink sink;
  ev.Eval(q, sink, At(0));
  REQUIRE(ev.Alerts(0).size() == 1);
  CHECK(ev.Alerts(0)[0].state == ActiveState::kFiring);

  fail = true;  // as Prometheus's Group.Eval: return before the stale-series step
  GroupResult r = ev.Eval(q, sink, At(15));
  CHECK(r.failures == 1);
  CHECK(sink.At(At(15).unix_millis()).empty());
  REQUIRE(ev.Alerts(0).size() == 1);
  CHECK(ev.Alerts(0)[0].state == ActiveState::kFiring);
  CHECK(ev.health()[0].last_error == "prometheus: connection refused");

  fail = false;  // back, and the condition is gone: now the series end
  present = false;
  ev.Eval(q, sink, At(30));
  auto at30 = sink.At(At(30).unix_millis());
  REQUIRE(at30.size() == 2);  // ALERTS and ALERTS_FOR_STATE of the last good round
  for (const auto& w : at30) CHECK(amas::core::IsStaleNaN(w.value));
  CHECK(ev.health()[0].health == "ok");
}
