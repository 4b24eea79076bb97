// config.h: the amas-scaler config file, in the shape of prometheus.yml.
// LoadConfig reads it whole or not at all. Every error names file:line:col
// and the field; unknown keys are errors; sections whose features are still
// to come (rule_files, scale_targets, ...) are accepted only while empty, so
// nothing written is silently ignored. Relative file paths inside
// (password_file, ca_file, ...) are resolved against the config file's
// folder, as Prometheus does. Pure apart from LoadConfigFile's read.
#ifndef AMAS_APP_CONFIG_H_
#define AMAS_APP_CONFIG_H_

#include <string>
#include <string_view>
#include <vector>

#include "core/core.h"
#include "sources/sources.h"

namespace amas::app {

struct GlobalConfig {
  core::Duration scrape_interval = core::Duration::Minutes(1);
  core::Duration scrape_timeout = core::Duration::Seconds(10);
  core::Duration evaluation_interval = core::Duration::Minutes(1);
  core::Labels external_labels;
};

// The simulated AMAS platform exporter of the demo (see docs/configuration.md).
struct DemoConfig {
  bool platform_exporter = false;
  std::string listen_address = "127.0.0.1:9106";
  core::Duration period = core::Duration::Minutes(20);  // one rise and fall of the load
};

struct Config {
  std::string file;
  std::string redacted_yaml;  // what /api/v1/status/config shows
  GlobalConfig global;
  std::vector<sources::ScrapeConfig> scrape_configs;
  DemoConfig demo;
};

// file names the source in errors and anchors relative paths.
core::Result<Config> LoadConfig(std::string_view yaml, const std::string& file);
core::Result<Config> LoadConfigFile(const std::string& path);

// The YAML with the values of secret keys (password, credentials,
// bearer_token, secret, ...) replaced by "<secret>".
std::string RedactSecrets(std::string_view yaml);

// How long the store keeps samples: the 5m lookback plus the longest window
// in use, and never less than 15m so recent data stays queryable.
core::Duration StoreRetention(const Config& config);

}  // namespace amas::app

#endif  // AMAS_APP_CONFIG_H_
