// self_metrics.h: amas-scaler's own /metrics (amas_scaler_* and process_*).
// Reports are plain data the app copies out of other modules, so publish/
// depends on core only. UpdateTargets observes each scrape once (a target
// whose last_scrape has not moved adds nothing) and forgets jobs that are
// no longer reported. The registry reference lives as long as SelfMetrics.
#ifndef AMAS_PUBLISH_SELF_METRICS_H_
#define AMAS_PUBLISH_SELF_METRICS_H_

#include <cstddef>
#include <memory>
#include <span>
#include <string>

#include "core/core.h"

namespace prometheus {
class Registry;
}

namespace amas::publish {

struct BuildInfo {
  std::string version;
  std::string revision;
  std::string build_type;
  std::string compiler;
};

// One scrape target's last result, as the scraper reports it.
struct TargetReport {
  std::string job;
  std::string url;                 // identifies the target within its job
  std::string health = "unknown";  // "up", "down" or "unknown"
  core::Time last_scrape;          // Time() when never scraped
  core::Duration last_scrape_duration;
  size_t samples = 0;  // samples in the last scrape
};

struct StoreReport {
  size_t series = 0;
  size_t samples = 0;
  size_t bytes = 0;
};

class SelfMetrics {
 public:
  explicit SelfMetrics(const BuildInfo& build);
  SelfMetrics(const SelfMetrics&) = delete;  // families hand out pointers into it
  SelfMetrics& operator=(const SelfMetrics&) = delete;
  ~SelfMetrics();

  prometheus::Registry& registry();
  void UpdateTargets(std::span<const TargetReport> targets);
  void UpdateStore(const StoreReport& report);
  void RecordReload(bool ok, core::Time now);
  std::string Render() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace amas::publish

#endif  // AMAS_PUBLISH_SELF_METRICS_H_
