#include <catch2/catch.hpp>

#include "core/core.h"

using amas::core::Duration;
using amas::core::Time;

TEST_CASE("Duration: parses Prometheus durations") {
  struct Case {
    const char* text;
    int64_t ms;
  };
  const Case cases[] = {
      {"0", 0},          {"0s", 0},           {"5m", 300'000},
      {"1h30m", 5'400'000}, {"90s", 90'000},  {"10s53ms", 10'053},
      {"1d", 86'400'000}, {"1w", 604'800'000}, {"1y", 31'536'000'000},
      {"2h45m10s", 9'910'000}, {"100ms", 100},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    auto d = Duration::Parse(c.text);
    REQUIRE(d.ok());
    CHECK(d->millis() == c.ms);
  }
}

TEST_CASE("Duration: rejects malformed text with the text in the message") {
  for (const char* bad : {"", "5", "m", "5x", "1m1h", "1h1h", "-5m", "1.5h", " 5m", "5m "}) {
    INFO(bad);
    auto d = Duration::Parse(bad);
    CHECK_FALSE(d.ok());
  }
  CHECK(Duration::Parse("5x").status().message() == "not a valid duration string: \"5x\"");
  CHECK_FALSE(Duration::Parse("999999999999y").ok());
}

TEST_CASE("Duration: prints canonically and round-trips") {
  CHECK(Duration::Minutes(90).ToString() == "1h30m");
  CHECK(Duration().ToString() == "0s");
  CHECK(Duration::Millis(10'053).ToString() == "10s53ms");
  CHECK(Duration::Hours(24 * 90).ToString() == "90d");  // not 12w6d
  CHECK(Duration::Hours(24 * 14).ToString() == "2w");
  for (int64_t ms : {1LL, 999LL, 1000LL, 61'000LL, 3'600'000LL, 86'400'001LL, 31'536'000'000LL}) {
    auto back = Duration::Parse(Duration::Millis(ms).ToString());
    REQUIRE(back.ok());
    CHECK(back->millis() == ms);
  }
}

TEST_CASE("Time: RFC 3339 and Unix seconds") {
  auto t = Time::Parse("2026-11-27T18:30:00Z");
  REQUIRE(t.ok());
  CHECK(t->unix_millis() == 1'795'804'200'000LL);
  CHECK(t->ToRFC3339() == "2026-11-27T18:30:00Z");
  auto frac = Time::Parse("2026-11-27T19:30:00.25+01:00");
  REQUIRE(frac.ok());
  CHECK(frac->unix_millis() == 1'795'804'200'250LL);
  CHECK(frac->ToRFC3339() == "2026-11-27T18:30:00.250Z");
  auto unix = Time::Parse("1700000000.5");
  REQUIRE(unix.ok());
  CHECK(unix->unix_millis() == 1'700'000'000'500LL);
  CHECK(Time::FromUnixMillis(0).ToRFC3339() == "1970-01-01T00:00:00Z");
  CHECK_FALSE(Time::Parse("yesterday").ok());
  CHECK_FALSE(Time::Parse("2026-13-01T00:00:00Z").ok());
}
