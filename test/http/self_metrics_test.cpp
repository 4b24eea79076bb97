#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>

#include "publish/publish.h"
#include "testing/testing.h"

namespace amas::publish {
namespace {

struct Promtool {
  int status = -1;
  std::string output;
};

Promtool CheckMetrics(const std::string& body) {
  testing::TempDir dir;
  const std::string file = dir.path() + "/metrics.prom";
  std::ofstream(file) << body;
  const std::string cmd = "/usr/bin/promtool check metrics < " + file + " 2>&1";
  Promtool r;
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) return r;
  char buf[512];
  while (fgets(buf, sizeof buf, pipe) != nullptr) r.output += buf;
  r.status = pclose(pipe);
  return r;
}

TargetReport Target(std::string job, std::string url, std::string health, int64_t last_ms,
                    int64_t duration_ms, size_t samples) {
  TargetReport t;
  t.job = std::move(job);
  t.url = std::move(url);
  t.health = std::move(health);
  t.last_scrape = core::Time::FromUnixMillis(last_ms);
  t.last_scrape_duration = core::Duration::Millis(duration_ms);
  t.samples = samples;
  return t;
}

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

TEST_CASE("self-metrics render scrape, store and build metrics that promtool accepts") {
  SelfMetrics m(BuildInfo{"0.1.0", "abc123", "Release", "gcc 12"});
  std::vector<TargetReport> targets = {
      Target("backend", "http://a:1/metrics", "up", 1000, 30, 120),
      Target("backend", "http://b:1/metrics", "down", 1000, 2000, 0),
      Target("federate", "http://p:9090/federate", "unknown", 0, 0, 0),
  };
  m.UpdateTargets(targets);
  m.UpdateTargets(targets);  // nothing new: no second observation
  targets[0].last_scrape = core::Time::FromUnixMillis(6000);
  targets[0].last_scrape_duration = core::Duration::Millis(40);
  m.UpdateTargets(targets);
  m.UpdateStore({10, 200, 4096});
  m.RecordReload(true, core::Time::FromUnixSeconds(1700000000));

  const std::string text = m.Render();
  CHECK(Contains(text,
                 "amas_scaler_build_info{build_type=\"Release\",compiler=\"gcc 12\","
                 "revision=\"abc123\",version=\"0.1.0\"} 1"));
  CHECK(Contains(text, "amas_scaler_scrape_duration_seconds_count{job=\"backend\"} 3"));
  CHECK(Contains(text, "amas_scaler_scrape_duration_seconds_sum{job=\"backend\"} 2.07"));
  CHECK(Contains(text, "amas_scaler_scrape_duration_seconds_count{job=\"federate\"} 0"));
  CHECK(Contains(text, "amas_scaler_scrape_samples{job=\"backend\"} 120"));
  CHECK(Contains(text, "amas_scaler_scrape_targets{health=\"up\",job=\"backend\"} 1"));
  CHECK(Contains(text, "amas_scaler_scrape_targets{health=\"down\",job=\"backend\"} 1"));
  CHECK(Contains(text, "amas_scaler_scrape_targets{health=\"unknown\",job=\"federate\"} 1"));
  CHECK(Contains(text, "amas_scaler_store_series 10"));
  CHECK(Contains(text, "amas_scaler_store_samples 200"));
  CHECK(Contains(text, "amas_scaler_store_bytes 4096"));
  CHECK(Contains(text, "amas_scaler_config_last_reload_successful 1"));
  CHECK(Contains(text, "amas_scaler_config_last_reload_success_timestamp_seconds 1700000000"));
  CHECK(Contains(text, "process_resident_memory_bytes "));
  CHECK(Contains(text, "process_cpu_seconds_total "));

  const Promtool check = CheckMetrics(text);
  INFO(check.output);
  CHECK(check.status == 0);
  CHECK(check.output.empty());

  // A job that is gone from the config is gone from /metrics.
  targets.erase(targets.begin() + 2);
  m.UpdateTargets(targets);
  CHECK_FALSE(Contains(m.Render(), "job=\"federate\""));
}

TEST_CASE("other modules register families on the registry SelfMetrics owns") {
  SelfMetrics m(BuildInfo{"v", "r", "b", "c"});
  prometheus::BuildCounter()
      .Name("amas_scaler_actions_total")
      .Help("Scaling actions by target, direction and result.")
      .Register(m.registry())
      .Add({{"target", "backend"}, {"direction", "up"}, {"result", "ok"}})
      .Increment();
  const std::string text = m.Render();
  CHECK(Contains(text,
                 "amas_scaler_actions_total{direction=\"up\",result=\"ok\",target=\"backend\"} 1"));
  m.RecordReload(false, core::Time::FromUnixSeconds(5));
  CHECK(Contains(m.Render(), "amas_scaler_config_last_reload_successful 0"));
  CHECK(CheckMetrics(m.Render()).status == 0);
}

}  // namespace
}  // namespace amas::publish
