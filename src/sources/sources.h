// sources.h: turns the outside world into store appends. Depends on core, expo, store.
// A ScrapeManager scrapes every target of every scrape_configs job on its own
// interval over libcurl multi, many at once, and appends what it parses (plus
// the synthetic up, scrape_duration_seconds, scrape_samples_scraped, ...) to
// the store, with Prometheus's staleness rules. Federation is a scrape job with
// metrics_path /federate, honor_labels and params match[]. Each target reports
// its own health as data (Targets()); a failing target never stops the others.
// Thread rule: Run() or ScrapeOnce(), one at a time, on one thread; ApplyConfig(),
// Targets() and FirstRoundDone() from any thread.
#ifndef AMAS_SOURCES_SOURCES_H_
#define AMAS_SOURCES_SOURCES_H_

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/core.h"
#include "store/store.h"

namespace amas::sources {

// One scrape_configs entry, field for field as in prometheus.yml.
struct ScrapeConfig {
  struct StaticConfig {
    std::vector<std::string> targets;  // "host:port"
    std::map<std::string, std::string> labels;
  };
  std::string job_name;
  core::Duration scrape_interval = core::Duration::Minutes(1);
  core::Duration scrape_timeout = core::Duration::Seconds(10);  // <= interval
  std::string metrics_path = "/metrics";
  std::string scheme = "http";
  bool honor_labels = false;
  bool honor_timestamps = true;
  std::map<std::string, std::vector<std::string>> params;  // e.g. {"match[]": [...]}
  int64_t body_size_limit_bytes = 0;                       // 0: no limit
  int64_t sample_limit = 0;                                // 0: no limit
  bool normalize_bucket_labels = false;  // le/quantile "1" -> "1.0", as Prometheus 3
  std::string bearer_token_file;
  std::string basic_auth_username;
  std::string basic_auth_password_file;
  std::string tls_ca_file;
  bool tls_insecure_skip_verify = false;
  std::vector<StaticConfig> static_configs;
};

// A target as GET /api/v1/targets shows it (Prometheus's activeTargets shape).
struct TargetHealth {
  core::Labels discovered_labels;  // __address__, __scheme__, __metrics_path__,
                                   // __scrape_interval__, __scrape_timeout__,
                                   // __param_<name>, job, static labels
  core::Labels labels;             // job, instance and static labels
  std::string scrape_pool;         // the job name
  std::string scrape_url;
  std::string health = "unknown";  // "up", "down" or "unknown" (never scraped)
  std::string last_error;          // "" when healthy
  core::Time last_scrape;
  core::Duration last_scrape_duration;
  core::Duration scrape_interval;
  core::Duration scrape_timeout;
  size_t last_samples = 0;  // sample lines in the last scrape (scrape_samples_scraped)
  // Dropped samples, counted since the target appeared, never errors: a series
  // exposed twice in one scrape keeps its first sample (as Prometheus); an
  // explicit timestamp older than or equal to the series' newest is refused
  // by the store (e.g. federation replaying old points).
  uint64_t duplicate_samples_total = 0;
  uint64_t out_of_order_samples_total = 0;
};

class ScrapeManager {
 public:
  // Validates configs (unique job names, timeout <= interval, parseable
  // targets); the clock and store must outlive the manager.
  static core::Result<std::unique_ptr<ScrapeManager>> Create(std::vector<ScrapeConfig> configs,
                                                             store::Store* store,
                                                             const core::Clock* clock);
  ScrapeManager(const ScrapeManager&) = delete;  // owns curl handles and threads' state
  ScrapeManager& operator=(const ScrapeManager&) = delete;
  ~ScrapeManager();

  // Scrapes until stop becomes true (checked at least every 100 ms). A target
  // scrapes at a fixed offset within its interval (spread by hash, as
  // Prometheus), so its first scrape comes within one interval.
  void Run(const std::atomic<bool>& stop);
  // Scrapes every target once, now, and returns when all are done or timed
  // out. For `eval --source URL`, tests and benchmarks.
  void ScrapeOnce();
  // Replaces the jobs; unchanged targets keep their series cache and timing,
  // removed ones get stale markers. While Run() runs, the loop applies it
  // (within 100 ms) before this returns. A rejected config changes nothing.
  core::Status ApplyConfig(std::vector<ScrapeConfig> configs);
  std::vector<TargetHealth> Targets() const;
  // True once every target has been scraped (successfully or not) at least once.
  bool FirstRoundDone() const;

 private:
  ScrapeManager() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace amas::sources

#endif  // AMAS_SOURCES_SOURCES_H_
