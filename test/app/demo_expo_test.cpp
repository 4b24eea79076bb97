#include <catch2/catch.hpp>

#include "app/demo_platform.h"
#include "expo/expo.h"

namespace amas::app {
namespace {

TEST_CASE("the demo platform's exposition parses with expo::Check") {
  DemoPlatform p(core::Time::FromUnixSeconds(1'800'000'000), core::Duration::Minutes(30));
  for (int minute : {0, 7, 15, 22}) {
    const std::string body = p.Render(core::Time::FromUnixSeconds(1'800'000'000 + 60 * minute));
    core::Result<expo::CheckResult> r = expo::Check(body, expo::Format::kPrometheusText);
    INFO(r.status().message());
    REQUIRE(r.ok());
    CHECK(r->families == 12);
    CHECK(r->series == 38);
  }
}

}  // namespace
}  // namespace amas::app
