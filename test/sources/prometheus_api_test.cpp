// PrometheusApi against canned responses: result shapes, error mapping, retries.
#include <catch2/catch.hpp>

#include <cmath>

#include "fixture_server.h"
#include "sources/prometheus_api.h"
#include "testing/testing.h"

namespace amas::sources {
namespace {

using testing::FixtureRequest;
using testing::FixtureResponse;
using testing::FixtureServer;

struct ParseCase {
  const char* name;
  long http_status;
  const char* body;
  core::Status::Code code;  // kOk: parses
  const char* message;      // substring of the error message
};

TEST_CASE("ParseQueryResponse maps Prometheus's shapes and errors", "[sources]") {
  using Code = core::Status::Code;
  const std::vector<ParseCase> cases = {
      {"bad_data", 400,
       R"({"status":"error","errorType":"bad_data","error":"1:5: parse error: unclosed left parenthesis"})",
       Code::kInvalidArgument, "1:5: parse error: unclosed left parenthesis"},
      {"timeout", 503,
       R"({"status":"error","errorType":"timeout","error":"query timed out in expression evaluation"})",
       Code::kDeadlineExceeded, "query timed out"},
      {"execution", 422,
       R"({"status":"error","errorType":"execution","error":"many-to-many matching not allowed"})",
       Code::kFailedPrecondition, "many-to-many"},
      {"unavailable", 503, R"({"status":"error","errorType":"unavailable","error":"not ready"})",
       Code::kUnavailable, "not ready"},
      {"canceled", 499, R"({"status":"error","errorType":"canceled","error":"ctx"})",
       Code::kAborted, "ctx"},
      {"html 502", 502, "<html>bad gateway</html>", Code::kUnavailable,
       "server returned HTTP status 502 Bad Gateway"},
      {"html 429", 429, "slow down", Code::kResourceExhausted, "429 Too Many Requests"},
      {"401", 401, "no", Code::kUnauthenticated, "401 Unauthorized"},
      {"not json", 200, "hello", Code::kInternal, "malformed query response"},
      {"unknown result type", 200,
       R"({"status":"success","data":{"resultType":"weird","result":[]}})", Code::kInternal,
       "unknown resultType"},
      {"bad value", 200, R"({"status":"success","data":{"resultType":"scalar","result":[1,"x"]}})",
       Code::kInternal, "is not a number"},
      {"histogram", 200,
       R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"histogram":[1,{}]}]}})",
       Code::kUnimplemented, "native histogram"},
  };
  for (const ParseCase& c : cases) {
    INFO(c.name);
    core::Result<QueryResult> r = ParseQueryResponse(c.body, c.http_status);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == c.code);
    CHECK_THAT(r.status().message(), Catch::Contains(c.message));
  }

  core::Result<QueryResult> v = ParseQueryResponse(
      R"({"status":"success","data":{"resultType":"vector","result":[)"
      R"({"metric":{"__name__":"up","job":"p","instance":"h:1"},"value":[1700000000.123,"1"]},)"
      R"({"metric":{},"value":[1700000000.123,"NaN"]}]},"warnings":["w1"]})",
      200);
  REQUIRE(v.ok());
  CHECK(v->type == QueryResult::Type::kVector);
  REQUIRE(v->series.size() == 2);
  CHECK(v->series[0].metric ==
        core::Labels::FromPairs({{"__name__", "up"}, {"job", "p"}, {"instance", "h:1"}}));
  CHECK(v->series[0].points[0].t_ms == 1700000000123);
  CHECK(v->series[0].points[0].value == 1);
  CHECK(v->series[1].metric.empty());
  CHECK(std::isnan(v->series[1].points[0].value));
  CHECK(v->warnings == std::vector<std::string>{"w1"});

  core::Result<QueryResult> s = ParseQueryResponse(
      R"({"status":"success","data":{"resultType":"scalar","result":[1700000000,"+Inf"]}})", 200);
  REQUIRE(s.ok());
  CHECK(s->type == QueryResult::Type::kScalar);
  CHECK(s->scalar.value == INFINITY);
  CHECK(s->scalar.t_ms == 1700000000000);

  core::Result<QueryResult> str = ParseQueryResponse(
      R"({"status":"success","data":{"resultType":"string","result":[1.5,"hello"]}})", 200);
  REQUIRE(str.ok());
  CHECK(str->type == QueryResult::Type::kString);
  CHECK(str->string_value == "hello");
  CHECK(str->string_t_ms == 1500);

  core::Result<QueryResult> m =
      ParseQueryResponse(R"({"status":"success","data":{"resultType":"matrix","result":[)"
                         R"({"metric":{"a":"b"},"values":[[1,"1"],[2,"-2.5e3"]]}]}})",
                         200);
  REQUIRE(m.ok());
  CHECK(m->type == QueryResult::Type::kMatrix);
  REQUIRE(m->series[0].points.size() == 2);
  CHECK(m->series[0].points[1].value == -2500);
  CHECK(m->series[0].points[1].t_ms == 2000);

  core::Result<QueryResult> empty =
      ParseQueryResponse(R"({"status":"success","data":{"resultType":"vector","result":[]}})", 200);
  REQUIRE(empty.ok());
  CHECK(empty->series.empty());
}

constexpr const char* kVectorOne =
    R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"1"]}]}})";

struct Scripted {
  std::mutex mu;
  std::vector<FixtureResponse> script;  // served in order, the last one repeats
  size_t next = 0;
  FixtureResponse Next() {
    std::lock_guard<std::mutex> lock(mu);
    const size_t i = std::min(next, script.size() - 1);
    ++next;
    return script[i];
  }
};

FixtureResponse Json(int status, std::string body) {
  FixtureResponse r;
  r.status = status;
  r.content_type = "application/json";
  r.body = std::move(body);
  return r;
}

std::unique_ptr<PrometheusApi> Client(const std::string& address,
                                      std::vector<core::Duration>* sleeps,
                                      PrometheusApiOptions options = {}) {
  options.url = "http://" + address + "/";
  options.max_attempts = 4;
  options.initial_backoff = core::Duration::Millis(100);
  options.max_backoff = core::Duration::Millis(300);
  options.sleep = [sleeps](core::Duration d) { sleeps->push_back(d); };
  core::Result<std::unique_ptr<PrometheusApi>> api = PrometheusApi::Create(options);
  REQUIRE(api.ok());
  return std::move(api).value();
}

TEST_CASE("PrometheusApi retries 5xx and 429 with exponential backoff", "[sources]") {
  Scripted s;
  s.script = {Json(503, "down"), Json(502, "gw"), Json(429, "slow"), Json(200, kVectorOne)};
  FixtureServer srv([&](const FixtureRequest&) { return s.Next(); });
  std::vector<core::Duration> sleeps;
  auto api = Client(srv.address(), &sleeps);
  core::Result<QueryResult> r = api->Query("vector(1)", core::Time::FromUnixSeconds(1700000000));
  REQUIRE(r.ok());
  CHECK(r->series.size() == 1);
  CHECK(api->attempts() == 4);
  CHECK(sleeps == std::vector<core::Duration>{core::Duration::Millis(100),
                                              core::Duration::Millis(200),
                                              core::Duration::Millis(300)});
  const std::vector<FixtureRequest> reqs = srv.requests();
  REQUIRE(reqs.size() == 4);
  CHECK(reqs[0].method == "GET");
  CHECK(reqs[0].path == "/api/v1/query");
  CHECK(reqs[0].query == "query=vector%281%29&time=1700000000.000&timeout=30s");
}

TEST_CASE("PrometheusApi gives up after max_attempts with the last error", "[sources]") {
  Scripted s;
  s.script = {Json(503, R"({"status":"error","errorType":"unavailable","error":"busy"})")};
  FixtureServer srv([&](const FixtureRequest&) { return s.Next(); });
  std::vector<core::Duration> sleeps;
  auto api = Client(srv.address(), &sleeps);
  core::Result<QueryResult> r = api->Query("up", core::Time::FromUnixSeconds(1));
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().IsUnavailable());
  CHECK(r.status().message() == "busy");
  CHECK(api->attempts() == 4);
}

TEST_CASE("PrometheusApi does not retry 4xx", "[sources]") {
  Scripted s;
  s.script = {
      Json(400, R"({"status":"error","errorType":"bad_data","error":"1:5: parse error: x"})")};
  FixtureServer srv([&](const FixtureRequest&) { return s.Next(); });
  std::vector<core::Duration> sleeps;
  auto api = Client(srv.address(), &sleeps);
  core::Result<QueryResult> r = api->Query("sum(", core::Time::FromUnixSeconds(1));
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().IsInvalidArgument());
  CHECK(r.status().message() == "1:5: parse error: x");
  CHECK(api->attempts() == 1);
  CHECK(sleeps.empty());
}

TEST_CASE("PrometheusApi: connection refused is retried, then Unavailable", "[sources]") {
  std::vector<core::Duration> sleeps;
  auto api = Client("127.0.0.1:" + std::to_string(testing::FreeLoopbackPort()), &sleeps);
  core::Result<QueryResult> r = api->Query("up", core::Time::FromUnixSeconds(1));
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().IsUnavailable());
  CHECK_THAT(r.status().message(), Catch::Contains("connection refused"));
  CHECK(api->attempts() == 4);
}

TEST_CASE("PrometheusApi: a timeout is DeadlineExceeded and not retried", "[sources]") {
  FixtureServer srv([](const FixtureRequest&) {
    FixtureResponse r;
    r.hang = true;
    return r;
  });
  std::vector<core::Duration> sleeps;
  PrometheusApiOptions o;
  o.timeout = core::Duration::Millis(300);
  auto api = Client(srv.address(), &sleeps, o);
  core::Result<QueryResult> r = api->Query("up", core::Time::FromUnixSeconds(1));
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().IsDeadlineExceeded());
  CHECK(api->attempts() == 1);
}

TEST_CASE("PrometheusApi: POST form, auth headers, Retry-After", "[sources]") {
  testing::TempDir dir;
  const std::string token = dir.path() + "/token";
  FILE* f = std::fopen(token.c_str(), "w");
  std::fputs("tok\n", f);
  std::fclose(f);
  Scripted s;
  FixtureResponse busy = Json(429, "later");
  busy.headers.push_back({"Retry-After", "0"});
  s.script = {busy, Json(200, kVectorOne)};
  FixtureServer srv([&](const FixtureRequest&) { return s.Next(); });
  std::vector<core::Duration> sleeps;
  PrometheusApiOptions o;
  o.use_post = true;
  o.bearer_token_file = token;
  auto api = Client(srv.address(), &sleeps, o);
  core::Result<QueryResult> r =
      api->QueryRange("rate(x[5m])", core::Time::FromUnixSeconds(10),
                      core::Time::FromUnixSeconds(70), core::Duration::Seconds(15));
  REQUIRE(r.ok());
  CHECK(sleeps == std::vector<core::Duration>{core::Duration::Millis(0)});
  const std::vector<FixtureRequest> reqs = srv.requests();
  REQUIRE(reqs.size() == 2);
  CHECK(reqs[1].method == "POST");
  CHECK(reqs[1].path == "/api/v1/query_range");
  CHECK(reqs[1].headers.at("authorization") == "Bearer tok");
  CHECK(reqs[1].headers.at("content-type") == "application/x-www-form-urlencoded");
  CHECK(reqs[1].body == "query=rate%28x%5B5m%5D%29&start=10.000&end=70.000&step=15s&timeout=30s");
}

TEST_CASE("PrometheusApi::Create checks its options", "[sources]") {
  PrometheusApiOptions o;
  o.url = "prometheus:9090";
  CHECK(PrometheusApi::Create(o).status().IsInvalidArgument());
  o.url = "http://p:9090";
  o.max_attempts = 0;
  CHECK(PrometheusApi::Create(o).status().IsInvalidArgument());
}

}  // namespace
}  // namespace amas::sources
