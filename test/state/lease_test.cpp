// The lease rule as a table with injected time.
#include <catch2/catch.hpp>

#include "state/state.h"

using amas::core::Duration;
using amas::core::Time;
using amas::state::DecideLease;
using amas::state::LeaseRecord;

TEST_CASE("lease: who gets it, until when, and with which fencing token") {
  const Duration ttl = Duration::Seconds(15);
  struct Case {
    const char* name;
    std::optional<LeaseRecord> current;
    const char* holder;
    int64_t now_ms;
    bool granted;
    const char* want_holder;
    int64_t want_expires;
    uint64_t want_token;
  };
  const Case cases[] = {
      {"no lease yet: first term", std::nullopt, "a", 1000, true, "a", 16000, 1},
      {"holder renews: same token", LeaseRecord{"a", 16000, 1}, "a", 6000, true, "a", 21000, 1},
      {"other replica while held: refused", LeaseRecord{"a", 16000, 1}, "b", 15999, false, "a",
       16000, 1},
      {"expiry is exclusive: taken at expires_ms", LeaseRecord{"a", 16000, 1}, "b", 16000, true,
       "b", 31000, 2},
      {"expired holder comes back: new term", LeaseRecord{"a", 16000, 7}, "a", 20000, true, "a",
       35000, 8},
      {"released lease (expires 0)", LeaseRecord{"a", 0, 3}, "b", 5, true, "b", 15005, 4},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    auto d = DecideLease(c.current, c.holder, Time::FromUnixMillis(c.now_ms), ttl);
    CHECK(d.granted == c.granted);
    CHECK(d.record.holder == c.want_holder);
    CHECK(d.record.expires_ms == c.want_expires);
    CHECK(d.record.token == c.want_token);
  }
}

TEST_CASE("lease: the local backend applies the same rule") {
  auto lease = amas::state::NewLocalLease();
  auto a = lease->TryAcquire("a", Time::FromUnixMillis(0), Duration::Seconds(10));
  REQUIRE(a.ok());
  CHECK(a->granted);
  CHECK(a->record.token == 1);
  CHECK_FALSE(lease->TryAcquire("b", Time::FromUnixMillis(5000), Duration::Seconds(10))->granted);
  REQUIRE(lease->Release("a").ok());
  auto b = lease->TryAcquire("b", Time::FromUnixMillis(5000), Duration::Seconds(10));
  CHECK(b->granted);
  CHECK(b->record.token == 2);
}
