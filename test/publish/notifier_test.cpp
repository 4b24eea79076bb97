#include <catch2/catch.hpp>

#include "publish/notifier.h"
#include "sources/fixture_server.h"

namespace {
// A response with the given status and body and no content type.
amas::testing::FixtureResponse Reply(int status, std::string body) {
  amas::testing::FixtureResponse r;
  r.status = status;
  r.content_type = "";
  r.body = std::move(body);
  return r;
}
}  // namespace

using amas::core::Duration;
using amas::core::Labels;
using amas::core::Time;
using namespace amas::publish;

namespace {
Time At(int64_t s) { return Time::FromUnixSeconds(1'800'000'000 + s); }

AlertInfo Firing() {
  AlertInfo a;
  a.labels = Labels::FromPairs({{"alertname", "HighCpu"}, {"service", "backend"}});
  a.annotations = {{"summary", "cpu high"}};
  a.active_at = At(0);
  a.firing = true;
  a.expr = "avg(cpu) > 0.7";
  return a;
}

NotifierOptions Options() {
  NotifierOptions o;
  o.resend_delay = Duration::Minutes(1);
  o.evaluation_interval = Duration::Seconds(15);
  o.external_url = "http://scaler:9105/";
  o.external_labels = Labels::FromPairs({{"cluster", "eu-1"}, {"service", "ignored"}});
  return o;
}
}  // namespace

TEST_CASE("notifier: sends firing alerts, resends after resend_delay, resolved once") {
  SendTracker t;
  const NotifierOptions o = Options();
  auto out = t.Select({Firing()}, At(0), o);
  REQUIRE(out.size() == 1);
  CHECK(out[0].labels == Labels::FromPairs({{"alertname", "HighCpu"}, {"service", "backend"},
                                            {"cluster", "eu-1"}}));
  CHECK(out[0].ends_at == At(240));  // 4 x max(1m, 15s)
  CHECK(out[0].generator_url == "http://scaler:9105/graph?g0.expr=avg%28cpu%29%20%3E%200.7&g0.tab=1");
  CHECK(t.Select({Firing()}, At(30), o).empty());
  CHECK(t.Select({Firing()}, At(60), o).size() == 1);
  AlertInfo resolved = Firing();
  resolved.firing = false;
  resolved.resolved_at = At(90);
  out = t.Select({resolved}, At(90), o);
  REQUIRE(out.size() == 1);
  CHECK(out[0].ends_at == At(90));
  CHECK(t.Select({resolved}, At(105), o).empty());
}

TEST_CASE("notifier: pending alerts are never sent") {
  SendTracker t;
  AlertInfo pending = Firing();
  pending.firing = false;
  CHECK(t.Select({pending}, At(0), Options()).empty());
}

TEST_CASE("notifier: the JSON body is what Alertmanager's API v2 takes") {
  PostableAlert a;
  a.labels = Labels::FromPairs({{"alertname", "X"}});
  a.annotations = {{"summary", "s"}};
  a.starts_at = At(0);
  a.ends_at = At(240);
  a.generator_url = "http://g";
  CHECK(AlertsJson({a}) ==
        R"([{"labels":{"alertname":"X"},"annotations":{"summary":"s"},)"
        R"("startsAt":"2027-01-15T08:00:00Z","endsAt":"2027-01-15T08:04:00Z","generatorURL":"http://g"}])");
}

TEST_CASE("notifier: posts batches to every Alertmanager and counts failures") {
  using amas::testing::FixtureRequest;
  using amas::testing::FixtureResponse;
  amas::testing::FixtureServer good([](const FixtureRequest&) { return Reply(200, ""); });
  amas::testing::FixtureServer bad([](const FixtureRequest&) { return Reply(500, ""); });
  NotifierOptions o = Options();
  o.alertmanagers = {"http://" + good.address(), "http://" + bad.address() + "/"};
  o.max_batch = 2;
  auto n = *Notifier::Create(o);
  std::vector<PostableAlert> alerts(5);
  n->Notify(alerts);
  n->Flush();
  auto reqs = good.requests();
  REQUIRE(reqs.size() == 3);  // 2 + 2 + 1
  CHECK(reqs[0].path == "/api/v2/alerts");
  auto stats = n->Stats();
  CHECK(stats[0].sent == 5);
  CHECK(stats[1].errors == 3);
}
