// The Redis lease against a real redis-server (Debian's), started on a free
// loopback port in a temp dir and stopped by PID.
#include <catch2/catch.hpp>

#include "state/state.h"
#include "testing/testing.h"

using amas::core::Duration;
using amas::core::Time;

TEST_CASE("redis lease: one holder at a time, tokens only grow, survives reconnects") {
  amas::testing::TempDir dir;
  const int port = amas::testing::FreeLoopbackPort();
  auto start = [&] {
    return amas::testing::Process::Start(
        {"/usr/bin/redis-server", "--port", std::to_string(port), "--bind", "127.0.0.1", "--save",
         "", "--appendonly", "no", "--dir", dir.path()},
        {}, dir.path() + "/redis.log");
  };
  auto redis = start();
  REQUIRE(amas::testing::WaitForPort(port));

  amas::state::RedisOptions opts;
  opts.port = port;
  opts.key_prefix = "test/";
  auto a = amas::state::NewRedisLease(opts);
  auto b = amas::state::NewRedisLease(opts);
  const Duration ttl = Duration::Seconds(15);

  auto ra = a->TryAcquire("a", Time::FromUnixMillis(1000), ttl);
  REQUIRE(ra.ok());
  CHECK(ra->granted);
  CHECK(ra->record.token == 1);
  auto rb = b->TryAcquire("b", Time::FromUnixMillis(2000), ttl);
  REQUIRE(rb.ok());
  CHECK_FALSE(rb->granted);
  CHECK(rb->record.holder == "a");
  CHECK(a->TryAcquire("a", Time::FromUnixMillis(10000), ttl)->record.token == 1);  // renewal
  rb = b->TryAcquire("b", Time::FromUnixMillis(25000), ttl);                       // a expired
  CHECK(rb->granted);
  CHECK(rb->record.token == 2);
  CHECK_FALSE(a->TryAcquire("a", Time::FromUnixMillis(26000), ttl)->granted);
  REQUIRE(b->Release("b").ok());
  ra = a->TryAcquire("a", Time::FromUnixMillis(27000), ttl);
  CHECK(ra->granted);
  CHECK(ra->record.token == 3);

  // Redis restarts (no persistence here, so the record is gone): the backend
  // reports Unavailable while it is down and reconnects afterwards.
  redis.reset();
  auto down = a->TryAcquire("a", Time::FromUnixMillis(28000), ttl);
  CHECK(down.status().IsUnavailable());
  redis = start();
  REQUIRE(amas::testing::WaitForPort(port));
  auto back = a->TryAcquire("a", Time::FromUnixMillis(29000), ttl);
  REQUIRE(back.ok());
  CHECK(back->granted);
}

TEST_CASE("redis lease: nothing listening is Unavailable with the address") {
  amas::state::RedisOptions opts;
  opts.port = amas::testing::FreeLoopbackPort();
  auto lease = amas::state::NewRedisLease(opts);
  auto r = lease->TryAcquire("a", Time::FromUnixMillis(0), Duration::Seconds(1));
  CHECK(r.status().IsUnavailable());
  CHECK(r.status().message().find("redis 127.0.0.1:" + std::to_string(opts.port)) == 0);
}
