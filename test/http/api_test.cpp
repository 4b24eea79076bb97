// Runs testdata/api_cases.txt: each case is a request against a fixed store,
// clock and target list, with the exact status and body Prometheus's API
// shape requires. Format (README at the top of the data file).
#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

#include "golden_cases.h"
#include "http/api.h"
#include "testing/testing.h"

namespace amas::http {
namespace {

class FixedClock : public core::Clock {
 public:
  core::Time Now() const override { return core::Time::FromUnixSeconds(1000); }
};

using testing::Case;
using testing::ReadCases;

void Append(store::Store* s, core::Labels labels, std::vector<std::pair<int64_t, double>> points) {
  store::Appender app = s->NewAppender();
  const store::SeriesRef ref = app.GetOrCreate(labels);
  for (const auto& [t, v] : points) app.Append(ref, t, v);
  app.Commit();
}

sources::TargetHealth Target(std::string job, std::string address, std::string health,
                             std::string error, int64_t last_ms) {
  sources::TargetHealth t;
  t.scrape_pool = job;
  t.scrape_url = "http://" + address + "/metrics";
  t.discovered_labels = core::Labels::FromPairs({{"__address__", address},
                                                 {"__metrics_path__", "/metrics"},
                                                 {"__scheme__", "http"},
                                                 {"job", job}});
  t.labels = core::Labels::FromPairs({{"instance", address}, {"job", job}});
  t.health = std::move(health);
  t.last_error = std::move(error);
  t.last_scrape = last_ms == 0 ? core::Time() : core::Time::FromUnixMillis(last_ms);
  t.last_scrape_duration = core::Duration::Millis(last_ms == 0 ? 0 : 12);
  t.scrape_interval = core::Duration::Seconds(15);
  t.scrape_timeout = core::Duration::Seconds(10);
  return t;
}

TEST_CASE("API requests give Prometheus-shaped golden responses") {
  store::Store store(store::StoreOptions{core::Duration()});
  Append(&store,
         core::Labels::FromPairs({{"__name__", "up"}, {"job", "backend"}, {"instance", "a:1"}}),
         {{970'000, 1}, {985'000, 1}, {1'000'000, 1}});
  Append(&store,
         core::Labels::FromPairs({{"__name__", "up"}, {"job", "backend"}, {"instance", "b:1"}}),
         {{970'000, 1}, {985'000, 0}, {1'000'000, 0}});
  Append(&store,
         core::Labels::FromPairs({{"__name__", "amas_celery_queue_length"}, {"queue", "default"}}),
         {{940'000, 5}, {955'000, 7.5}, {999'500, 12}});
  Append(&store,
         core::Labels::FromPairs(
             {{"__name__", "http_requests_total"}, {"job", "backend"}, {"code", "500"}}),
         {{100'000, 3}});  // old: outside 5m lookback at t=1000s
  FixedClock clock;
  ApiOptions options;
  options.store = &store;
  options.clock = &clock;
  options.targets = [] {
    return std::vector<sources::TargetHealth>{
        Target("platform", "127.0.0.1:9106", "up", "", 995'250),
        Target("backend", "10.0.0.7:8080", "down", "Get \"http://10.0.0.7:8080/metrics\": refused",
               990'000),
        Target("backend", "10.0.0.8:8080", "unknown", "", 0),
    };
  };
  options.config_yaml = [] { return std::string("global:\n  scrape_interval: 15s\n"); };
  bool ready = false;
  options.ready = [&ready] { return ready; };
  int reloads = 0;
  options.reload = [&reloads] {
    ++reloads;
    return reloads == 1 ? core::Status()
                        : core::Status::InvalidArgument("c.yml:3:5: unknown field \"x\"");
  };
  options.metrics = [] { return std::string("# HELP x y\n# TYPE x gauge\nx 1\n"); };
  options.external_url = "http://scaler.example:9105/";
  options.listen_address = "127.0.0.1:9106";
  Router router;
  AddApiRoutes(options, &router);

  const std::string path = std::string(AMAS_SOURCE_DIR) + "/test/http/testdata/api_cases.txt";
  const std::vector<Case> cases = ReadCases(path);
  REQUIRE(cases.size() >= 30);
  for (const Case& c : cases) {
    if (c.target == "/-/ready" && c.status == 200) ready = true;
    Request req;
    req.method = c.method;
    const size_t q = c.target.find('?');
    req.path = c.target.substr(0, q);
    if (q != std::string::npos) {
      auto params = ParseQuery(c.target.substr(q + 1));
      REQUIRE(params.ok());
      req.params = *params;
    }
    if (!c.body.empty()) {
      req.body = c.body;
      auto form = ParseQuery(c.body);
      REQUIRE(form.ok());
      req.params.insert(req.params.begin(), form->begin(), form->end());
    }
    const Response r = router.Dispatch(req);
    INFO(path << ":" << c.line << ": " << c.method << " " << c.target);
    CHECK(r.status == c.status);
    if (!c.content_type.empty()) CHECK(r.content_type == c.content_type);
    CHECK(r.body == c.want);
  }
  CHECK(reloads == 2);
}

TEST_CASE("globalUrl rewrites loopback scrape URLs like Prometheus") {
  const std::string ext = "http://scaler.example:80/prefix";
  CHECK(GlobalUrl("http://127.0.0.1:9105/metrics", ext, ":9105") ==
        "http://scaler.example:80/metrics");
  CHECK(GlobalUrl("http://localhost:9106/metrics?x=1", ext, ":9105") ==
        "http://scaler.example:9106/metrics?x=1");
  CHECK(GlobalUrl("http://[::1]:9106/metrics", ext, ":9105") ==
        "http://scaler.example:9106/metrics");
  CHECK(GlobalUrl("http://10.0.0.1:9106/metrics", ext, ":9105") == "http://10.0.0.1:9106/metrics");
  CHECK(GlobalUrl("http://localhost/metrics", ext, ":9105") == "http://localhost/metrics");
}

}  // namespace
}  // namespace amas::http
