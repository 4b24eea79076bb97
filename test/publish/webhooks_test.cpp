// Outbound webhooks against a local receiver: signature, retries, dead
// letters, queue bound and filters.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>

#include "publish/webhooks.h"
#include "sources/fixture_server.h"
#include "testing/testing.h"

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
using amas::core::Time;
using amas::publish::ScaleEvent;
using amas::publish::SignatureHeader;
using amas::publish::WebhookEndpoint;
using amas::publish::WebhookSender;
using amas::testing::FixtureRequest;
using amas::testing::FixtureResponse;
using amas::testing::FixtureServer;

namespace {

class FixedClock : public amas::core::Clock {
 public:
  Time Now() const override { return Time::FromUnixSeconds(1'800'000'000); }
};

ScaleEvent Event(std::string kind = "recommendation", std::string target = "backend") {
  ScaleEvent e;
  e.kind = std::move(kind);
  e.target = std::move(target);
  e.from = 4;
  e.to = 6;
  e.reason = "cpu above 0.7 for 5m";
  e.rule_values = {{"cpu", 0.75}};
  e.at = Time::FromUnixSeconds(1'800'000'000);
  return e;
}

WebhookEndpoint Endpoint(const FixtureServer& server, const std::string& secret = "s3cret") {
  WebhookEndpoint e;
  e.name = "chatops";
  e.url = "http://" + server.address() + "/hook";
  e.secret = secret;
  e.initial_backoff = Duration::Millis(5);
  e.max_backoff = Duration::Millis(20);
  return e;
}

}  // namespace

TEST_CASE("HMAC-SHA256 signature: known answers (computed with Python's hmac module)") {
  // hmac.new(b"key", b"1700000000.{}", hashlib.sha256).hexdigest()
  CHECK(SignatureHeader("key", 1700000000, "{}") ==
        "t=1700000000,v1=9d713ed406bb7076d4123f0dc2c39d2df5c654ed4b0cd56b52c8b4c940bd63ae");
  CHECK(SignatureHeader("Jefe", 0, "") ==
        "t=0,v1=813f643c8863ba9754215e64cdab172f2e96c1a413d772978aba7398cc864e55");
}

TEST_CASE("webhooks: the receiver gets the JSON event with a valid signature") {
  FixtureServer server([](const FixtureRequest&) { return Reply(200, "ok"); });
  FixedClock clock;
  auto sender = WebhookSender::Create({Endpoint(server)}, &clock);
  REQUIRE(sender.ok());
  (*sender)->Send(Event());
  (*sender)->Flush();
  auto reqs = server.requests();
  REQUIRE(reqs.size() == 1);
  CHECK(reqs[0].method == "POST");
  CHECK(reqs[0].headers.at("content-type") == "application/json");
  CHECK(reqs[0].body ==
        R"({"version":"1","kind":"recommendation","target":"backend","from":4,"to":6,)"
        R"("reason":"cpu above 0.7 for 5m","rules":[{"rule":"cpu","value":0.75}],)"
        R"("timestamp":"2027-01-15T08:00:00Z"})");
  CHECK(reqs[0].headers.at("x-amas-signature") ==
        SignatureHeader("s3cret", 1'800'000'000, reqs[0].body));
  auto stats = (*sender)->Stats();
  CHECK(stats[0].sent == 1);
  CHECK(stats[0].dead_letters == 0);
}

TEST_CASE("webhooks: 5xx is retried with backoff until it succeeds") {
  std::atomic<int> calls{0};
  FixtureServer server([&](const FixtureRequest&) { return Reply(++calls <= 2 ? 503 : 200, ""); });
  FixedClock clock;
  auto sender = *WebhookSender::Create({Endpoint(server)}, &clock);
  sender->Send(Event());
  sender->Flush();
  CHECK(calls == 3);
  auto s = sender->Stats()[0];
  CHECK(s.sent == 1);
  CHECK(s.failed_attempts == 2);
}

TEST_CASE("webhooks: what still fails goes to the dead-letter file; 4xx is not retried") {
  amas::testing::TempDir dir;
  FixtureServer server([](const FixtureRequest& r) {
    return Reply(r.body.find("\"target\":\"db\"") != std::string::npos ? 400 : 500, "");
  });
  FixedClock clock;
  WebhookEndpoint e = Endpoint(server);
  e.max_attempts = 3;
  e.dead_letter_path = dir.path() + "/dead.jsonl";
  auto sender = *WebhookSender::Create({e}, &clock);
  sender->Send(Event("action_failed", "backend"));
  sender->Send(Event("action_failed", "db"));
  sender->Flush();
  CHECK(server.request_count() == 3 + 1);
  auto s = sender->Stats()[0];
  CHECK(s.dead_letters == 2);
  const std::string dead = amas::testing::ReadFile(e.dead_letter_path);
  CHECK(dead.find("\"error\":\"HTTP 500\"") != std::string::npos);
  CHECK(dead.find("\"error\":\"HTTP 400\"") != std::string::npos);
  CHECK(std::count(dead.begin(), dead.end(), '\n') == 2);
}

TEST_CASE("webhooks: a refused connection counts as a failure, not a crash") {
  FixedClock clock;
  WebhookEndpoint e;
  e.name = "nowhere";
  e.url = "http://127.0.0.1:" + std::to_string(amas::testing::FreeLoopbackPort()) + "/";
  e.max_attempts = 2;
  e.initial_backoff = Duration::Millis(1);
  auto sender = *WebhookSender::Create({e}, &clock);
  sender->Send(Event());
  sender->Flush();
  CHECK(sender->Stats()[0].dead_letters == 1);
  CHECK(sender->Stats()[0].failed_attempts == 2);
}

TEST_CASE("webhooks: Send never blocks; a full queue spills to the dead letters") {
  FixtureServer server([](const FixtureRequest&) {
    FixtureResponse r = Reply(200, "");
    r.delay_ms = 200;
    return r;
  });
  FixedClock clock;
  amas::testing::TempDir dir;
  WebhookEndpoint e = Endpoint(server);
  e.max_queue = 2;
  e.dead_letter_path = dir.path() + "/dead.jsonl";
  auto sender = *WebhookSender::Create({e}, &clock);
  for (int i = 0; i < 10; ++i) sender->Send(Event());  // returns at once
  const auto s = sender->Stats()[0];
  CHECK(s.queue_length <= 3);  // two queued plus the one in flight
  CHECK(s.dead_letters >= 7);
  sender->Flush();
  // The delivery thread wrote them (Send only formats them): one line each.
  const std::string dead = amas::testing::ReadFile(e.dead_letter_path);
  CHECK(static_cast<uint64_t>(std::count(dead.begin(), dead.end(), '\n')) ==
        sender->Stats()[0].dead_letters);
  CHECK(dead.find("\"error\":\"queue full\"") != std::string::npos);
}

TEST_CASE("webhooks: filters by event kind and target") {
  FixtureServer server([](const FixtureRequest&) { return Reply(200, ""); });
  FixedClock clock;
  WebhookEndpoint e = Endpoint(server);
  e.kinds = {"action_failed"};
  e.targets = {"backend"};
  auto sender = *WebhookSender::Create({e}, &clock);
  sender->Send(Event("recommendation", "backend"));
  sender->Send(Event("action_failed", "celery"));
  sender->Send(Event("action_failed", "backend"));
  sender->Flush();
  CHECK(server.request_count() == 1);
  CHECK(sender->Stats()[0].dropped_filter == 2);
}

TEST_CASE("webhooks: bad endpoint configs are rejected") {
  FixedClock clock;
  CHECK_FALSE(WebhookSender::Create({WebhookEndpoint{}}, &clock).ok());
  WebhookEndpoint a;
  a.name = "x";
  a.url = "http://127.0.0.1:1/";
  CHECK(WebhookSender::Create({a, a}, &clock).status().message() == "webhook x is defined twice");
}
