#include "act/celery_pidbox.h"

#include <rapidjson/document.h>

#include <catch2/catch.hpp>

namespace amas::act::celery {
namespace {

TEST_CASE("pidbox names follow kombu's Redis transport") {
  CHECK(PidboxChannel(0) == "/0.celery.pidbox");
  CHECK(PidboxChannel(1) == "/1.celery.pidbox");
  CHECK(ReplyQueue("abc") == "abc.reply.celery.pidbox");
  CHECK(ReplyBinding("abc") == std::string("abc\x06\x16\x06\x16"
                                           "abc.reply.celery.pidbox"));
  CHECK(std::string(kReplyBindingsKey) == "_kombu.binding.reply.celery.pidbox");
}

TEST_CASE("base64 known answers (RFC 4648) and round trip") {
  const std::pair<std::string, std::string> cases[] = {{"", ""},
                                                       {"f", "Zg=="},
                                                       {"fo", "Zm8="},
                                                       {"foo", "Zm9v"},
                                                       {"foob", "Zm9vYg=="},
                                                       {"fooba", "Zm9vYmE="},
                                                       {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : cases) {
    CHECK(Base64Encode(plain) == encoded);
    auto back = Base64Decode(encoded);
    REQUIRE(back.ok());
    CHECK(*back == plain);
  }
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes += static_cast<char>(i);
  CHECK(Base64Decode(Base64Encode(bytes)).value() == bytes);
  CHECK_FALSE(Base64Decode("Zm9v!").ok());
  CHECK_FALSE(Base64Decode("Zg=a").ok());
  CHECK_FALSE(Base64Decode("Z").ok());
}

TEST_CASE("request envelope: kombu's shape, base64 body") {
  PidboxRequest req;
  req.method = "pool_grow";
  req.arguments_json = R"({"n": 2})";
  req.destination = {"w1@localhost"};
  req.ticket = "t-1";
  req.reply_oid = "oid-1";
  req.delivery_tag = "tag-1";
  req.expires_unix_seconds = 1795799048.5;
  const std::string env = BuildPidboxEnvelope(req);
  // Key order as kombu writes it.
  const size_t body = env.find("\"body\""), enc = env.find("\"content-encoding\""),
               type = env.find("\"content-type\""), headers = env.find("\"headers\""),
               props = env.find("\"properties\"");
  CHECK(body < enc);
  CHECK(enc < type);
  CHECK(type < headers);
  CHECK(headers < props);

  rapidjson::Document doc;
  doc.Parse(env.c_str());
  REQUIRE_FALSE(doc.HasParseError());
  CHECK(std::string(doc["content-type"].GetString()) == "application/json");
  CHECK(doc["headers"]["clock"].GetInt() == 1);
  CHECK(doc["headers"]["expires"].GetDouble() == Approx(1795799048.5));
  const auto& p = doc["properties"];
  CHECK(p["delivery_mode"].GetInt() == 2);
  CHECK(std::string(p["delivery_info"]["exchange"].GetString()) == "celery.pidbox");
  CHECK(std::string(p["delivery_info"]["routing_key"].GetString()).empty());
  CHECK(std::string(p["body_encoding"].GetString()) == "base64");
  CHECK(std::string(p["delivery_tag"].GetString()) == "tag-1");

  const std::string body_json = Base64Decode(doc["body"].GetString()).value();
  rapidjson::Document b;
  b.Parse(body_json.c_str());
  REQUIRE_FALSE(b.HasParseError());
  CHECK(std::string(b["method"].GetString()) == "pool_grow");
  CHECK(b["arguments"]["n"].GetInt() == 2);
  REQUIRE(b["destination"].IsArray());
  CHECK(std::string(b["destination"][0].GetString()) == "w1@localhost");
  CHECK(b["pattern"].IsNull());
  CHECK(b["matcher"].IsNull());
  CHECK(std::string(b["ticket"].GetString()) == "t-1");
  CHECK(std::string(b["reply_to"]["exchange"].GetString()) == "reply.celery.pidbox");
  CHECK(std::string(b["reply_to"]["routing_key"].GetString()) == "oid-1");
}

TEST_CASE("request envelope: broadcast and cast") {
  PidboxRequest req;
  req.method = "ping";
  const std::string env = BuildPidboxEnvelope(req);
  rapidjson::Document doc;
  doc.Parse(env.c_str());
  const std::string body_json = Base64Decode(doc["body"].GetString()).value();
  rapidjson::Document b;
  b.Parse(body_json.c_str());
  CHECK(b["destination"].IsNull());
  CHECK(b["arguments"].IsObject());
  CHECK_FALSE(b.HasMember("ticket"));  // a cast: workers do not reply
  CHECK_FALSE(b.HasMember("reply_to"));
}

std::string ReplyEnvelope(const std::string& ticket, const std::string& body_json) {
  return R"({"body": ")" + Base64Encode(body_json) +
         R"(", "content-encoding": "utf-8", "content-type": "application/json",
 "headers": {"ticket": ")" +
         ticket + R"(", "clock": 5},
 "properties": {"delivery_mode": 1, "delivery_info": {"exchange": "reply.celery.pidbox",
 "routing_key": "oid"}, "priority": 0, "body_encoding": "base64", "delivery_tag": "x"}})";
}

TEST_CASE("reply envelope: ticket, hostname, result") {
  auto r = ParsePidboxReply(ReplyEnvelope("t-9", R"({"w1@localhost": {"ok": "pool will grow"}})"));
  REQUIRE(r.ok());
  REQUIRE(r->size() == 1);
  CHECK((*r)[0].ticket == "t-9");
  CHECK((*r)[0].hostname == "w1@localhost");
  auto c = ParseControlResult((*r)[0].result_json);
  REQUIRE(c.ok());
  CHECK(c->ok);
  CHECK(c->message == "pool will grow");

  auto err = ParseControlResult(
      R"({"error": "pool_grow is not supported with autoscale. Adjust autoscale range instead."})");
  REQUIRE(err.ok());
  CHECK_FALSE(err->ok);
  CHECK(err->message.find("not supported with autoscale") != std::string::npos);
  CHECK_FALSE(ParseControlResult(R"({"nothing": 1})").ok());

  // A plain (not base64) body is read too.
  auto plain = ParsePidboxReply(
      R"({"body": "{\"w2@h\": {\"ok\": \"pong\"}}", "headers": {"ticket": "t"}, "properties": {}})");
  REQUIRE(plain.ok());
  CHECK((*plain)[0].hostname == "w2@h");

  CHECK_FALSE(ParsePidboxReply("not json").ok());
  CHECK_FALSE(ParsePidboxReply(R"({"headers": {}})").ok());
  CHECK(ParsePidboxReply("{").status().message().find("offset") != std::string::npos);
}

// The stats reply of the reference (A.3), fixed pool and autoscaler.
constexpr const char* kFixedStats = R"({"pid": 6812, "uptime": 39, "clock": "21",
  "total": {"amas_test_app.sleep_for": 3},
  "pool": {"max-concurrency": 2, "processes": [6821, 6833, 6901], "max-tasks-per-child": "N/A",
           "put-guarded-by-semaphore": false, "timeouts": [0, 0], "writes": {}},
  "prefetch_count": 12, "broker": {"hostname": "127.0.0.1"}, "rusage": {"utime": 0.5}})";
constexpr const char* kAutoStats = R"({"pid": 7000,
  "pool": {"max-concurrency": 3, "processes": [1, 2, 3, 4]},
  "prefetch_count": 40, "autoscaler": {"max": 10, "min": 3, "current": 4, "qty": 0}})";

TEST_CASE("stats: pool size fields") {
  auto f = ParseWorkerStats(kFixedStats);
  REQUIRE(f.ok());
  CHECK(f->processes == 3);
  CHECK(f->max_concurrency == 2);
  CHECK(f->prefetch_count == 12);
  CHECK_FALSE(f->autoscale);

  auto a = ParseWorkerStats(kAutoStats);
  REQUIRE(a.ok());
  CHECK(a->autoscale);
  CHECK(a->autoscale_max == 10);
  CHECK(a->autoscale_min == 3);
  CHECK(a->autoscale_current == 4);

  // Pools without a process list (threads, solo) still have max-concurrency.
  auto solo = ParseWorkerStats(R"({"pool": {"max-concurrency": 1}, "prefetch_count": 4})");
  REQUIRE(solo.ok());
  CHECK(solo->processes == -1);
  CHECK(solo->max_concurrency == 1);

  CHECK_FALSE(ParseWorkerStats(R"({"error": "boom"})").ok());
  CHECK_FALSE(ParseWorkerStats(R"({"pid": 1})").ok());
  CHECK_FALSE(ParseWorkerStats(R"({"pool": {}})").ok());
  CHECK_FALSE(ParseWorkerStats(R"({"pool": {"processes": []}, "autoscaler": {"max": 1}})").ok());
}

TEST_CASE("conf: prefetch multiplier") {
  CHECK(ParsePrefetchMultiplier(R"({"worker_prefetch_multiplier": 4, "x": "y"})").value() == 4);
  CHECK(ParsePrefetchMultiplier(R"({"worker_prefetch_multiplier": 0})").value() == 0);
  CHECK_FALSE(ParsePrefetchMultiplier(R"({"worker_prefetch_multiplier": "4"})").ok());
  // Python's json writes Infinity for result_backend_max_retries' default.
  auto reply = ParsePidboxReply(ReplyEnvelope(
      "t",
      R"({"w1@h": {"result_backend_max_retries": Infinity, "worker_prefetch_multiplier": 4}})"));
  REQUIRE(reply.ok());
  CHECK(ParsePrefetchMultiplier(reply->front().result_json).value() == 4);
  CHECK_FALSE(ParsePrefetchMultiplier(R"({})").ok());
}

}  // namespace
}  // namespace amas::act::celery
