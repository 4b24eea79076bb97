// The Scaler end to end in memory: rules from YAML text, series appended to a
// store at chosen times, Tick at explicit times, dry_run actuators drained so
// every action completes before the next round.
#include <catch2/catch.hpp>
#include <cmath>

#include "app/scaler.h"

namespace amas::app {
namespace {

using core::Duration;
using core::Time;

class ManualClock : public core::Clock {
 public:
  Time Now() const override { return now; }
  Time now = Time::FromUnixSeconds(1000);
};

const Time kT0 = Time::FromUnixSeconds(1000);

Time At(int64_t seconds_after_t0) { return kT0 + Duration::Seconds(seconds_after_t0); }

std::vector<ScaleTargetConfig> Targets(std::string_view yaml) {
  core::Result<rules::YamlNode> root = rules::YamlNode::Parse(yaml, "targets.yaml");
  REQUIRE(root.ok());
  core::Result<std::vector<ScaleTargetConfig>> t = ReadScaleTargets(*root);
  INFO(t.status().message());
  REQUIRE(t.ok());
  return std::move(*t);
}

rules::RuleSet Rules(std::string_view yaml) {
  core::Result<rules::RuleSet> r = rules::ParseRuleFile(yaml, "test.rules.yml");
  INFO(r.status().message());
  REQUIRE(r.ok());
  return std::move(*r);
}

void Put(store::Store* s, std::string_view name, Time t, double v) {
  store::Appender app = s->NewAppender();
  app.Append(app.GetOrCreate(core::Labels::FromPairs({{"__name__", name}})), t.unix_millis(), v);
  app.Commit();
}

// The AMAS backend target: 60 s window and +50 %/min up, 300 s window and
// -10 %/min down.
constexpr std::string_view kBackend = R"(
- name: backend
  min_replicas: 1
  max_replicas: 20
  behavior:
    scaleUp:
      stabilizationWindowSeconds: 60
      policies:
        - {type: Percent, value: 50, periodSeconds: 60}
    scaleDown:
      stabilizationWindowSeconds: 300
      policies:
        - {type: Percent, value: 10, periodSeconds: 60}
  actuator:
    kind: dry_run
    initial_replicas: 4
)";

constexpr std::string_view kTwoRules = R"(groups:
  - name: backend
    interval: 15s
    rules:
      - name: load
        target: backend
        expr: sum(load)
        scale_up: {above: 0.7}
        scale_down: {below: 0.3}
      - name: queue
        target: backend
        expr: sum(queue)
        scale_up: {above: 100}
        scale_down: {below: 10}
)";

struct World {
  store::Store store{store::StoreOptions{Duration()}};
  ManualClock clock;
  std::unique_ptr<Scaler> scaler;

  World(std::string_view targets, std::string_view rules, std::string_view extra_targets = "") {
    ScalerOptions o;
    o.evaluation_interval = Duration::Seconds(15);
    o.action_workers = 2;
    std::string all(targets);
    all += extra_targets;
    auto s = Scaler::Create(Targets(all), Rules(rules), o, {}, &store, &clock);
    INFO(s.status().message());
    REQUIRE(s.ok());
    scaler = std::move(*s);
  }
  // One round at t (seconds after t0), its actions finished.
  void Tick(int64_t t) {
    clock.now = At(t);
    scaler->Tick(At(t));
    scaler->Drain();
  }
  TargetReport Report(const std::string& name) const {
    for (TargetReport& r : scaler->Reports()) {
      if (r.name == name) return r;
    }
    FAIL("no report for " << name);
    return {};
  }
  int32_t Desired(const std::string& name = "backend") const {
    TargetReport r = Report(name);
    REQUIRE(r.last);
    return r.last->desired;
  }
  std::optional<int32_t> Observed(const std::string& name = "backend") const {
    return Report(name).state.observed;
  }
};

const RuleReport* FindRule(const TargetReport& r, std::string_view rule) {
  for (const RuleReport& rr : r.rules) {
    if (rr.vote.rule == rule) return &rr;
  }
  return nullptr;
}

TEST_CASE("every scale rule's vote appears once in its target's report", "[unit]") {
  World w(kBackend, kTwoRules);
  Put(&w.store, "load", At(0), 0.9);
  Put(&w.store, "queue", At(0), 50);
  w.Tick(0);
  const TargetReport r = w.Report("backend");
  CHECK(r.actuator == "dry_run");
  CHECK(r.min_replicas == 1);
  CHECK(r.max_replicas == 20);
  REQUIRE(r.rules.size() == 2);
  const RuleReport* load = FindRule(r, "load");
  const RuleReport* queue = FindRule(r, "queue");
  REQUIRE(load != nullptr);
  REQUIRE(queue != nullptr);
  CHECK(load->group == "backend");
  CHECK(load->vote.kind == rules::ScaleVote::Kind::kUp);
  CHECK(load->vote.value == 0.9);
  CHECK(load->threshold_up == "above 0.7");
  CHECK(load->threshold_down == "below 0.3");
  CHECK(queue->vote.kind == rules::ScaleVote::Kind::kHold);  // the dead band
  CHECK(queue->vote.value == 50);
  REQUIRE(r.current);
  CHECK(*r.current == 4);

  // The next round replaces the votes, it does not add to them.
  Put(&w.store, "load", At(15), 0.5);
  Put(&w.store, "queue", At(15), 50);
  w.Tick(15);
  const TargetReport r2 = w.Report("backend");
  REQUIRE(r2.rules.size() == 2);
  CHECK(FindRule(r2, "load")->vote.kind == rules::ScaleVote::Kind::kHold);
  CHECK(r2.recent.size() == 2);
}

TEST_CASE("a sustained up vote grows 4 -> 6 after the 60 s window, +50 % per minute", "[unit]") {
  World w(kBackend, kTwoRules);
  std::vector<std::pair<int64_t, int32_t>> changes;  // (t, observed count) whenever it moves
  int32_t last = 4;
  for (int64_t t = 0; t <= 180; t += 15) {
    Put(&w.store, "load", At(t), 0.9);
    Put(&w.store, "queue", At(t), 50);
    w.Tick(t);
    const std::optional<int32_t> now = w.Observed();
    REQUIRE(now);
    if (*now != last) changes.emplace_back(t, *now);
    last = *now;
  }
  // Nothing moves until the up recommendation has held for the whole
  // window; then one Percent 50 step per 60 s period: 4 -> 6 -> 9 -> 14.
  REQUIRE(changes.size() >= 3);
  CHECK(changes[0].second == 6);
  CHECK(changes[0].first == 60);
  CHECK(changes[1].second == 9);
  CHECK(changes[1].first == 120);
  CHECK(changes[2].second == 14);
  CHECK(changes[2].first == 180);
  const TargetReport r = w.Report("backend");
  REQUIRE(r.state.last_action);
  CHECK(r.state.last_action->result == act::ActionResult::kApplied);
  CHECK(r.state.last_action->from == 9);
  CHECK(r.state.last_action->to == 14);
}

TEST_CASE("the target shrinks only when every rule votes down", "[unit]") {
  World w(kBackend, kTwoRules);
  // 10 minutes: load says down, the queue sits in its dead band.
  for (int64_t t = 0; t <= 600; t += 15) {
    Put(&w.store, "load", At(t), 0.1);
    Put(&w.store, "queue", At(t), 50);
    w.Tick(t);
    REQUIRE(w.Desired() == 4);
  }
  CHECK(w.Observed() == 4);
  // Now both agree: after the 300 s window, -10 % truncated: 4 -> 3.
  int64_t shrank_at = -1;
  for (int64_t t = 615; t <= 1200 && shrank_at < 0; t += 15) {
    Put(&w.store, "load", At(t), 0.1);
    Put(&w.store, "queue", At(t), 5);
    w.Tick(t);
    if (w.Observed() != 4) shrank_at = t;
  }
  CHECK(w.Observed() == 3);
  // The down window is (now - 300 s, now]: the last hold recommendation (at
  // 600) leaves it at 900, after 20 unanimous rounds.
  CHECK(shrank_at == 900);
}

TEST_CASE("a rule without data never lets the target shrink", "[unit]") {
  World w(kBackend, kTwoRules);
  for (int64_t t = 0; t <= 900; t += 15) {
    Put(&w.store, "load", At(t), 0.1);  // down; `queue` has no series at all
    w.Tick(t);
    REQUIRE(w.Desired() == 4);
  }
  const TargetReport r = w.Report("backend");
  CHECK(r.last->limit == "missing_data");
  REQUIRE(FindRule(r, "queue") != nullptr);
  CHECK(FindRule(r, "queue")->vote.kind == rules::ScaleVote::Kind::kNoData);
  CHECK(FindRule(r, "load")->vote.kind == rules::ScaleVote::Kind::kDown);
  CHECK(w.Observed() == 4);
}

TEST_CASE("current: reads the count from a PromQL expression", "[unit]") {
  World w(R"(
- name: web
  max_replicas: 30
  current: sum(kube_replicas)
  behavior:
    scaleUp:
      stabilizationWindowSeconds: 0
  actuator:
    kind: dry_run
    initial_replicas: 2
)",
          R"(groups:
  - name: web
    interval: 15s
    rules:
      - name: load
        target: web
        expr: sum(load)
        scale_up: {above: 0.7}
        scale_down: {below: 0.3}
)");
  Put(&w.store, "load", At(0), 0.5);
  w.Tick(0);  // no kube_replicas yet
  TargetReport r = w.Report("web");
  CHECK_FALSE(r.current);
  CHECK(r.current_error.starts_with("current: "));
  CHECK_FALSE(r.last);  // no decision without a count

  Put(&w.store, "kube_replicas", At(15), 7);
  Put(&w.store, "load", At(15), 0.5);
  w.Tick(15);
  r = w.Report("web");
  REQUIRE(r.current);
  CHECK(*r.current == 7);  // the expression, not the actuator's 2
  CHECK(r.current_error.empty());
  REQUIRE(r.last);
  CHECK(r.last->current == 7);
  CHECK(r.last->desired == 7);  // the rule holds
}

TEST_CASE("a closed ready_when gate blocks the action", "[unit]") {
  const std::string gated = std::string(kBackend) + "  ready_when: max(lag) < 10\n";
  World w(gated, kTwoRules);
  for (int64_t t = 0; t <= 120; t += 15) {
    Put(&w.store, "load", At(t), 0.9);
    Put(&w.store, "queue", At(t), 50);
    Put(&w.store, "lag", At(t), 14.2);
    w.Tick(t);
  }
  TargetReport r = w.Report("backend");
  CHECK(r.last->desired > 4);  // decided...
  CHECK(w.Observed() == 4);    // ...but not carried out
  CHECK(r.gate == "ready_when: no series (not met)");
  REQUIRE(r.state.last_action);
  CHECK(r.state.last_action->result == act::ActionResult::kBlocked);

  // The replicas catch up: a lag of 0 passes the comparison (as the value 0)
  // and opens the gate, as any sample left by the filter does.
  Put(&w.store, "load", At(135), 0.9);
  Put(&w.store, "queue", At(135), 50);
  Put(&w.store, "lag", At(135), 0);
  w.Tick(135);
  r = w.Report("backend");
  CHECK(r.gate == "ready");
  CHECK(w.Observed() > 4);
}

TEST_CASE("ready_when: no data never opens the gate; a bool scalar does when non-zero", "[unit]") {
  World w(std::string(kBackend) + "  ready_when: max(lag)\n", kTwoRules);
  Put(&w.store, "load", At(0), 0.9);
  Put(&w.store, "queue", At(0), 50);
  Put(&w.store, "lag", At(0), std::nan(""));
  for (int64_t t = 0; t <= 90; t += 15) {
    Put(&w.store, "load", At(t), 0.9);
    Put(&w.store, "queue", At(t), 50);
    w.Tick(t);
  }
  CHECK(w.Report("backend").gate == "ready_when: NaN (no data)");
  CHECK(w.Observed() == 4);

  World s(std::string(kBackend) + "  ready_when: scalar(max(ok))\n", kTwoRules);
  for (int64_t t = 0; t <= 90; t += 15) {
    Put(&s.store, "load", At(t), 0.9);
    Put(&s.store, "queue", At(t), 50);
    Put(&s.store, "ok", At(t), t < 90 ? 0 : 1);
    s.Tick(t);
    if (t < 90) CHECK(s.Observed() == 4);
  }
  CHECK(s.Report("backend").gate == "ready");
  CHECK(s.Observed() == 6);
}

TEST_CASE("saved state keeps the scale-down window across a restart", "[unit]") {
  // Rounds from `from` to `to` with every rule voting down (queue 5) or the
  // queue holding (50); returns when the target first shrank, or -1.
  auto run = [](World& w, int64_t from, int64_t to, double queue) {
    for (int64_t t = from; t <= to; t += 15) {
      Put(&w.store, "load", At(t), 0.1);
      Put(&w.store, "queue", At(t), queue);
      w.Tick(t);
      if (w.Observed() != 4) return t;
    }
    return int64_t{-1};
  };
  World before(kBackend, kTwoRules);
  REQUIRE(run(before, 0, 120, 50) == -1);  // recommendations of 4 at 0..120
  const std::string saved = before.scaler->SaveState(At(120));
  CHECK(saved.find("\"recommendations\":[[" + std::to_string(At(0).unix_millis()) + ",4]") !=
        std::string::npos);

  // Restarted at 300 with every rule voting down: the saved recommendations
  // hold the count until the one at 120 leaves the window, at 420.
  World restored(kBackend, kTwoRules);
  REQUIRE(restored.scaler->RestoreState(saved, At(300), Duration::Hours(1)).ok());
  CHECK(run(restored, 300, 700, 5) == 420);
  CHECK(restored.Observed() == 3);

  // Without the state the window starts over at the first round.
  World forgot(kBackend, kTwoRules);
  CHECK(run(forgot, 300, 700, 5) == 600);
}

TEST_CASE("saved state keeps a pending alert's start across a restart", "[unit]") {
  constexpr std::string_view kAlert = R"(groups:
  - name: backend
    interval: 15s
    rules:
      - alert: HighLoad
        expr: sum(load) > 0.8
        for: 5m
)";
  auto state_at = [](World& w, int64_t t) {
    Put(&w.store, "load", At(t), 0.9);
    w.Tick(t);
    const std::vector<RuleGroupReport> g = w.scaler->RuleGroups();
    REQUIRE(g.size() == 1);
    REQUIRE(g[0].alerts.at(0).size() == 1);
    return g[0].alerts[0][0];
  };
  World before(kBackend, kAlert);
  for (int64_t t = 0; t <= 240; t += 15)
    CHECK(state_at(before, t).state == rules::ActiveState::kPending);
  const std::string saved = before.scaler->SaveState(At(240));

  // Down 15 s: the 4 minutes pending still count, the downtime does not (as
  // Prometheus's for-state restore), so it fires 5 minutes after 0 + 15 s.
  World restored(kBackend, kAlert);
  REQUIRE(restored.scaler->RestoreState(saved, At(255), Duration::Hours(1)).ok());
  const rules::Alert a = state_at(restored, 255);
  CHECK(a.active_at == At(15));
  CHECK(a.state == rules::ActiveState::kPending);
  CHECK(state_at(restored, 315).state == rules::ActiveState::kFiring);

  // A restart after longer than the outage tolerance starts over.
  World late(kBackend, kAlert);
  REQUIRE(late.scaler->RestoreState(saved, At(255), Duration::Seconds(10)).ok());
  CHECK(state_at(late, 255).active_at == At(255));

  World forgot(kBackend, kAlert);
  CHECK(state_at(forgot, 255).state == rules::ActiveState::kPending);
  CHECK(state_at(forgot, 315).state == rules::ActiveState::kPending);
}

TEST_CASE("a corrupt state document is rejected and changes nothing", "[unit]") {
  World w(kBackend, kTwoRules, R"(- name: other
  max_replicas: 5
  actuator: {kind: dry_run}
)");
  Put(&w.store, "load", At(0), 0.5);
  Put(&w.store, "queue", At(0), 50);
  w.Tick(0);
  const std::string before = w.scaler->SaveState(At(0));
  const int64_t t0 = At(0).unix_millis();
  const std::vector<std::string> corrupt = {
      "",
      "{",
      "[]",
      R"({"version":2,"saved_at_ms":1})",
      R"({"version":1})",
      R"({"version":1,"saved_at_ms":1,"targets":[]})",
      R"({"version":1,"saved_at_ms":1,"rules":[{"group":"g"}]})",
      // The first target is fine, the second is not: nothing is applied.
      R"({"version":1,"saved_at_ms":1,"targets":{"backend":{"recommendations":[[)" +
          std::to_string(t0) + R"(,17]]},"other":{"recommendations":[["x",1]]}}})",
      R"({"version":1,"saved_at_ms":1,"targets":{"backend":{"scale_up_events":[[1,2]]}}})",
      R"({"version":1,"saved_at_ms":1,"targets":{"backend":7}})",
      R"({"version":1,"saved_at_ms":1,"rules":[{"group":"g","rule":"r","kind":"alert",)"
      R"("labels":{},"state":"sleeping"}]})",
  };
  for (const std::string& doc : corrupt) {
    INFO(doc);
    const core::Status s = w.scaler->RestoreState(doc, At(10), Duration::Hours(1));
    CHECK(s.IsInvalidArgument());
    CHECK(s.message().starts_with("state document: "));
    CHECK(w.scaler->SaveState(At(0)) == before);
  }
}

TEST_CASE("recorded series are visible to later rules of the group; alerts are reported",
          "[unit]") {
  World w(kBackend, R"(groups:
  - name: backend
    interval: 15s
    rules:
      - record: job:load:sum
        expr: sum(load)
      - alert: HighLoad
        expr: job:load:sum > 0.8
        labels: {severity: page}
        annotations: {summary: "load is {{ $value }}"}
      - name: load
        target: backend
        expr: job:load:sum
        scale_up: {above: 0.7}
        scale_down: {below: 0.3}
)");
  Put(&w.store, "load", At(0), 0.9);
  w.Tick(0);
  const TargetReport r = w.Report("backend");
  REQUIRE(r.rules.size() == 1);
  CHECK(r.rules[0].vote.kind == rules::ScaleVote::Kind::kUp);
  CHECK(r.rules[0].vote.value == 0.9);

  const std::vector<RuleGroupReport> groups = w.scaler->RuleGroups();
  REQUIRE(groups.size() == 1);
  const RuleGroupReport& g = groups[0];
  CHECK(g.group.name == "backend");
  CHECK(g.interval == Duration::Seconds(15));
  CHECK(g.last_evaluation == At(0));
  REQUIRE(g.group.rules.size() == 3);
  REQUIRE(g.health.size() == 3);
  for (const rules::RuleHealth& h : g.health) CHECK(h.health == "ok");
  REQUIRE(g.alerts.size() == 3);
  CHECK(g.alerts[0].empty());
  REQUIRE(g.alerts[1].size() == 1);
  const rules::Alert& a = g.alerts[1][0];
  CHECK(a.state == rules::ActiveState::kFiring);  // no `for`
  CHECK(a.labels.ToString() == "{alertname=\"HighLoad\", severity=\"page\"}");
  CHECK(a.value == 0.9);
  REQUIRE(a.annotations.size() == 1);
  CHECK(a.annotations[0].second == "load is 0.9");

  // The recording is in the store for anyone to query.
  const auto stats = w.scaler->GroupStats();
  CHECK(stats.at("backend").iterations == 1);
  CHECK(stats.at("backend").failures == 0);
}

}  // namespace
}  // namespace amas::app
