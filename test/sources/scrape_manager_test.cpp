// ScrapeManager against local fixture servers: federation, failures, staleness,
// limits, labels. Time comes from a manual clock; every scrape is ScrapeOnce.
#include <catch2/catch.hpp>

#include <chrono>
#include <cmath>
#include <thread>

#include "expo/expo.h"
#include "scrape_test_util.h"
#include "testing/testing.h"

namespace amas::sources {
namespace {

using testing::CannedServer;
using testing::FixtureResponse;
using testing::HealthOf;
using testing::Job;
using testing::ManualClock;
using testing::SamplesOf;

constexpr int64_t kT0 = 1'795'799'480'000;  // just after the federate sample's timestamps

core::Labels L(std::initializer_list<std::pair<std::string_view, std::string_view>> pairs) {
  return core::Labels::FromPairs(pairs);
}

std::unique_ptr<ScrapeManager> Make(std::vector<ScrapeConfig> configs, store::Store* store,
                                    const core::Clock* clock) {
  core::Result<std::unique_ptr<ScrapeManager>> m =
      ScrapeManager::Create(std::move(configs), store, clock);
  REQUIRE(m.ok());
  return std::move(m).value();
}

double UpOf(const store::Store& s, const std::string& job, const std::string& instance) {
  std::vector<store::Sample> up =
      SamplesOf(s, L({{"__name__", "up"}, {"job", job}, {"instance", instance}}));
  return up.empty() ? -1 : up.back().value;
}

TEST_CASE("federation: /federate with match[] keeps timestamps and labels", "[sources]") {
  const std::string body = testing::ReadFile(testing::SharedPath("reference/federate-sample.txt"));
  if (body.empty()) {
    WARN("../shared/reference/federate-sample.txt not found; skipped");
    return;
  }
  CannedServer srv;
  srv.SetBody("/federate", body);
  ScrapeConfig c = Job("federate", srv.address(), "/federate");
  c.honor_labels = true;
  c.params["match[]"] = {"{job=\"prometheus\"}", "{__name__=~\"up|scrape_.*\"}"};
  store::Store store;
  ManualClock clock(kT0);
  auto m = Make({c}, &store, &clock);
  m->ScrapeOnce();

  const TargetHealth h = HealthOf(*m, "federate");
  CHECK(h.health == "up");
  CHECK(h.last_error.empty());
  CHECK(h.last_samples == 38);  // the sample lines of federate-sample.txt
  CHECK(h.scrape_url == "http://" + srv.address() +
                            "/federate?match%5B%5D=%7Bjob%3D%22prometheus%22%7D&match%5B%5D=%7B__"
                            "name__%3D~%22up%7Cscrape_.%2A%22%7D");
  const std::vector<testing::FixtureRequest> reqs = srv.server().requests();
  REQUIRE(reqs.size() == 1);
  CHECK(reqs[0].query ==
        "match%5B%5D=%7Bjob%3D%22prometheus%22%7D&match%5B%5D=%7B__name__%3D~%22up%7Cscrape_.%2A%"
        "22%7D");
  CHECK(reqs[0].headers.at("accept") == std::string(expo::kAcceptHeader));
  CHECK(reqs[0].headers.at("accept-encoding").find("gzip") != std::string::npos);
  CHECK(reqs[0].headers.at("x-prometheus-scrape-timeout-seconds") == "5");

  // honor_labels: the federated job/instance stay, ours are not added over them.
  std::vector<store::Sample> build = SamplesOf(store, L({{"__name__", "prometheus_build_info"},
                                                         {"branch", "debian/sid"},
                                                         {"goarch", "amd64"},
                                                         {"goos", "linux"},
                                                         {"goversion", "go1.19.8"},
                                                         {"instance", "127.0.0.1:9390"},
                                                         {"job", "prometheus"},
                                                         {"revision", "2.42.0+ds-5+deb12u1"},
                                                         {"version", "2.42.0+ds"},
                                                         {"stack", "research"}}));
  REQUIRE(build.size() == 1);
  CHECK(build[0].t_ms == 1795799471608);
  CHECK(build[0].value == 1);
  std::vector<store::Sample> nan =
      SamplesOf(store, L({{"__name__", "prometheus_engine_query_duration_seconds"},
                          {"instance", "127.0.0.1:9390"},
                          {"job", "prometheus"},
                          {"quantile", "0.5"},
                          {"slice", "result_sort"},
                          {"stack", "research"}}));
  REQUIRE(nan.size() == 1);
  CHECK(std::isnan(nan[0].value));
  CHECK_FALSE(core::IsStaleNaN(nan[0].value));
  // The synthetic series carry our target labels and the scrape's own time.
  std::vector<store::Sample> up =
      SamplesOf(store, L({{"__name__", "up"}, {"job", "federate"}, {"instance", srv.address()}}));
  REQUIRE(up.size() == 1);
  CHECK(up[0].t_ms == kT0);
  CHECK(up[0].value == 1);

  SECTION("the same body again: old timestamps are counted, not an error") {
    clock.Advance(core::Duration::Seconds(15));
    m->ScrapeOnce();
    const TargetHealth again = HealthOf(*m, "federate");
    CHECK(again.health == "up");
    CHECK(again.duplicate_samples_total + again.out_of_order_samples_total == 38);
    CHECK(SamplesOf(store, L({{"__name__", "prometheus_engine_queries"},
                              {"instance", "127.0.0.1:9390"},
                              {"job", "prometheus"},
                              {"stack", "research"}}))
              .size() == 1);
  }
  SECTION("older timestamps than stored: out of order, counted, not an error") {
    std::string older = body;
    for (size_t p = 0; (p = older.find(" 1795799471608", p)) != std::string::npos; p += 14) {
      older.replace(p, 14, " 1795799461608");
    }
    srv.SetBody("/federate", older);
    clock.Advance(core::Duration::Seconds(15));
    m->ScrapeOnce();
    const TargetHealth again = HealthOf(*m, "federate");
    CHECK(again.health == "up");
    CHECK(again.out_of_order_samples_total == 38);
    CHECK(SamplesOf(store, L({{"__name__", "prometheus_engine_queries"},
                              {"instance", "127.0.0.1:9390"},
                              {"job", "prometheus"},
                              {"stack", "research"}}))[0]
              .t_ms == 1795799471608);
  }
  SECTION("federated series get no stale markers, on disappearance nor on failure") {
    srv.SetBody("/federate", "# TYPE x untyped\n");
    clock.Advance(core::Duration::Seconds(15));
    m->ScrapeOnce();
    CHECK(HealthOf(*m, "federate").health == "up");
    FixtureResponse fail;
    fail.status = 500;
    srv.Set("/federate", fail);
    clock.Advance(core::Duration::Seconds(15));
    m->ScrapeOnce();
    CHECK(HealthOf(*m, "federate").health == "down");
    build = SamplesOf(store, L({{"__name__", "prometheus_build_info"},
                                {"branch", "debian/sid"},
                                {"goarch", "amd64"},
                                {"goos", "linux"},
                                {"goversion", "go1.19.8"},
                                {"instance", "127.0.0.1:9390"},
                                {"job", "prometheus"},
                                {"revision", "2.42.0+ds-5+deb12u1"},
                                {"version", "2.42.0+ds"},
                                {"stack", "research"}}));
    REQUIRE(build.size() == 1);
    CHECK_FALSE(core::IsStaleNaN(build.back().value));
    CHECK(UpOf(store, "federate", srv.address()) == 0);
  }
}

TEST_CASE("failures are scrape errors with a reason; other targets keep working", "[sources]") {
  CannedServer srv;
  srv.SetBody("/good", "# TYPE ok gauge\nok 1\n");
  FixtureResponse r;

  std::vector<ScrapeConfig> jobs;
  auto add = [&](const std::string& name, FixtureResponse resp) {
    srv.Set("/" + name, std::move(resp));
    jobs.push_back(Job(name, srv.address(), "/" + name));
  };
  r = {};
  r.body = "ok 1\nthis is { not exposition\n";
  add("garbage", r);
  r = {};
  r.body = std::string(5000, '#') + "\n";
  add("oversized", r);
  r = {};
  r.body = "# a comment line that repeats forever\n";
  r.endless = true;
  add("endless", r);
  r = {};
  r.body = "# a slow line\n";
  r.endless = true;
  r.chunk_interval_ms = 20;
  add("trickle", r);
  r = {};
  r.hang = true;
  add("hang", r);
  r = {};
  r.content_type = "text/html; charset=utf-8";
  r.body = "<html></html>";
  add("html", r);
  r = {};
  r.content_type = "";
  r.body = "ok 1\n";
  add("notype", r);
  r = {};
  r.status = 500;
  r.body = "boom";
  add("status500", r);
  r = {};
  r.body = "ok 1\nok2 2\nok3 3\n";
  r.truncate_at = 8;
  add("truncated", r);
  jobs.push_back(Job("good", srv.address(), "/good"));
  const int closed_port = testing::FreeLoopbackPort();
  jobs.push_back(Job("refused", "127.0.0.1:" + std::to_string(closed_port)));
  for (ScrapeConfig& c : jobs) {
    c.scrape_timeout = core::Duration::Millis(700);
    c.body_size_limit_bytes = 1000;
  }

  store::Store store;
  ManualClock clock(kT0);
  auto m = Make(jobs, &store, &clock);
  CHECK_FALSE(m->FirstRoundDone());
  const auto started = std::chrono::steady_clock::now();
  m->ScrapeOnce();
  const auto took = std::chrono::steady_clock::now() - started;
  CHECK(took < std::chrono::seconds(3));  // all at once: one timeout, not the sum
  CHECK(m->FirstRoundDone());

  auto expect_down = [&](const std::string& job, const std::string& reason) {
    INFO("job " << job);
    const TargetHealth h = HealthOf(*m, job);
    CHECK(h.health == "down");
    CHECK_THAT(h.last_error, Catch::Contains(reason));
    const std::string instance =
        job == "refused" ? "127.0.0.1:" + std::to_string(closed_port) : srv.address();
    CHECK(UpOf(store, job, instance) == 0);
  };
  expect_down("garbage", "parse error at 2:");
  expect_down("oversized", "body size limit exceeded");
  expect_down("endless", "body size limit exceeded");
  expect_down("trickle", "context deadline exceeded");
  expect_down("hang", "context deadline exceeded");
  expect_down("html", "unsupported Content-Type \"text/html; charset=utf-8\"");
  expect_down("notype", "unsupported Content-Type \"\"");
  expect_down("status500", "server returned HTTP status 500 Internal Server Error");
  expect_down("truncated", "unexpected EOF");
  expect_down("refused", "connection refused");

  const TargetHealth good = HealthOf(*m, "good");
  CHECK(good.health == "up");
  CHECK(good.last_error.empty());
  CHECK(good.last_samples == 1);
  CHECK(UpOf(store, "good", srv.address()) == 1);
  CHECK(SamplesOf(store, L({{"__name__", "ok"}, {"job", "good"}, {"instance", srv.address()}}))
            .size() == 1);
  // A failed parse keeps nothing of the body, not even the lines before the error.
  CHECK(SamplesOf(store, L({{"__name__", "ok"}, {"job", "garbage"}, {"instance", srv.address()}}))
            .empty());
}

TEST_CASE("an endless body stops at body_size_limit", "[sources]") {
  CannedServer srv;
  FixtureResponse r;
  r.body = "# filler filler filler filler filler filler filler filler\n";
  r.endless = true;
  srv.Set("/metrics", r);
  ScrapeConfig c = Job("endless", srv.address());
  c.body_size_limit_bytes = 64 * 1024;
  store::Store store;
  ManualClock clock(kT0);
  auto m = Make({c}, &store, &clock);
  m->ScrapeOnce();
  const TargetHealth h = HealthOf(*m, "endless");
  CHECK(h.health == "down");
  CHECK_THAT(h.last_error, Catch::Contains("body size limit exceeded"));
}

TEST_CASE("gzip bodies and OpenMetrics are negotiated from the response", "[sources]") {
  CannedServer srv;
  FixtureResponse gz;
  gz.gzip = true;
  gz.body = "# TYPE g gauge\ng{a=\"1\"} 3.5\n";
  srv.Set("/gz", gz);
  FixtureResponse om;
  om.content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8";
  om.body = "# TYPE c counter\nc_total 7\n# EOF\n";
  srv.Set("/om", om);
  store::Store store;
  ManualClock clock(kT0);
  auto m = Make({Job("gz", srv.address(), "/gz"), Job("om", srv.address(), "/om")}, &store, &clock);
  m->ScrapeOnce();
  CHECK(HealthOf(*m, "gz").health == "up");
  CHECK(HealthOf(*m, "om").health == "up");
  std::vector<store::Sample> g = SamplesOf(
      store, L({{"__name__", "g"}, {"a", "1"}, {"job", "gz"}, {"instance", srv.address()}}));
  REQUIRE(g.size() == 1);
  CHECK(g[0].value == 3.5);
  std::vector<store::Sample> c =
      SamplesOf(store, L({{"__name__", "c_total"}, {"job", "om"}, {"instance", srv.address()}}));
  REQUIRE(c.size() == 1);
  CHECK(c[0].value == 7);
}

TEST_CASE("duplicate series in one scrape: first kept, rest counted, scrape up", "[sources]") {
  CannedServer srv;
  srv.SetBody("/metrics", "a 1\nb 2\na 3\na{} 4\n");
  store::Store store;
  ManualClock clock(kT0);
  auto m = Make({Job("dup", srv.address())}, &store, &clock);
  m->ScrapeOnce();
  const TargetHealth h = HealthOf(*m, "dup");
  CHECK(h.health == "up");
  CHECK(h.duplicate_samples_total == 2);
  CHECK(h.last_samples == 4);
  std::vector<store::Sample> a =
      SamplesOf(store, L({{"__name__", "a"}, {"job", "dup"}, {"instance", srv.address()}}));
  REQUIRE(a.size() == 1);
  CHECK(a[0].value == 1);
  CHECK(SamplesOf(store, L({{"__name__", "scrape_samples_post_metric_relabeling"},
                            {"job", "dup"},
                            {"instance", srv.address()}}))[0]
            .value == 2);

  // "a{}" is another spelling of "a": it must not make "a" look gone when it leaves.
  srv.SetBody("/metrics", "a 5\nb 6\n");
  clock.Advance(core::Duration::Seconds(15));
  m->ScrapeOnce();
  a = SamplesOf(store, L({{"__name__", "a"}, {"job", "dup"}, {"instance", srv.address()}}));
  REQUIRE(a.size() == 2);
  CHECK(a[1].value == 5);
}

TEST_CASE("staleness: a series that disappears gets a stale marker at the scrape time",
          "[sources]") {
  CannedServer srv;
  srv.SetBody("/metrics", "a 1\nb 2\n");
  store::Store store;
  ManualClock clock(kT0);
  auto m = Make({Job("s", srv.address())}, &store, &clock);
  const core::Labels a = L({{"__name__", "a"}, {"job", "s"}, {"instance", srv.address()}});
  const core::Labels b = L({{"__name__", "b"}, {"job", "s"}, {"instance", srv.address()}});
  m->ScrapeOnce();
  srv.SetBody("/metrics", "a 1\n");
  clock.Advance(core::Duration::Seconds(15));
  m->ScrapeOnce();
  std::vector<store::Sample> bs = SamplesOf(store, b);
  REQUIRE(bs.size() == 2);
  CHECK(bs[1].t_ms == kT0 + 15'000);
  CHECK(core::IsStaleNaN(bs[1].value));
  CHECK(SamplesOf(store, a).size() == 2);

  // Still gone: no second marker. Back again: a normal sample.
  clock.Advance(core::Duration::Seconds(15));
  m->ScrapeOnce();
  CHECK(SamplesOf(store, b).size() == 2);
  srv.SetBody("/metrics", "a 1\nb 9\n");
  clock.Advance(core::Duration::Seconds(15));
  m->ScrapeOnce();
  bs = SamplesOf(store, b);
  REQUIRE(bs.size() == 3);
  CHECK(bs[2].value == 9);
}

TEST_CASE("staleness: a failed scrape marks all the target's series stale once", "[sources]") {
  CannedServer srv;
  srv.SetBody("/metrics", "a 1\nb 2\nc 3 1795799400000\n");
  store::Store store;
  ManualClock clock(kT0);
  auto m = Make({Job("s", srv.address())}, &store, &clock);
  const core::Labels a = L({{"__name__", "a"}, {"job", "s"}, {"instance", srv.address()}});
  const core::Labels b = L({{"__name__", "b"}, {"job", "s"}, {"instance", srv.address()}});
  const core::Labels c = L({{"__name__", "c"}, {"job", "s"}, {"instance", srv.address()}});
  m->ScrapeOnce();
  srv.SetBody("/metrics", "a 1\nb 2\nc 3\nthis is garbage\n");
  clock.Advance(core::Duration::Seconds(15));
  m->ScrapeOnce();
  CHECK(HealthOf(*m, "s").health == "down");
  for (const core::Labels& l : {a, b}) {
    std::vector<store::Sample> s = SamplesOf(store, l);
    REQUIRE(s.size() == 2);
    CHECK(s[1].t_ms == kT0 + 15'000);
    CHECK(core::IsStaleNaN(s[1].value));
  }
  // c carried its own timestamp: Prometheus writes no marker for it.
  REQUIRE(SamplesOf(store, c).size() == 1);
  CHECK(UpOf(store, "s", srv.address()) == 0);

  FixtureResponse down;
  down.status = 503;
  srv.Set("/metrics", down);
  clock.Advance(core::Duration::Seconds(15));
  m->ScrapeOnce();
  CHECK(SamplesOf(store, a).size() == 2);  // no second marker
  CHECK_THAT(HealthOf(*m, "s").last_error, Catch::Contains("503 Service Unavailable"));

  srv.SetBody("/metrics", "a 4\n");
  clock.Advance(core::Duration::Seconds(15));
  m->ScrapeOnce();
  CHECK(HealthOf(*m, "s").health == "up");
  CHECK(SamplesOf(store, a).back().value == 4);
  CHECK(SamplesOf(store, b).size() == 2);
}

TEST_CASE("sample_limit fails the scrape like Prometheus", "[sources]") {
  CannedServer srv;
  srv.SetBody("/metrics", "a 1\nb 2\nc 3\n");
  ScrapeConfig c = Job("lim", srv.address());
  c.sample_limit = 2;
  store::Store store;
  ManualClock clock(kT0);
  auto m = Make({c}, &store, &clock);
  m->ScrapeOnce();
  const TargetHealth h = HealthOf(*m, "lim");
  CHECK(h.health == "down");
  CHECK_THAT(h.last_error, Catch::Contains("sample limit exceeded"));
  CHECK(UpOf(store, "lim", srv.address()) == 0);
  CHECK(SamplesOf(store, L({{"__name__", "a"}, {"job", "lim"}, {"instance", srv.address()}}))
            .empty());
  CHECK(SamplesOf(store, L({{"__name__", "scrape_samples_scraped"},
                            {"job", "lim"},
                            {"instance", srv.address()}}))[0]
            .value == 3);

  srv.SetBody("/metrics", "a 1\nb 2\n");
  clock.Advance(core::Duration::Seconds(15));
  m->ScrapeOnce();
  CHECK(HealthOf(*m, "lim").health == "up");
}

TEST_CASE("honor_labels false: clashing labels become exported_*", "[sources]") {
  CannedServer srv;
  srv.SetBody("/metrics",
              "m{job=\"other\",instance=\"x:1\",exported_job=\"taken\",zone=\"a\"} 1\n");
  ScrapeConfig c = Job("mine", srv.address());
  c.static_configs[0].labels["zone"] = "b";
  store::Store store;
  ManualClock clock(kT0);
  auto m = Make({c}, &store, &clock);
  m->ScrapeOnce();
  std::vector<core::Labels> got = testing::SeriesNamed(store, "m");
  REQUIRE(got.size() == 1);
  CHECK(got[0] == L({{"__name__", "m"},
                     {"job", "mine"},
                     {"instance", srv.address()},
                     {"zone", "b"},
                     {"exported_zone", "a"},
                     {"exported_instance", "x:1"},
                     {"exported_job", "taken"},
                     {"exported_exported_job", "other"}}));
}

TEST_CASE("honor_labels true: scraped labels win, missing ones are added", "[sources]") {
  CannedServer srv;
  srv.SetBody("/metrics", "m{job=\"other\",zone=\"a\"} 1\n");
  ScrapeConfig c = Job("mine", srv.address());
  c.honor_labels = true;
  c.static_configs[0].labels["zone"] = "b";
  c.static_configs[0].labels["team"] = "t";
  store::Store store;
  ManualClock clock(kT0);
  auto m = Make({c}, &store, &clock);
  m->ScrapeOnce();
  std::vector<core::Labels> got = testing::SeriesNamed(store, "m");
  REQUIRE(got.size() == 1);
  CHECK(got[0] == L({{"__name__", "m"},
                     {"job", "other"},
                     {"instance", srv.address()},
                     {"zone", "a"},
                     {"team", "t"}}));
  // The synthetic series always carry the target's own labels.
  CHECK(UpOf(store, "mine", srv.address()) == -1);
  CHECK(SamplesOf(store, L({{"__name__", "up"},
                            {"job", "mine"},
                            {"instance", srv.address()},
                            {"zone", "b"},
                            {"team", "t"}}))
            .size() == 1);
}

TEST_CASE("honor_timestamps false: the scrape time replaces exposed timestamps", "[sources]") {
  CannedServer srv;
  srv.SetBody("/metrics", "a 1 1700000000000\n");
  ScrapeConfig c = Job("ts", srv.address());
  c.honor_timestamps = false;
  store::Store store;
  ManualClock clock(kT0);
  auto m = Make({c}, &store, &clock);
  m->ScrapeOnce();
  std::vector<store::Sample> a =
      SamplesOf(store, L({{"__name__", "a"}, {"job", "ts"}, {"instance", srv.address()}}));
  REQUIRE(a.size() == 1);
  CHECK(a[0].t_ms == kT0);
}

TEST_CASE("synthetic series follow Prometheus", "[sources]") {
  CannedServer srv;
  srv.SetBody("/metrics", "# HELP a help\n# TYPE a gauge\na 1\nb 2\n");
  store::Store store;
  ManualClock clock(kT0);
  auto m = Make({Job("syn", srv.address())}, &store, &clock);
  m->ScrapeOnce();
  clock.Advance(core::Duration::Seconds(15));
  m->ScrapeOnce();
  auto series = [&](std::string_view name) {
    return SamplesOf(store, L({{"__name__", name}, {"job", "syn"}, {"instance", srv.address()}}));
  };
  CHECK(series("up").back().value == 1);
  CHECK(series("scrape_samples_scraped").back().value == 2);
  CHECK(series("scrape_samples_post_metric_relabeling").back().value == 2);
  REQUIRE(series("scrape_series_added").size() == 2);
  CHECK(series("scrape_series_added")[0].value == 2);
  CHECK(series("scrape_series_added")[1].value == 0);
  const double d = series("scrape_duration_seconds").back().value;
  CHECK(d >= 0);
  CHECK(d < 5);
  CHECK(series("up").back().t_ms == kT0 + 15'000);
}

TEST_CASE("auth: bearer token file and basic auth reach the target", "[sources]") {
  CannedServer srv;
  srv.SetBody("/metrics", "a 1\n");
  testing::TempDir dir;
  const std::string token = dir.path() + "/token";
  const std::string password = dir.path() + "/password";
  {
    FILE* f = std::fopen(token.c_str(), "w");
    std::fputs("s3cr3t\n", f);
    std::fclose(f);
    f = std::fopen(password.c_str(), "w");
    std::fputs("pw", f);
    std::fclose(f);
  }
  ScrapeConfig bearer = Job("bearer", srv.address());
  bearer.bearer_token_file = token;
  ScrapeConfig basic = Job("basic", srv.address(), "/metrics?x=1");
  basic.basic_auth_username = "user";
  basic.basic_auth_password_file = password;
  ScrapeConfig missing = Job("missing", srv.address());
  missing.bearer_token_file = dir.path() + "/absent";
  store::Store store;
  ManualClock clock(kT0);
  auto m = Make({bearer, basic, missing}, &store, &clock);
  m->ScrapeOnce();
  bool saw_bearer = false, saw_basic = false;
  for (const testing::FixtureRequest& r : srv.server().requests()) {
    auto it = r.headers.find("authorization");
    if (it == r.headers.end()) continue;
    if (it->second == "Bearer s3cr3t") saw_bearer = true;
    if (it->second == "Basic dXNlcjpwdw==") saw_basic = true;  // user:pw
  }
  CHECK(saw_bearer);
  CHECK(saw_basic);
  CHECK(HealthOf(*m, "missing").health == "down");
  CHECK_THAT(HealthOf(*m, "missing").last_error, Catch::Contains("bearer_token_file"));
}

TEST_CASE("Targets() reports Prometheus's activeTargets fields", "[sources]") {
  ScrapeConfig c = Job("api", "backend:8080", "/federate");
  c.static_configs[0].labels["team"] = "core";
  c.params["match[]"] = {"up"};
  c.scrape_interval = core::Duration::Seconds(30);
  c.scrape_timeout = core::Duration::Seconds(10);
  ScrapeConfig noport = Job("noport", "example.org");
  noport.scheme = "https";
  store::Store store;
  ManualClock clock(kT0);
  auto m = Make({c, noport}, &store, &clock);
  const std::vector<TargetHealth> targets = m->Targets();
  REQUIRE(targets.size() == 2);
  const TargetHealth& t = targets[0];
  CHECK(t.scrape_pool == "api");
  CHECK(t.health == "unknown");
  CHECK(t.scrape_url == "http://backend:8080/federate?match%5B%5D=up");
  CHECK(t.labels == L({{"instance", "backend:8080"}, {"job", "api"}, {"team", "core"}}));
  CHECK(t.discovered_labels == L({{"__address__", "backend:8080"},
                                  {"__metrics_path__", "/federate"},
                                  {"__param_match[]", "up"},
                                  {"__scheme__", "http"},
                                  {"__scrape_interval__", "30s"},
                                  {"__scrape_timeout__", "10s"},
                                  {"job", "api"},
                                  {"team", "core"}}));
  CHECK(t.scrape_interval == core::Duration::Seconds(30));
  CHECK(targets[1].scrape_url == "https://example.org:443/metrics");
  CHECK(targets[1].labels.Get("instance") == "example.org:443");
  CHECK_FALSE(m->FirstRoundDone());
}

TEST_CASE("config validation names the problem", "[sources]") {
  store::Store store;
  ManualClock clock(kT0);
  auto fails = [&](std::vector<ScrapeConfig> configs, const std::string& want) {
    core::Result<std::unique_ptr<ScrapeManager>> m =
        ScrapeManager::Create(std::move(configs), &store, &clock);
    REQUIRE_FALSE(m.ok());
    CHECK(m.status().IsInvalidArgument());
    CHECK_THAT(m.status().message(), Catch::Contains(want));
  };
  fails({Job("a", "h:1"), Job("a", "h:2")}, "multiple scrape configs with job name \"a\"");
  ScrapeConfig slow = Job("slow", "h:1");
  slow.scrape_timeout = core::Duration::Seconds(20);
  fails({slow}, "scrape_timeout 20s greater than scrape_interval 15s");
  fails({Job("url", "http://h:1")}, "not a valid hostname");
  fails({Job("port", "h:99999")}, "invalid port");
  ScrapeConfig both = Job("both", "h:1");
  both.bearer_token_file = "/x";
  both.basic_auth_username = "u";
  fails({both}, "at most one of basic_auth and bearer_token_file");
  ScrapeConfig badlabel = Job("bl", "h:1");
  badlabel.static_configs[0].labels["1x"] = "v";
  fails({badlabel}, "invalid label name \"1x\"");
}

TEST_CASE("ApplyConfig keeps unchanged targets and ends removed ones", "[sources]") {
  CannedServer srv;
  srv.SetBody("/a", "x 1\n");
  srv.SetBody("/b", "y 1\n");
  store::Store store;
  ManualClock clock(kT0);
  auto m = Make({Job("a", srv.address(), "/a"), Job("b", srv.address(), "/b")}, &store, &clock);
  m->ScrapeOnce();
  clock.Advance(core::Duration::Seconds(5));
  ScrapeConfig a = Job("a", srv.address(), "/a");
  a.sample_limit = 100;  // a changed option, same target
  REQUIRE(m->ApplyConfig({a, Job("c", srv.address(), "/b")}).ok());
  const std::vector<TargetHealth> targets = m->Targets();
  REQUIRE(targets.size() == 2);
  CHECK(targets[0].scrape_pool == "a");
  CHECK(targets[0].health == "up");  // kept, with its history
  CHECK(targets[1].scrape_pool == "c");
  CHECK(targets[1].health == "unknown");
  // b's series end when b goes away.
  std::vector<store::Sample> y =
      SamplesOf(store, L({{"__name__", "y"}, {"job", "b"}, {"instance", srv.address()}}));
  REQUIRE(y.size() == 2);
  CHECK(core::IsStaleNaN(y[1].value));
  CHECK(y[1].t_ms == kT0 + 5'000);
  std::vector<store::Sample> upb =
      SamplesOf(store, L({{"__name__", "up"}, {"job", "b"}, {"instance", srv.address()}}));
  REQUIRE(upb.size() == 2);
  CHECK(core::IsStaleNaN(upb[1].value));

  clock.Advance(core::Duration::Seconds(10));
  m->ScrapeOnce();
  std::vector<store::Sample> sa = SamplesOf(
      store, L({{"__name__", "scrape_series_added"}, {"job", "a"}, {"instance", srv.address()}}));
  REQUIRE(sa.size() == 2);
  CHECK(sa[1].value == 0);  // the cache survived the reload
  CHECK(m->FirstRoundDone());
  CHECK_FALSE(m->ApplyConfig({Job("a", "h:1"), Job("a", "h:2")}).ok());
  CHECK(m->Targets().size() == 2);  // a rejected config changes nothing
}

TEST_CASE("a reload that changes honor_labels ends the old series", "[sources]") {
  CannedServer srv;
  srv.SetBody("/metrics", "m{job=\"other\"} 1\n");
  store::Store store;
  ManualClock clock(kT0);
  ScrapeConfig c = Job("mine", srv.address());
  auto m = Make({c}, &store, &clock);
  m->ScrapeOnce();
  clock.Advance(core::Duration::Seconds(5));
  c.honor_labels = true;
  REQUIRE(m->ApplyConfig({c}).ok());
  std::vector<store::Sample> old = SamplesOf(store, L({{"__name__", "m"},
                                                       {"job", "mine"},
                                                       {"instance", srv.address()},
                                                       {"exported_job", "other"}}));
  REQUIRE(old.size() == 2);
  CHECK(core::IsStaleNaN(old[1].value));
  clock.Advance(core::Duration::Seconds(10));
  m->ScrapeOnce();
  CHECK(SamplesOf(store, L({{"__name__", "m"}, {"job", "other"}, {"instance", srv.address()}}))
            .size() == 1);
  CHECK(UpOf(store, "mine", srv.address()) == 1);  // the target itself carried on
}

TEST_CASE("a series the store collected is resolved again", "[sources]") {
  CannedServer srv;
  srv.SetBody("/metrics", "a 1\n");
  store::Store store(store::StoreOptions{core::Duration::Minutes(5)});
  ManualClock clock(kT0);
  auto m = Make({Job("gc", srv.address())}, &store, &clock);
  m->ScrapeOnce();
  clock.Advance(core::Duration::Minutes(30));
  CHECK(store.Collect(clock.ms()) > 0);
  CHECK(testing::SeriesNamed(store, "a").empty());
  m->ScrapeOnce();
  CHECK(HealthOf(*m, "gc").health == "up");
  std::vector<store::Sample> a =
      SamplesOf(store, L({{"__name__", "a"}, {"job", "gc"}, {"instance", srv.address()}}));
  REQUIRE(a.size() == 1);
  CHECK(a[0].t_ms == kT0 + 30 * 60'000);
  CHECK(UpOf(store, "gc", srv.address()) == 1);
}

TEST_CASE("Run scrapes on the interval and stops promptly", "[sources]") {
  struct SystemClock : core::Clock {
    core::Time Now() const override {
      return core::Time::FromUnixMillis(std::chrono::duration_cast<std::chrono::milliseconds>(
                                            std::chrono::system_clock::now().time_since_epoch())
                                            .count());
    }
  } clock;
  CannedServer srv;
  srv.SetBody("/metrics", "a 1\n");
  ScrapeConfig c = Job("run", srv.address());
  c.scrape_interval = core::Duration::Millis(100);
  c.scrape_timeout = core::Duration::Millis(100);
  store::Store store;
  auto m = Make({c}, &store, &clock);
  std::atomic<bool> stop{false};
  std::thread runner([&] { m->Run(stop); });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (srv.server().request_count() < 3 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK(m->FirstRoundDone());
  // A reload while Run is running is applied by the loop.
  REQUIRE(m->ApplyConfig({c, Job("other", srv.address())}).ok());
  CHECK(m->Targets().size() == 2);
  const auto stopping = std::chrono::steady_clock::now();
  stop = true;
  runner.join();
  CHECK(std::chrono::steady_clock::now() - stopping < std::chrono::milliseconds(500));
  CHECK(srv.server().request_count() >= 3);
  CHECK(HealthOf(*m, "run").health == "up");
}

}  // namespace
}  // namespace amas::sources
