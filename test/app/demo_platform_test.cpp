#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

#include "app/demo_platform.h"
#include "testing/testing.h"

namespace amas::app {
namespace {

const core::Duration kPeriod = core::Duration::Minutes(30);
const core::Time kStart = core::Time::FromUnixSeconds(1'800'000'000);  // a period boundary

// series text → value, from a text-format body.
std::map<std::string, double> Samples(const std::string& body) {
  std::map<std::string, double> out;
  std::istringstream in(body);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    const size_t sp = line.rfind(' ');
    out[line.substr(0, sp)] = std::stod(line.substr(sp + 1));
  }
  return out;
}

TEST_CASE("the load is low at period boundaries, high half way, with long plateaus") {
  CHECK(PlatformLoad(kStart, kPeriod) == Approx(0.05));
  CHECK(PlatformLoad(kStart + core::Duration::Minutes(15), kPeriod) == Approx(0.95));
  CHECK(PlatformLoad(kStart + kPeriod, kPeriod) == Approx(0.05));
  // The rules of DESIGN.md need > 70 % CPU for 5m and < 30 % for 10m.
  int busy_s = 0;
  int quiet_s = 0;
  for (int s = 0; s < 1800; ++s) {
    const double cpu = 0.08 + 0.85 * PlatformLoad(kStart + core::Duration::Seconds(s), kPeriod);
    busy_s += cpu > 0.72 ? 1 : 0;
    quiet_s += cpu < 0.28 ? 1 : 0;
  }
  CHECK(busy_s > 600);
  CHECK(quiet_s > 660);
}

TEST_CASE("renders are deterministic and counters never go down") {
  DemoPlatform a(kStart, kPeriod);
  DemoPlatform b(kStart, kPeriod);
  const core::Time t1 = kStart + core::Duration::Minutes(7);
  const std::string first = a.Render(t1);
  CHECK(b.Render(t1) == first);
  CHECK(a.Render(t1) == first);

  auto prev = Samples(first);
  for (int minute = 8; minute <= 40; minute += 4) {
    auto next = Samples(a.Render(kStart + core::Duration::Minutes(minute)));
    for (const auto& [series, value] : next) {
      if (series.find("_total") != std::string::npos ||
          series.find("_bucket") != std::string::npos ||
          series.find("_count") != std::string::npos || series.find("_sum") != std::string::npos) {
        INFO(series << " at minute " << minute);
        CHECK(value >= prev.at(series));
      }
    }
    prev = std::move(next);
  }
}

TEST_CASE("the platform shows what the AMAS rules read, busy and quiet") {
  DemoPlatform p(kStart, kPeriod);
  const auto quiet = Samples(p.Render(kStart + core::Duration::Minutes(1)));
  const auto busy = Samples(p.Render(kStart + core::Duration::Minutes(15)));
  const std::string pod0 = "{pod=\"backend-6d4f9c7b8-2xkqp\",service=\"backend\"}";
  CHECK(quiet.at("amas_pod_cpu_usage_ratio" + pod0) < 0.3);
  CHECK(busy.at("amas_pod_cpu_usage_ratio" + pod0) > 0.7);
  CHECK(quiet.at("amas_http_request_queue_length{service=\"backend\"}") < 10);
  CHECK(busy.at("amas_http_request_queue_length{service=\"backend\"}") > 100);
  CHECK(busy.at("amas_celery_queue_length{queue=\"default\"}") >
        quiet.at("amas_celery_queue_length{queue=\"default\"}"));
  CHECK(busy.count("amas_http_request_duration_seconds_bucket{le=\"+Inf\",service=\"backend\"}"));
  CHECK(busy.at("amas_process_cpu_seconds_total" + pod0) > 0);
  CHECK(busy.at("amas_celery_workers") == 10);
}

TEST_CASE("the platform's exposition passes promtool check metrics") {
  DemoPlatform p(kStart, kPeriod);
  testing::TempDir dir;
  const std::string file = dir.path() + "/platform.prom";
  std::ofstream(file) << p.Render(kStart + core::Duration::Minutes(9));
  const std::string cmd = "/usr/bin/promtool check metrics < " + file + " 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string output;
  char buf[512];
  while (fgets(buf, sizeof buf, pipe) != nullptr) output += buf;
  const int status = pclose(pipe);
  INFO(output);
  CHECK(status == 0);
  CHECK(output.empty());
}

}  // namespace
}  // namespace amas::app
