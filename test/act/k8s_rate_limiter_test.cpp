#include "act/rate_limiter.h"

#include <catch2/catch.hpp>

#include "executor_fakes.h"

namespace amas::act {
namespace {

using testing::ManualClock;
using testing::RecordingSleeper;

TEST_CASE("the bucket starts full with burst tokens, then refills at qps") {
  ManualClock clock;
  RecordingSleeper sleeper(&clock);
  RateLimiter rl(10, 3, &clock, &sleeper);
  for (int i = 0; i < 3; ++i) CHECK(rl.Accept().millis() == 0);
  CHECK(rl.Accept().millis() == 100);  // the 4th waits for one refill
  CHECK(rl.Accept().millis() == 100);  // the clock moved by the sleep
  clock.Advance(core::Duration::Seconds(10));
  for (int i = 0; i < 3; ++i) CHECK(rl.Accept().millis() == 0);  // never more than burst
  CHECK(rl.Accept().millis() == 100);
}

TEST_CASE("reservations queue callers in order without exceeding the rate") {
  ManualClock clock;
  RecordingSleeper sleeper(&clock);
  RateLimiter rl(4, 1, &clock, &sleeper);
  CHECK(rl.Reserve().millis() == 0);
  CHECK(rl.Reserve().millis() == 250);
  CHECK(rl.Reserve().millis() == 500);
  CHECK(rl.Reserve().millis() == 750);
  clock.Advance(core::Duration::Millis(1000));
  CHECK(rl.Reserve().millis() == 0);
}

TEST_CASE("any interval of T seconds admits at most burst + qps*T") {
  ManualClock clock;
  RecordingSleeper sleeper(&clock);
  const double qps = 50;
  const int burst = 7;
  RateLimiter rl(qps, burst, &clock, &sleeper);
  std::vector<int64_t> at;
  for (int i = 0; i < 500; ++i) {
    rl.Accept();
    at.push_back(clock.Now().unix_millis());
    if (i % 13 == 0) clock.Advance(core::Duration::Millis(37));  // callers arrive unevenly
  }
  for (size_t i = 0; i < at.size(); ++i) {
    size_t j = i;
    while (j < at.size() && at[j] < at[i] + 1000) ++j;
    INFO("window starting at request " << i);
    CHECK(static_cast<double>(j - i) <= burst + qps);
  }
}

TEST_CASE("qps <= 0 means unlimited") {
  ManualClock clock;
  RecordingSleeper sleeper(&clock);
  RateLimiter rl(0, 1, &clock, &sleeper);
  for (int i = 0; i < 1000; ++i) CHECK(rl.Accept().millis() == 0);
  CHECK(sleeper.sleeps().empty());
}

}  // namespace
}  // namespace amas::act
