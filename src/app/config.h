// config.h: the amas-scaler config file, in the shape of prometheus.yml.
// LoadConfig reads it whole or not at all. Every error names file:line:col
// and the field; unknown keys are errors; sections whose features are still
// Rule files are loaded and checked with the config, so a config that loads
// has rules that parse and scale rules naming existing scale targets.
// Relative file paths inside
// (password_file, ca_file, ...) are resolved against the config file's
// folder, as Prometheus does. Pure apart from LoadConfigFile's read.
#ifndef AMAS_APP_CONFIG_H_
#define AMAS_APP_CONFIG_H_

#include <string>
#include <string_view>
#include <vector>

#include "core/core.h"
#include "app/scale_config.h"
#include "publish/webhooks.h"
#include "rules/rules.h"
#include "sources/prometheus_api.h"
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

// alerting: where alerts (and optionally recommendations) go.
struct AlertingConfig {
  std::vector<std::string> alertmanagers;  // base URLs
  core::Duration resend_delay = core::Duration::Minutes(1);
  bool send_recommendations = false;  // scale recommendations as alerts too
};

// alertmanager_receiver: who may POST /api/v1/alertmanager.
struct ReceiverConfig {
  std::string bearer_token;  // read from bearer_token_file at load
  std::string basic_auth_username;
  std::string basic_auth_password;  // read from password_file at load
  int64_t max_body_bytes = 1 << 20;
};

// state: persistence and, with redis, the lease that elects one actor.
struct StateConfig {
  std::string redis_address;  // "host:port"; "" = single replica, local lease
  std::string redis_password;
  std::string key_prefix = "amas-scaler/";
  core::Duration lease_duration = core::Duration::Seconds(15);
  core::Duration outage_tolerance = core::Duration::Hours(1);
};

struct RemoteDatasource {
  std::string name;
  sources::PrometheusApiOptions api;
};

struct Config {
  std::string file;
  std::string redacted_yaml;  // what /api/v1/status/config shows
  GlobalConfig global;
  std::vector<sources::ScrapeConfig> scrape_configs;
  DemoConfig demo;
  std::vector<std::string> rule_files;  // globs expanded, relative to the config file
  rules::RuleSet rule_set;
  std::vector<ScaleTargetConfig> scale_targets;
  std::vector<RemoteDatasource> remote_datasources;
  AlertingConfig alerting;
  std::vector<publish::WebhookEndpoint> webhooks;
  ReceiverConfig receiver;
  StateConfig state;
  bool dry_run = false;  // global: decide and report, never act
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
