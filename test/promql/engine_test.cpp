#include <catch2/catch.hpp>

#include <cmath>

#include "promql/parser.h"
#include "promql/promql.h"
#include "store/store.h"

namespace amas::promql {
namespace {

using core::Labels;
using core::Time;

// A store with a handful of series sampled every 15 s from t=0.
class Fixture {
 public:
  Fixture() : store_(Options()) {
    auto app = store_.NewAppender();
    for (int pod = 0; pod < 3; ++pod) {
      const auto ref = app.GetOrCreate(Labels::FromPairs(
          {{"__name__", "requests_total"}, {"job", "api"}, {"pod", "p" + std::to_string(pod)}}));
      for (int i = 0; i <= 40; ++i) app.Append(ref, i * 15'000, (pod + 1) * 15.0 * i);
    }
    const auto gauge = app.GetOrCreate(Labels::FromPairs({{"__name__", "temp"}, {"room", "a"}}));
    for (int i = 0; i <= 20; ++i) app.Append(gauge, i * 15'000, 20 + i % 3);
    app.Append(gauge, 21 * 15'000, core::StaleNaN());
    for (double le : {0.1, 1.0, 10.0}) {
      const auto ref = app.GetOrCreate(Labels::FromPairs(
          {{"__name__", "lat_bucket"}, {"le", le == 0.1 ? "0.1" : le == 1 ? "1" : "10"}}));
      for (int i = 0; i <= 40; ++i) app.Append(ref, i * 15'000, i * (le == 0.1 ? 1 : le == 1 ? 3 : 4));
    }
    const auto inf = app.GetOrCreate(Labels::FromPairs({{"__name__", "lat_bucket"}, {"le", "+Inf"}}));
    for (int i = 0; i <= 40; ++i) app.Append(inf, i * 15'000, i * 4);
    app.Commit();
  }

  core::Result<QueryResult> Instant(std::string_view q, int64_t t_ms, QueryCache* cache = nullptr,
                                    EngineOptions opts = {}) {
    auto e = ParseExpr(q);
    if (!e.ok()) return e.status();
    const store::View view = store_.NewView();
    return Engine(opts).InstantQuery(**e, view, Time::FromUnixMillis(t_ms), cache);
  }
  std::string Text(std::string_view q, int64_t t_ms) {
    auto r = Instant(q, t_ms);
    if (!r.ok()) return r.status().ToString();
    return FormatValue(r->value);
  }
  store::Store& store() { return store_; }

 private:
  static store::StoreOptions Options() {
    store::StoreOptions o;
    o.retention = core::Duration::Millis(0);
    return o;
  }
  store::Store store_;
};

TEST_CASE("FormatValue prints Prometheus's String() forms") {
  Fixture f;
  CHECK(f.Text("1 + 1", 60'000) == "scalar: 2 @[60000]");
  CHECK(f.Text("\"hi\"", 0) == "hi");
  CHECK(f.Text("temp", 60'000) == "{__name__=\"temp\", room=\"a\"} => 21 @[60000]");
  CHECK(f.Text("requests_total{pod=\"p0\"}[30s]", 60'000) ==
        "{__name__=\"requests_total\", job=\"api\", pod=\"p0\"} =>\n45 @[45000]\n60 @[60000]");
  CHECK(f.Text("-temp", 60'000) == "{room=\"a\"} => -21 @[60000]");
}

TEST_CASE("instant selectors look back 5m and stop at a stale marker") {
  Fixture f;
  CHECK(f.Text("temp", 300'000) == "{__name__=\"temp\", room=\"a\"} => 22 @[300000]");
  // The stale marker at 315 s ends the series at once.
  CHECK(f.Text("temp", 315'000).empty());
  CHECK(f.Text("temp", 320'000).empty());
  // Range functions skip it.
  // (270s, 330s]: samples at 285 and 300; the marker at 315 is not a sample.
  CHECK(f.Text("count_over_time(temp[1m])", 330'000) == "{room=\"a\"} => 2 @[330000]");
  // Last sample of requests_total at 600 s: visible until 900 s (exclusive).
  CHECK_FALSE(f.Text("requests_total{pod=\"p0\"}", 899'999).empty());
  CHECK(f.Text("requests_total{pod=\"p0\"}", 900'000).empty());
}

TEST_CASE("rate, aggregation and histogram_quantile over the fixture") {
  Fixture f;
  auto one = [&](std::string_view q) {
    auto r = f.Instant(q, 300'000);
    REQUIRE(r.ok());
    const auto& v = std::get<Vector>(r->value);
    REQUIRE(v.size() == 1);
    return v[0];
  };
  CHECK(one("sum(rate(requests_total[1m]))").value == Approx(6));
  const VectorSample by_job = one("sum by (job) (rate(requests_total[1m]))");
  CHECK(by_job.labels == Labels::FromPairs({{"job", "api"}}));
  CHECK(by_job.value == Approx(6));
  // Bucket rates 1/15, 3/15, 4/15, 4/15: the median falls halfway into (0.1, 1].
  CHECK(one("histogram_quantile(0.5, rate(lat_bucket[1m]))").value == Approx(0.55));
}

TEST_CASE("range queries return sorted series, one point per step") {
  Fixture f;
  auto e = ParseExpr("rate(requests_total[1m])");
  REQUIRE(e.ok());
  const store::View view = f.store().NewView();
  auto m = Engine().Range(**e, view, Time::FromUnixMillis(60'000), Time::FromUnixMillis(180'000),
                          core::Duration::Minutes(1));
  REQUIRE(m.ok());
  REQUIRE(m->size() == 3);
  CHECK(m->at(0).labels.Get("pod") == "p0");
  CHECK(m->at(2).labels.Get("pod") == "p2");
  REQUIRE(m->at(1).points.size() == 3);
  CHECK(m->at(1).points[2].t_ms == 180'000);
  CHECK(m->at(1).points[2].value == Approx(2.0));

  auto bad = ParseExpr("requests_total[1m]");
  auto r = Engine().Range(**bad, view, Time::FromUnixMillis(0), Time::FromUnixMillis(60'000),
                          core::Duration::Minutes(1));
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message() ==
        "invalid expression type \"range vector\" for range query, must be Scalar or instant Vector");
  auto zero = Engine().Range(**e, view, Time::FromUnixMillis(0), Time::FromUnixMillis(60'000),
                             core::Duration::Millis(0));
  CHECK_FALSE(zero.ok());
}

TEST_CASE("the sample limit fails with ResourceExhausted") {
  Fixture f;
  EngineOptions opts;
  opts.max_samples = 10;
  auto r = f.Instant("requests_total[5m]", 300'000, nullptr, opts);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().IsResourceExhausted());
  CHECK(f.Instant("requests_total", 300'000, nullptr, opts).ok());
}

TEST_CASE("runtime errors are InvalidArgument with Prometheus's words") {
  Fixture f;
  auto r = f.Instant("requests_total + on(job) requests_total", 300'000);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().IsInvalidArgument());
  CHECK(r.status().message().starts_with("found duplicate series for the match group {job=\"api\"}"));
  auto nan = f.Instant("topk(NaN, temp)", 60'000);
  REQUIRE_FALSE(nan.ok());
  CHECK(nan.status().message() == "Parameter value is NaN");
}

TEST_CASE("annotations carry Prometheus's text and position") {
  Fixture f;
  auto r = f.Instant("histogram_quantile(2, rate(lat_bucket[1m]))", 300'000);
  REQUIRE(r.ok());
  REQUIRE(r->annotations.warnings.size() == 1);
  CHECK(r->annotations.warnings[0] ==
        "PromQL warning: quantile value should be between 0 and 1, got 2 (1:20)");
  auto info = f.Instant("rate(temp[1m])", 60'000);
  REQUIRE(info.ok());
  REQUIRE(info->annotations.infos.size() == 1);
  CHECK(info->annotations.infos[0] ==
        "PromQL info: metric might not be a counter, name does not end in "
        "_total/_sum/_count/_bucket: \"temp\" (1:6)");
}

TEST_CASE("a QueryCache changes costs, never results") {
  Fixture f;
  const std::vector<std::string> queries = {
      "rate(requests_total[1m])", "sum(rate(requests_total{pod!=\"p1\"}[1m]))",
      "rate(requests_total{pod=\"p1\"}[1m]) > 1", "temp", "rate(temp[1m])",
      "histogram_quantile(0.9, rate(lat_bucket[1m]))", "max_over_time(temp[2m])",
      "rate(requests_total[1m] offset 1m)", "requests_total @ 60", "count(requests_total)"};
  const int64_t t = 300'000;
  const store::View view = f.store().NewView();
  QueryCache cache(view, Time::FromUnixMillis(t));
  for (int pass = 0; pass < 2; ++pass) {
    for (const auto& q : queries) {
      INFO(q);
      auto e = ParseExpr(q);
      REQUIRE(e.ok());
      auto plain = Engine().InstantQuery(**e, view, Time::FromUnixMillis(t));
      auto cached = Engine().InstantQuery(**e, view, Time::FromUnixMillis(t), &cache);
      REQUIRE(plain.ok());
      REQUIRE(cached.ok());
      CHECK(FormatValue(cached->value) == FormatValue(plain->value));
      CHECK(cached->annotations.infos == plain->annotations.infos);
      CHECK(cached->annotations.warnings == plain->annotations.warnings);
    }
  }
  auto e = ParseExpr("temp");
  auto wrong_time = Engine().InstantQuery(**e, view, Time::FromUnixMillis(t + 1), &cache);
  CHECK_FALSE(wrong_time.ok());
}

}  // namespace
}  // namespace amas::promql
