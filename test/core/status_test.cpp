#include <catch2/catch.hpp>

#include "core/core.h"

using amas::core::Result;
using amas::core::Status;

TEST_CASE("Status: OK is the default and costs nothing to test") {
  Status s;
  CHECK(s.ok());
  CHECK(s.ToString() == "OK");
  CHECK(s.WithContext("scrape backend").ok());
}

TEST_CASE("Status: named constructors, predicates and context") {
  Status s = Status::Unavailable("timeout after 10s").WithContext("scrape backend");
  CHECK_FALSE(s.ok());
  CHECK(s.IsUnavailable());
  CHECK(s.message() == "scrape backend: timeout after 10s");
  CHECK(s.ToString() == "Unavailable: scrape backend: timeout after 10s");
}

TEST_CASE("Result: holds a value or the reason there is none") {
  Result<int> good = 42;
  REQUIRE(good.ok());
  CHECK(*good == 42);
  Result<int> bad = Status::NotFound("no such rule \"cpu\"");
  CHECK_FALSE(bad.ok());
  CHECK(bad.status().IsNotFound());
}
