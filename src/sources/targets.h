// targets.h (internal): scrape_configs → targets, as Prometheus builds them.
// Discovered labels are what service discovery would report (__address__,
// __scheme__, __metrics_path__, __scrape_interval__, __scrape_timeout__,
// __param_<name>, job, static labels); target labels are those without the
// "__" ones plus instance (= __address__ unless set). An address without a
// port gets the scheme's default one (80/443), as Prometheus 2.42 does.
// Pure functions: no I/O.
#ifndef AMAS_SOURCES_TARGETS_H_
#define AMAS_SOURCES_TARGETS_H_

#include <string>
#include <string_view>
#include <vector>

#include "core/core.h"
#include "sources/sources.h"

namespace amas::sources {

struct TargetSpec {
  std::string job;
  std::string address;  // host:port
  core::Labels discovered_labels;
  core::Labels labels;
  std::string url;    // scheme://address/path?params, the params encoded as Go's url.Values
  uint64_t hash = 0;  // identity across reloads and the scrape offset
};

// Checks one job: name, scheme, durations (timeout <= interval), limits,
// auth (one kind at most), target addresses. Errors name the job.
core::Status ValidateConfig(const ScrapeConfig& config);
// Every job valid and job names unique.
core::Status ValidateConfigs(const std::vector<ScrapeConfig>& configs);
// The targets of a validated job, in config order, duplicates removed.
std::vector<TargetSpec> BuildTargets(const ScrapeConfig& config);

// Go's url.QueryEscape: unreserved bytes stay, ' ' → '+', the rest %XX.
std::string QueryEscape(std::string_view s);

// When a target with this hash scrapes next at or after now: targets of one
// job are spread over the interval by hash (Prometheus's offset).
core::Time NextScrapeTime(uint64_t hash, core::Duration interval, core::Time now);

}  // namespace amas::sources

#endif  // AMAS_SOURCES_TARGETS_H_
