#include <catch2/catch.hpp>
#include <cmath>
#include <limits>

#include "http/http.h"
#include "http/json.h"

namespace amas::http {
namespace {

Request Get(std::string path) {
  Request r;
  r.method = "GET";
  r.path = std::move(path);
  return r;
}

TEST_CASE("router dispatches by method and path, captures segments") {
  Router router;
  router.Handle("GET", "/a", [](const Request&) { return Response::Text(200, "a"); });
  router.Handle("POST", "/a", [](const Request&) { return Response::Text(200, "post a"); });
  router.Handle("GET", "/label/{name}/values", [](const Request& r) {
    return Response::Text(200, "name=" + r.path_params.at("name"));
  });

  CHECK(router.Dispatch(Get("/a")).body == "a");
  Request post = Get("/a");
  post.method = "POST";
  CHECK(router.Dispatch(post).body == "post a");
  CHECK(router.Dispatch(Get("/label/job/values")).body == "name=job");

  const Response missing = router.Dispatch(Get("/label//values"));
  CHECK(missing.status == 404);
  CHECK(missing.body == "404 page not found\n");
  CHECK(router.Dispatch(Get("/a/")).status == 404);

  Request del = Get("/a");
  del.method = "DELETE";
  const Response not_allowed = router.Dispatch(del);
  CHECK(not_allowed.status == 405);
  REQUIRE(not_allowed.headers.size() == 1);
  CHECK(not_allowed.headers[0] == std::make_pair(std::string("Allow"), std::string("GET, POST")));
}

TEST_CASE("query strings decode, keep order and repeated keys") {
  auto q = ParseQuery("match[]=up&match%5B%5D=%7Bjob%3D%22a%22%7D&x=a+b&flag&=v");
  REQUIRE(q.ok());
  Request r;
  r.params = *q;
  CHECK(r.Params("match[]") == std::vector<std::string>{"up", "{job=\"a\"}"});
  CHECK(r.Param("x") == "a b");
  CHECK(r.HasParam("flag"));
  CHECK(r.Param("flag").empty());
  CHECK(r.Param("") == "v");
  CHECK_FALSE(r.HasParam("nope"));

  CHECK_FALSE(ParseQuery("a=%zz").ok());
  CHECK_FALSE(ParseQuery("a=%2").ok());
  CHECK(ParseQuery("a=%2").status().message() == "invalid URL escape in \"a=%2\"");
}

TEST_CASE("floats and timestamps print as Prometheus prints them") {
  CHECK(FormatFloat(1) == "1");
  CHECK(FormatFloat(0.5) == "0.5");
  CHECK(FormatFloat(-2.25) == "-2.25");
  CHECK(FormatFloat(1e21) == "1000000000000000000000");
  CHECK(FormatFloat(1e-7) == "0.0000001");
  CHECK(FormatFloat(0.1 + 0.2) == "0.30000000000000004");
  CHECK(FormatFloat(std::numeric_limits<double>::infinity()) == "+Inf");
  CHECK(FormatFloat(-std::numeric_limits<double>::infinity()) == "-Inf");
  CHECK(FormatFloat(std::nan("")) == "NaN");

  CHECK(FormatTimestamp(1435781451781) == "1435781451.781");
  CHECK(FormatTimestamp(1435781451000) == "1435781451");
  CHECK(FormatTimestamp(1435781451050) == "1435781451.050");
  CHECK(FormatTimestamp(1435781451005) == "1435781451.005");
  CHECK(FormatTimestamp(-1500) == "-1.500");
  CHECK(FormatTimestamp(0) == "0");
}

TEST_CASE("JSON numbers print as Go's encoding/json prints float64") {
  auto number = [](double v) {
    rapidjson::StringBuffer buf;
    JsonWriter w(buf);
    WriteNumber(w, v);
    return std::string(buf.GetString(), buf.GetSize());
  };
  CHECK(number(0) == "0");
  CHECK(number(0.012) == "0.012");
  CHECK(number(12) == "12");
  CHECK(number(1e-7) == "1e-7");
  CHECK(number(1.5e-10) == "1.5e-10");
  CHECK(number(1e21) == "1e+21");
  CHECK(number(123456.789) == "123456.789");
}

TEST_CASE("API envelopes have Prometheus's shape and status codes") {
  const Response ok = ApiSuccess([](JsonWriter& w) {
    w.StartArray();
    WritePoint(w, 1435781451781, 1);
    WriteLabels(w, core::Labels::FromPairs({{"__name__", "up"}, {"job", "a\"b"}}));
    w.EndArray();
  });
  CHECK(ok.status == 200);
  CHECK(ok.content_type == "application/json");
  CHECK(ok.body ==
        R"({"status":"success","data":[[1435781451.781,"1"],{"__name__":"up","job":"a\"b"}]})");

  const Response bad = ApiError(ApiErrorType::kBadData, "invalid parameter \"query\": 1:1: x");
  CHECK(bad.status == 400);
  CHECK(
      bad.body ==
      R"({"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:1: x"})");

  CHECK(ApiError(ApiErrorType::kExecution, "e").status == 422);
  CHECK(ApiError(ApiErrorType::kUnavailable, "e").status == 503);
  CHECK(ApiError(ApiErrorType::kNotFound, "e").status == 404);
  CHECK(ApiError(core::Status::Internal("boom")).body ==
        R"({"status":"error","errorType":"internal","error":"boom"})");
  CHECK(ApiError(core::Status::Internal("boom")).status == 500);
}

}  // namespace
}  // namespace amas::http
