#include "publish/self_metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <vector>

namespace amas::publish {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

const std::vector<std::string> kHealthStates = {"up", "down", "unknown"};

MetricFamily OneValue(std::string name, std::string help, MetricType type, double value) {
  MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  ClientMetric m;
  if (type == MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  f.metric.push_back(std::move(m));
  return f;
}

// process_* as every Prometheus client library exports them, read from
// /proc on each render (a few syscalls). Missing files leave metrics out.
std::vector<MetricFamily> ProcessFamilies() {
  std::vector<MetricFamily> out;
  std::ifstream stat_file("/proc/self/stat");
  std::string stat((std::istreambuf_iterator<char>(stat_file)), std::istreambuf_iterator<char>());
  const size_t paren = stat.rfind(')');
  if (paren != std::string::npos) {
    std::istringstream in(stat.substr(paren + 2));
    std::vector<std::string> f;
    for (std::string s; in >> s;) f.push_back(s);
    // Fields from "state" (field 3 in proc(5)) on: utime 14, stime 15,
    // starttime 22, vsize 23, rss 24 → indexes 11, 12, 19, 20, 21.
    if (f.size() > 21) {
      const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
      const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
      out.push_back(OneValue("process_cpu_seconds_total",
                             "Total user and system CPU time spent in seconds.",
                             MetricType::Counter, (std::stod(f[11]) + std::stod(f[12])) / ticks));
      out.push_back(OneValue("process_virtual_memory_bytes", "Virtual memory size in bytes.",
                             MetricType::Gauge, std::stod(f[20])));
      out.push_back(OneValue("process_resident_memory_bytes", "Resident memory size in bytes.",
                             MetricType::Gauge, std::stod(f[21]) * page));
      std::ifstream proc_stat("/proc/stat");
      for (std::string line; std::getline(proc_stat, line);) {
        if (line.rfind("btime ", 0) == 0) {
          const double boot = std::stod(line.substr(6));
          out.push_back(OneValue("process_start_time_seconds",
                                 "Start time of the process since unix epoch in seconds.",
                                 MetricType::Gauge, boot + std::stod(f[19]) / ticks));
          break;
        }
      }
    }
  }
  if (DIR* dir = opendir("/proc/self/fd")) {
    double fds = 0;
    while (const dirent* e = readdir(dir)) {
      if (e->d_name[0] != '.') fds += 1;
    }
    closedir(dir);
    out.push_back(OneValue("process_open_fds", "Number of open file descriptors.",
                           MetricType::Gauge, fds - 1));  // minus the one reading the dir
  }
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0) {
    out.push_back(OneValue("process_max_fds", "Maximum number of open file descriptors.",
                           MetricType::Gauge, static_cast<double>(lim.rlim_cur)));
  }
  return out;
}

}  // namespace

struct SelfMetrics::Impl {
  struct Job {
    prometheus::Histogram* duration = nullptr;
    prometheus::Gauge* samples = nullptr;
    std::map<std::string, prometheus::Gauge*> health;
  };

  explicit Impl(const BuildInfo& build)
      : registry(std::make_shared<prometheus::Registry>()),
        build_info(prometheus::BuildGauge()
                       .Name("amas_scaler_build_info")
                       .Help("A metric with a constant '1' value labeled by version, revision, "
                             "build type and compiler from which amas-scaler was built.")
                       .Register(*registry)),
        scrape_duration(prometheus::BuildHistogram()
                            .Name("amas_scaler_scrape_duration_seconds")
                            .Help("Duration of scrapes by scrape job.")
                            .Register(*registry)),
        scrape_samples(prometheus::BuildGauge()
                           .Name("amas_scaler_scrape_samples")
                           .Help("Samples in the last scrape of each target, summed by job.")
                           .Register(*registry)),
        scrape_targets(prometheus::BuildGauge()
                           .Name("amas_scaler_scrape_targets")
                           .Help("Scrape targets by job and health (up, down, unknown).")
                           .Register(*registry)),
        store(prometheus::BuildGauge()
                  .Name("amas_scaler_store_series")
                  .Help("Series held in the in-memory store.")
                  .Register(*registry)
                  .Add({})),
        store_samples(prometheus::BuildGauge()
                          .Name("amas_scaler_store_samples")
                          .Help("Samples held in the in-memory store.")
                          .Register(*registry)
                          .Add({})),
        store_bytes(prometheus::BuildGauge()
                        .Name("amas_scaler_store_bytes")
                        .Help("Approximate memory held by the in-memory store in bytes.")
                        .Register(*registry)
                        .Add({})),
        reload_ok(prometheus::BuildGauge()
                      .Name("amas_scaler_config_last_reload_successful")
                      .Help("Whether the last configuration reload attempt was successful.")
                      .Register(*registry)
                      .Add({})),
        reload_time(prometheus::BuildGauge()
                        .Name("amas_scaler_config_last_reload_success_timestamp_seconds")
                        .Help("Timestamp of the last successful configuration reload.")
                        .Register(*registry)
                        .Add({})) {
    build_info
        .Add({{"version", build.version},
              {"revision", build.revision},
              {"build_type", build.build_type},
              {"compiler", build.compiler}})
        .Set(1);
  }

  Job& JobFor(const std::string& name) {
    auto it = jobs.find(name);
    if (it != jobs.end()) return it->second;
    Job job;
    job.duration = &scrape_duration.Add(
        {{"job", name}}, prometheus::Histogram::BucketBoundaries{0.005, 0.01, 0.025, 0.05, 0.1,
                                                                 0.25, 0.5, 1, 2.5, 5, 10});
    job.samples = &scrape_samples.Add({{"job", name}});
    for (const std::string& h : kHealthStates) {
      job.health[h] = &scrape_targets.Add({{"job", name}, {"health", h}});
    }
    return jobs.emplace(name, job).first->second;
  }

  void Forget(const Job& job) {
    scrape_duration.Remove(job.duration);
    scrape_samples.Remove(job.samples);
    for (const auto& [h, g] : job.health) scrape_targets.Remove(g);
  }

  std::shared_ptr<prometheus::Registry> registry;
  prometheus::Family<prometheus::Gauge>& build_info;
  prometheus::Family<prometheus::Histogram>& scrape_duration;
  prometheus::Family<prometheus::Gauge>& scrape_samples;
  prometheus::Family<prometheus::Gauge>& scrape_targets;
  prometheus::Gauge& store;
  prometheus::Gauge& store_samples;
  prometheus::Gauge& store_bytes;
  prometheus::Gauge& reload_ok;
  prometheus::Gauge& reload_time;

  std::mutex mu;  // guards jobs and seen
  std::map<std::string, Job> jobs;
  std::map<std::pair<std::string, std::string>, core::Time> seen;  // (job, url) → last_scrape
};

SelfMetrics::SelfMetrics(const BuildInfo& build) : impl_(std::make_unique<Impl>(build)) {}
SelfMetrics::~SelfMetrics() = default;

prometheus::Registry& SelfMetrics::registry() { return *impl_->registry; }

void SelfMetrics::UpdateTargets(std::span<const TargetReport> targets) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  struct Totals {
    double samples = 0;
    std::map<std::string, double> health;
  };
  std::map<std::string, Totals> totals;
  std::map<std::pair<std::string, std::string>, core::Time> seen;
  for (const TargetReport& t : targets) {
    Impl::Job& job = impl_->JobFor(t.job);
    Totals& tot = totals[t.job];
    tot.samples += static_cast<double>(t.samples);
    tot.health[t.health] += 1;
    const auto key = std::make_pair(t.job, t.url);
    auto prev = impl_->seen.find(key);
    if (t.last_scrape != core::Time() &&
        (prev == impl_->seen.end() || prev->second < t.last_scrape)) {
      job.duration->Observe(t.last_scrape_duration.seconds());
    }
    seen[key] = t.last_scrape;
  }
  impl_->seen = std::move(seen);
  for (auto it = impl_->jobs.begin(); it != impl_->jobs.end();) {
    auto tot = totals.find(it->first);
    if (tot == totals.end()) {
      impl_->Forget(it->second);
      it = impl_->jobs.erase(it);
      continue;
    }
    it->second.samples->Set(tot->second.samples);
    for (const auto& [h, gauge] : it->second.health) gauge->Set(tot->second.health[h]);
    ++it;
  }
}

void SelfMetrics::UpdateStore(const StoreReport& report) {
  impl_->store.Set(static_cast<double>(report.series));
  impl_->store_samples.Set(static_cast<double>(report.samples));
  impl_->store_bytes.Set(static_cast<double>(report.bytes));
}

void SelfMetrics::RecordReload(bool ok, core::Time now) {
  impl_->reload_ok.Set(ok ? 1 : 0);
  if (ok) impl_->reload_time.Set(now.unix_seconds());
}

std::string SelfMetrics::Render() const {
  std::vector<MetricFamily> families = impl_->registry->Collect();
  for (MetricFamily& f : ProcessFamilies()) families.push_back(std::move(f));
  return prometheus::TextSerializer().Serialize(families);
}

}  // namespace amas::publish
