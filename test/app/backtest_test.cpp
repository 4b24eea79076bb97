// `amas-scaler backtest`: the recorded-samples loader (formats, positions of
// errors) and the replay of testdata/backtest, whose load signal goes up at
// 1m30s, back into the dead band at 4m30s and down at 7m30s. The expected
// timeline follows from the fixture's behavior by hand (see each case).
#include <rapidjson/document.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

#include "app/backtest.h"
#include "app/demo_platform.h"

namespace amas::app {
namespace {

using core::Duration;
using core::Time;

const std::string kDir = std::string(AMAS_SOURCE_DIR) + "/test/app/testdata/backtest";
const Time kT0 = Time::FromUnixSeconds(1767225600);  // 2026-01-01T00:00:00Z

Time At(int64_t s) { return kT0 + Duration::Seconds(s); }

struct Loaded {
  store::Store store{store::StoreOptions{Duration()}};
  core::Result<RecordedSpan> span = core::Status::Internal("not loaded");
  explicit Loaded(std::string_view text, const std::string& file = "rec.prom") {
    span = LoadRecordedSamples(text, file, &store);
  }
};

Config FixtureConfig() {
  core::Result<Config> c = LoadConfigFile(kDir + "/amas-scaler.yml");
  INFO(c.status().message());
  REQUIRE(c.ok());
  return std::move(*c);
}

std::string ReadAll(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

struct Step {
  int64_t at;  // seconds after kT0
  int32_t from, to;
  friend bool operator==(const Step&, const Step&) = default;
};

std::vector<Step> Steps(const BacktestResult& r) {
  std::vector<Step> out;
  for (const BacktestChange& c : r.timeline) {
    out.push_back({(c.at - kT0).millis() / 1000, c.from, c.to});
  }
  return out;
}

}  // namespace
}  // namespace amas::app

namespace Catch {
template <>
struct StringMaker<amas::app::Step> {
  static std::string convert(const amas::app::Step& s) {
    return "{" + std::to_string(s.at) + "s " + std::to_string(s.from) + "->" +
           std::to_string(s.to) + "}";
  }
};
}  // namespace Catch

namespace amas::app {
namespace {

TEST_CASE("recorded samples: federate captures appended one after another", "[unit]") {
  Loaded l(
      "# TYPE up gauge\nup{job=\"a\"} 1 1000\n"
      "# TYPE up gauge\nup{job=\"a\"} 1 1000\nup{job=\"a\"} 0 16000\n"
      "\n# HELP x X.\nx 5 2000\n");
  INFO(l.span.status().message());
  REQUIRE(l.span.ok());
  CHECK(l.span->samples == 3);
  CHECK(l.span->repeated == 1);  // the same sample in two captures
  CHECK(l.span->series == 2);
  CHECK(l.span->first == Time::FromUnixMillis(1000));
  CHECK(l.span->last == Time::FromUnixMillis(16000));
}

TEST_CASE("recorded samples: promtool tsdb dump lines and OpenMetrics", "[unit]") {
  Loaded dump(
      "{__name__=\"up\", instance=\"h:1\", job=\"a\"} 1 1000\n"
      "{__name__=\"up\", instance=\"h:1\", job=\"a\"} 0 2000\n");
  INFO(dump.span.status().message());
  REQUIRE(dump.span.ok());
  CHECK(dump.span->samples == 2);
  CHECK(dump.span->series == 1);

  // OpenMetrics timestamps are seconds.
  Loaded om("# TYPE up gauge\nup 1 1.5\nup 0 3\n# EOF\n");
  INFO(om.span.status().message());
  REQUIRE(om.span.ok());
  CHECK(om.span->first == Time::FromUnixMillis(1500));
  CHECK(om.span->last == Time::FromUnixMillis(3000));
}

TEST_CASE("recorded samples: errors name file:line:col", "[unit]") {
  CHECK(Loaded("up 1 1000\nup{job=\"a\" 2 2000\n")
            .span.status()
            .message()
            .starts_with("rec.prom:2:"));
  CHECK(Loaded("# c\nup 1\n").span.status().message() ==
        "rec.prom:2:5: sample without a timestamp (a backtest needs recorded samples, e.g. "
        "/federate output)");
  CHECK(Loaded("up 1 2000\nup 2 1000\n").span.status().message() ==
        "rec.prom:2:6: sample at 1970-01-01T00:00:01Z is not after the previous one of up (at "
        "1970-01-01T00:00:02Z): each series' samples must come in time order");
  CHECK(Loaded("up 1 2000\nup 2 2000\n")
            .span.status()
            .message()
            .starts_with("rec.prom:2:6: sample at 1970-01-01T00:00:02Z is not after"));
  // Columns count in the line as written, also in the dump form.
  const std::string dump = Loaded("{__name__=\"up\", 1x=\"a\"} 1 1\n").span.status().message();
  CHECK(dump.starts_with("rec.prom:1:17: "));
}

TEST_CASE("replay: the threshold rule drives web up and down at the behavior's pace", "[unit]") {
  Loaded l(ReadAll(kDir + "/samples.prom"), "samples.prom");
  INFO(l.span.status().message());
  REQUIRE(l.span.ok());
  CHECK(l.span->first == kT0);
  CHECK(l.span->last == At(900));
  CHECK(l.span->repeated == 1);

  ReplayOptions o;
  o.start = l.span->first;
  o.end = l.span->last;
  core::Result<BacktestResult> r = Replay(FixtureConfig(), &l.store, o);
  INFO(r.status().message());
  REQUIRE(r.ok());
  CHECK(r->rounds == 31);  // every 30 s from 0 through 900 s
  // Starts at 4 (the recorded `current:` at 0 s). Up votes from 90 s, but
  // the 60 s up window still holds the 60 s hold at 90 s: the first step is
  // at 120 s, +2 pods per 60 s: 6, 8, 10 (max). Down votes from 450 s; the
  // 120 s down window keeps 10 until 540 s, then -1 pod a minute to min 3.
  const std::vector<Step> want = {{120, 4, 6}, {180, 6, 8}, {240, 8, 10}, {540, 10, 9},
                                  {600, 9, 8}, {660, 8, 7}, {720, 7, 6},  {780, 6, 5},
                                  {840, 5, 4}, {900, 4, 3}};
  CHECK(Steps(*r) == want);
  for (const BacktestChange& c : r->timeline) {
    CHECK(c.target == "web");
    CHECK_FALSE(c.reason.empty());
    CHECK_FALSE(c.why.empty());
  }
  CHECK(r->timeline[0].reason.find("rate_policy") != std::string::npos);
  REQUIRE(r->targets.size() == 1);
  const BacktestTarget& t = r->targets[0];
  CHECK(t.name == "web");
  CHECK(t.changes == 10);
  CHECK(t.initial == 4);
  CHECK(t.final == 3);
  CHECK(t.min_desired == 3);
  CHECK(t.max_desired == 10);
  CHECK(t.first_at_max == At(240));
  CHECK(t.time_at_max == Duration::Minutes(5));  // 240 s until 540 s
  CHECK(r->rule_failures.empty());
}

TEST_CASE("replay: --step replaces every interval, windows are judged at the new rounds",
          "[unit]") {
  Loaded l(ReadAll(kDir + "/samples.prom"), "samples.prom");
  REQUIRE(l.span.ok());
  ReplayOptions o;
  o.start = kT0;
  o.end = At(900);
  o.step = Duration::Minutes(1);
  core::Result<BacktestResult> r = Replay(FixtureConfig(), &l.store, o);
  INFO(r.status().message());
  REQUIRE(r.ok());
  CHECK(r->rounds == 16);
  // The first up vote is seen at 120 s with nothing else in its window; the
  // first down vote at 480 s still has 420 s's 10 in its window.
  const std::vector<Step> want = {{120, 4, 6}, {180, 6, 8}, {240, 8, 10}, {540, 10, 9},
                                  {600, 9, 8}, {660, 8, 7}, {720, 7, 6},  {780, 6, 5},
                                  {840, 5, 4}, {900, 4, 3}};
  CHECK(Steps(*r) == want);
}

TEST_CASE("replay: a window from the middle starts from the count recorded then", "[unit]") {
  Loaded l(ReadAll(kDir + "/samples.prom"), "samples.prom");
  REQUIRE(l.span.ok());
  ReplayOptions o;
  o.start = At(300);  // load in the dead band; `current:` has no sample within 5m: min 3
  o.end = At(600);
  core::Result<BacktestResult> r = Replay(FixtureConfig(), &l.store, o);
  INFO(r.status().message());
  REQUIRE(r.ok());
  CHECK(r->rounds == 11);
  CHECK(Steps(*r).empty());  // 3 at min, down votes cannot go lower
  REQUIRE(r->targets.size() == 1);
  CHECK(r->targets[0].initial == 3);
  CHECK(r->targets[0].changes == 0);
}

TEST_CASE("replay: bad ranges and unknown targets are errors", "[unit]") {
  store::Store s{store::StoreOptions{Duration()}};
  ReplayOptions o;
  o.start = At(10);
  o.end = At(0);
  CHECK(Replay(FixtureConfig(), &s, o).status().message() ==
        "--end (2026-01-01T00:00:00Z) is before --start (2026-01-01T00:00:10Z)");
  o.end = At(10);
  o.targets = {"web", "api"};
  CHECK(Replay(FixtureConfig(), &s, o).status().message() ==
        "unknown scale target \"api\" (the config has: web)");
}

TEST_CASE("backtest command: text timeline, summary and JSON", "[unit]") {
  BacktestFlags f;
  f.config_file = kDir + "/amas-scaler.yml";
  f.source = kDir + "/samples.prom";
  std::ostringstream out, err;
  REQUIRE(Backtest(f, out, err) == 0);
  CHECK(err.str().empty());
  const std::string text = out.str();
  CHECK(text.starts_with(
      "Replaying 2026-01-01T00:00:00Z to 2026-01-01T00:15:00Z: 31 rounds, 1 scale target,"));
  CHECK(text.find("\n2026-01-01T00:02:00Z web 4 -> 6 ") != std::string::npos);
  CHECK(text.find("\n2026-01-01T00:15:00Z web 4 -> 3 ") != std::string::npos);
  CHECK(text.find("\nSummary:\n  web: 10 changes, desired 3..10 (start 4, end 3), at 10 for 5m "
                  "from 2026-01-01T00:04:00Z\n") != std::string::npos);

  f.output = "json";
  f.start = "2026-01-01T00:01:00Z";
  f.end = "1767226200";  // 00:10:00
  std::ostringstream json;
  REQUIRE(Backtest(f, json, err) == 0);
  rapidjson::Document doc;
  doc.Parse(json.str().c_str());
  REQUIRE_FALSE(doc.HasParseError());
  CHECK(std::string(doc["start"].GetString()) == "2026-01-01T00:01:00Z");
  CHECK(doc["rounds"].GetUint64() == 19);
  REQUIRE(doc["timeline"].Size() == 5);  // 120, 180, 240, 540, 600 s
  CHECK(std::string(doc["timeline"][0]["time"].GetString()) == "2026-01-01T00:02:00Z");
  CHECK(doc["timeline"][4]["to"].GetInt() == 8);
  CHECK(doc["targets"][0]["seconds_at_max"].GetDouble() == 300);
}

// The demo platform recorded as /federate would have (each render stamped
// with its time), replayed through the policy amas-scaler ships with.
TEST_CASE("replay: the AMAS policy over the demo platform's load cycle", "[unit]") {
  const Duration period = Duration::Minutes(20);
  const Time start = Time::FromUnixSeconds(1767225600);  // a multiple of the period: quiet
  DemoPlatform demo(start, period);
  std::string recorded;
  for (Time t = start; t <= start + period * 2; t = t + Duration::Seconds(15)) {
    std::istringstream render(demo.Render(t));
    for (std::string line; std::getline(render, line);) {
      recorded += line;
      if (!line.empty() && line[0] != '#') recorded += " " + std::to_string(t.unix_millis());
      recorded += "\n";
    }
  }
  Loaded l(recorded, "demo.prom");
  INFO(l.span.status().message());
  REQUIRE(l.span.ok());
  core::Result<Config> config =
      LoadConfigFile(std::string(AMAS_SOURCE_DIR) + "/rules/amas-scaler.yml");
  INFO(config.status().message());
  REQUIRE(config.ok());
  ReplayOptions o;
  o.start = start;
  o.end = start + period * 2;
  core::Result<BacktestResult> r = Replay(*config, &l.store, o);
  INFO(r.status().message());
  REQUIRE(r.ok());
  REQUIRE(r->targets.size() == 4);
  const BacktestTarget& backend = r->targets[0];
  const BacktestTarget& celery = r->targets[1];
  REQUIRE(backend.name == "backend");
  REQUIRE(celery.name == "celery-workers");
  // The peak grows the backend; its scale-down needs CPU below 30 % for
  // 10m and then a 300 s window, longer than the demo's quiet part, so it
  // does not shrink within these two cycles.
  CHECK(backend.initial == 3);
  CHECK(backend.max_desired > 3);
  CHECK(backend.max_desired <= 20);
  // The Celery queue rule is proportional: the workers follow it both ways.
  CHECK(celery.initial == 10);
  CHECK(celery.max_desired > 10);
  CHECK(celery.min_desired < celery.max_desired);
  bool celery_shrank = false;
  for (const BacktestChange& c : r->timeline) {
    celery_shrank |= c.target == "celery-workers" && c.to < c.from;
  }
  CHECK(celery_shrank);
  // The strategy's pace: +50 % a minute up, -10 % a minute down (truncated).
  for (const BacktestChange& c : r->timeline) {
    INFO(c.at.ToRFC3339() << " " << c.from << " -> " << c.to << " " << c.reason);
    if (c.to > c.from) CHECK(c.to <= (c.from * 3 + 1) / 2);
    if (c.to < c.from) CHECK(c.to >= c.from * 9 / 10);
  }
}

TEST_CASE("backtest command: exit codes", "[unit]") {
  BacktestFlags f;
  f.config_file = kDir + "/amas-scaler.yml";
  std::ostringstream out, err;
  CHECK(Backtest(f, out, err) == 2);  // no --source
  f.source = kDir + "/missing.prom";
  CHECK(Backtest(f, out, err) == 1);
  CHECK(err.str().find("missing.prom: cannot read the file") != std::string::npos);
  f.source = kDir + "/samples.prom";
  f.step = "fast";
  CHECK(Backtest(f, out, err) == 1);
  f.step = "";
  f.targets = {"nope"};
  err.str("");
  CHECK(Backtest(f, out, err) == 1);
  CHECK(err.str() == "backtest: unknown scale target \"nope\" (the config has: web)\n");
  f.targets = {};
  f.source = "http://127.0.0.1:1";
  err.str("");
  CHECK(Backtest(f, out, err) == 2);
  CHECK(err.str() == "backtest: --start and --end are required with a URL source\n");
}

}  // namespace
}  // namespace amas::app
