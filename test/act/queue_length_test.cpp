#include "act/queue_length.h"

#include <catch2/catch.hpp>

namespace amas::act::celery {
namespace {

TEST_CASE("queue keys: kombu's priority lists") {
  const std::vector<std::string> want = {"celery", std::string("celery\x06\x16") + "3",
                                         std::string("celery\x06\x16") + "6",
                                         std::string("celery\x06\x16") + "9"};
  CHECK(QueueKeys("celery", {}) == want);
  QueueLengthOptions o;
  o.priority_steps = {0, 5};
  o.key_prefix = "app:";
  CHECK(QueueKeys("q", o) == std::vector<std::string>{"app:q", std::string("app:q\x06\x16") + "5"});
}

TEST_CASE("unacked value: routing key of [message, exchange, routing_key]") {
  CHECK(UnackedRoutingKey(R"([{"body": "W10=", "headers": {}}, "", "celery"])").value() ==
        "celery");
  CHECK(UnackedRoutingKey(R"([{}, "tasks", "video.encode"])").value() == "video.encode");
  CHECK_FALSE(UnackedRoutingKey("[1, 2]").ok());
  CHECK_FALSE(UnackedRoutingKey("{").ok());
  CHECK_FALSE(UnackedRoutingKey(R"([{}, "", 3])").ok());
}

}  // namespace
}  // namespace amas::act::celery
