#include <catch2/catch.hpp>
#include <filesystem>

#include "app/config.h"
#include "rules/yaml_reader.h"
#include "testing/testing.h"

namespace amas::app {
namespace {

using core::Result;
using rules::YamlNode;

const std::string kTestdata = std::string(AMAS_SOURCE_DIR) + "/test/app/testdata/config";

// Each bad fixture names the exact error it must produce on its first line:
// "# want: <message>", with the file's base name as the file.
TEST_CASE("every bad config fixture fails with its file:line:col message") {
  int checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(kTestdata + "/bad")) {
    if (entry.path().extension() != ".yaml") continue;
    const std::string text = testing::ReadFile(entry.path().string());
    const std::string name = entry.path().filename().string();
    REQUIRE(text.starts_with("# want: "));
    const std::string want = text.substr(8, text.find('\n') - 8);
    Result<Config> cfg = LoadConfig(text, name);
    INFO(name);
    CHECK_FALSE(cfg.ok());
    if (cfg.ok()) continue;
    CHECK(cfg.status().IsInvalidArgument());
    CHECK(cfg.status().message() == want);
    ++checked;
  }
  CHECK(checked >= 30);
}

TEST_CASE("a config with every field loads them all") {
  const std::string path = kTestdata + "/good/full.yaml";
  Result<Config> cfg = LoadConfigFile(path);
  INFO(cfg.status().message());
  REQUIRE(cfg.ok());
  CHECK(cfg->file == path);
  CHECK(cfg->global.scrape_interval == core::Duration::Seconds(30));
  CHECK(cfg->global.scrape_timeout == core::Duration::Seconds(20));
  CHECK(cfg->global.evaluation_interval == core::Duration::Seconds(15));
  CHECK(cfg->global.external_labels.ToString() == "{cluster=\"prod-eu\", replica=\"a\"}");
  REQUIRE(cfg->scrape_configs.size() == 3);

  const sources::ScrapeConfig& b = cfg->scrape_configs[0];
  CHECK(b.job_name == "backend");
  CHECK(b.scrape_interval == core::Duration::Seconds(10));
  CHECK(b.scrape_timeout == core::Duration::Seconds(5));
  CHECK(b.metrics_path == "/internal/metrics");
  CHECK(b.scheme == "https");
  CHECK(b.honor_labels);
  CHECK_FALSE(b.honor_timestamps);
  CHECK(b.params.at("module") == std::vector<std::string>{"http_2xx"});
  CHECK(b.params.at("format") == std::vector<std::string>{"prometheus", "text"});
  CHECK(b.body_size_limit_bytes == 10 * 1024 * 1024);
  CHECK(b.sample_limit == 5000);
  CHECK(b.basic_auth_username == "scraper");
  // Relative to the config file's folder, as in Prometheus.
  CHECK(b.basic_auth_password_file == kTestdata + "/good/secrets/password");
  CHECK(b.tls_ca_file == "/etc/ssl/ca.pem");
  CHECK(b.tls_insecure_skip_verify);
  REQUIRE(b.static_configs.size() == 2);
  CHECK(b.static_configs[0].targets == std::vector<std::string>{"10.0.0.1:8080", "10.0.0.2:8080"});
  CHECK(b.static_configs[0].labels ==
        std::map<std::string, std::string>{{"tier", "web"}, {"zone", "eu-1"}});
  CHECK(b.static_configs[1].targets == std::vector<std::string>{"10.0.0.3:8080"});
  CHECK(b.static_configs[1].labels.empty());

  const sources::ScrapeConfig& f = cfg->scrape_configs[1];
  CHECK(f.job_name == "federate");
  CHECK(f.scrape_interval == core::Duration::Seconds(30));  // from global
  CHECK(f.scrape_timeout == core::Duration::Seconds(20));
  CHECK(f.metrics_path == "/federate");
  CHECK(f.scheme == "http");
  CHECK(f.honor_labels);
  CHECK(f.honor_timestamps);
  CHECK(f.params.at("match[]") == std::vector<std::string>{"{job=\"amas\"}", "up"});
  CHECK(f.bearer_token_file == "/run/secrets/token");
  CHECK(f.body_size_limit_bytes == 0);

  const sources::ScrapeConfig& l = cfg->scrape_configs[2];
  CHECK(l.scrape_interval == core::Duration::Seconds(5));
  // Unset timeout: the global one, capped at the job's interval.
  CHECK(l.scrape_timeout == core::Duration::Seconds(5));
  CHECK(l.bearer_token_file == kTestdata + "/good/token.txt");
  CHECK(l.body_size_limit_bytes == 1024LL * 1024 * 1024 + 512LL * 1024 * 1024);

  CHECK(cfg->demo.platform_exporter);
  CHECK(cfg->demo.listen_address == "127.0.0.1:19106");
  CHECK(cfg->demo.period == core::Duration::Minutes(6));
}

TEST_CASE("defaults follow Prometheus") {
  Result<Config> empty = LoadConfigFile(kTestdata + "/good/empty.yaml");
  REQUIRE(empty.ok());
  CHECK(empty->global.scrape_interval == core::Duration::Minutes(1));
  CHECK(empty->global.scrape_timeout == core::Duration::Seconds(10));
  CHECK(empty->global.evaluation_interval == core::Duration::Minutes(1));
  CHECK(empty->scrape_configs.empty());
  CHECK_FALSE(empty->demo.platform_exporter);

  Result<Config> minimal = LoadConfigFile(kTestdata + "/good/minimal.yaml");
  REQUIRE(minimal.ok());
  CHECK(minimal->global.scrape_timeout == core::Duration::Seconds(5));  // capped at interval
  REQUIRE(minimal->scrape_configs.size() == 1);
  const sources::ScrapeConfig& only = minimal->scrape_configs[0];
  CHECK(only.scrape_interval == core::Duration::Seconds(5));
  CHECK(only.scrape_timeout == core::Duration::Seconds(5));
  CHECK(only.metrics_path == "/metrics");
  CHECK(only.scheme == "http");
  CHECK_FALSE(only.honor_labels);
  CHECK(only.honor_timestamps);
  CHECK(minimal->demo.platform_exporter);
  CHECK(minimal->demo.listen_address == "127.0.0.1:9106");
  CHECK(minimal->demo.period == core::Duration::Minutes(20));
}

TEST_CASE("the shipped demo config loads and scrapes the demo platform") {
  Result<Config> demo = LoadConfigFile(std::string(AMAS_SOURCE_DIR) + "/deploy/demo.yaml");
  REQUIRE(demo.ok());
  CHECK(demo->demo.platform_exporter);
  bool scrapes_platform = false;
  for (const sources::ScrapeConfig& sc : demo->scrape_configs) {
    for (const auto& sc_static : sc.static_configs) {
      for (const std::string& t : sc_static.targets) {
        scrapes_platform |= t == demo->demo.listen_address;
      }
    }
  }
  CHECK(scrapes_platform);
}

TEST_CASE("secrets are redacted from the YAML shown at /api/v1/status/config") {
  const std::string yaml = R"(scrape_configs:
  - job_name: a
    basic_auth:
      username: admin
      password: hunter2
    authorization:
      credentials: abc
webhooks:
  - url: http://x
    secret: s3
)";
  const std::string redacted = RedactSecrets(yaml);
  CHECK(redacted.find("hunter2") == std::string::npos);
  CHECK(redacted.find("abc") == std::string::npos);
  CHECK(redacted.find("s3") == std::string::npos);
  CHECK(redacted.find("username: admin") != std::string::npos);
  CHECK(redacted.find("password: <secret>") != std::string::npos);
  CHECK(redacted.find("credentials: <secret>") != std::string::npos);
  CHECK(redacted.find("secret: <secret>") != std::string::npos);
  // The redacted text is itself a config with the same shape.
  CHECK(RedactSecrets(redacted) == redacted);

  Result<Config> full = LoadConfigFile(kTestdata + "/good/full.yaml");
  REQUIRE(full.ok());
  CHECK(full->redacted_yaml.find("job_name: backend") != std::string::npos);
}

TEST_CASE("store retention covers the lookback and never drops below 15m") {
  Config cfg;
  CHECK(StoreRetention(cfg) == core::Duration::Minutes(15));
}

TEST_CASE("YAML byte sizes use powers of 1024 as Prometheus does") {
  auto bytes = [](std::string_view text) {
    Result<YamlNode> n = YamlNode::Parse(text, "t.yaml");
    REQUIRE(n.ok());
    return n->AsBytes();
  };
  CHECK(*bytes("0") == 0);
  CHECK(*bytes("512B") == 512);
  CHECK(*bytes("10KB") == 10 * 1024);
  CHECK(*bytes("10KiB") == 10 * 1024);
  CHECK(*bytes("1.5MB") == 1536 * 1024);
  CHECK(*bytes("2GB") == 2LL * 1024 * 1024 * 1024);
  CHECK(*bytes("1TB") == 1LL << 40);
  CHECK_FALSE(bytes("512").ok());  // a unit is required, as in Prometheus
  CHECK_FALSE(bytes("MB").ok());
  CHECK_FALSE(bytes("-1MB").ok());
  CHECK(bytes("10 MB").status().message().starts_with("t.yaml:1:1: expected a size"));
}

}  // namespace
}  // namespace amas::app
