// The decision-side sections of the config file: rule_files, scale_targets,
// remote_datasources, alerting, webhooks, alertmanager_receiver, state and
// dry_run. Bad fixtures in testdata/config/bad are run by config_test.cpp;
// those in bad_files refer to files next to them and are loaded from disk.
#include <catch2/catch.hpp>
#include <filesystem>

#include "app/config.h"
#include "testing/testing.h"

namespace amas::app {
namespace {

using core::Result;

const std::string kTestdata = std::string(AMAS_SOURCE_DIR) + "/test/app/testdata/config";

std::string Relative(std::string message, const std::string& dir) {
  for (size_t at; (at = message.find(dir)) != std::string::npos;) message.erase(at, dir.size());
  return message;
}

// As config_test.cpp's bad fixtures, with paths in messages relative to bad_files/.
TEST_CASE("bad config fixtures that refer to other files fail with their message") {
  int checked = 0;
  const std::string dir = kTestdata + "/bad_files/";
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".yaml") continue;
    const std::string text = testing::ReadFile(entry.path().string());
    REQUIRE(text.starts_with("# want: "));
    const std::string want = text.substr(8, text.find('\n') - 8);
    Result<Config> cfg = LoadConfigFile(entry.path().string());
    INFO(entry.path().filename().string());
    CHECK_FALSE(cfg.ok());
    if (cfg.ok()) continue;
    CHECK(cfg.status().IsInvalidArgument());
    CHECK(Relative(cfg.status().message(), dir) == want);
    ++checked;
  }
  CHECK(checked == 5);
}

TEST_CASE("a config with every decision-side section loads them all") {
  const std::string path = kTestdata + "/good/decision.yaml";
  Result<Config> cfg = LoadConfigFile(path);
  INFO(cfg.status().message());
  REQUIRE(cfg.ok());
  CHECK(cfg->dry_run);
  CHECK(cfg->rule_files == std::vector<std::string>{kTestdata + "/good/rules/backend.rules.yml",
                                                    kTestdata + "/good/rules/fleet.rules.yml"});
  REQUIRE(cfg->rule_set.groups.size() == 2);
  CHECK(cfg->rule_set.groups[0].name == "backend");
  CHECK(cfg->rule_set.groups[0].interval == core::Duration::Seconds(15));
  CHECK(cfg->rule_set.groups[1].datasource == "central");

  REQUIRE(cfg->scale_targets.size() == 3);
  const ScaleTargetConfig& b = cfg->scale_targets[0];
  CHECK(b.target.name == "backend");
  CHECK(b.target.min_replicas == 3);
  CHECK(b.target.max_replicas == 20);
  CHECK(b.target.flags.tolerance.scale_up == 0.05);
  CHECK(b.target.flags.tolerance.scale_down == 0.2);
  CHECK(b.target.cooldown == core::Duration::Minutes(2));
  CHECK_FALSE(b.target.paused);
  CHECK(b.target.paused_scale_down);
  CHECK(b.max_step == 5);
  CHECK(b.drift == act::DriftPolicy::kReapply);
  CHECK(b.current_expr == "sum(kube_deployment_spec_replicas{deployment=\"backend\"})");
  CHECK(b.ready_when == "max(pg_replication_lag_seconds) < 10");
  REQUIRE(b.target.behavior);
  REQUIRE(b.target.behavior->scale_up);
  const decide::ScalingRules& up = *b.target.behavior->scale_up;
  CHECK(up.stabilization_window_seconds == 60);
  CHECK(up.select_policy == decide::SelectPolicy::kMin);
  CHECK(up.tolerance == 0.01);
  REQUIRE(up.policies);
  const std::vector<decide::ScalingPolicy>& policies = *up.policies;
  REQUIRE(policies.size() == 2);
  CHECK(policies[0].type == decide::PolicyType::kPercent);
  CHECK(policies[0].value == 50);
  CHECK(policies[0].period_seconds == 60);
  CHECK(policies[1].type == decide::PolicyType::kPods);
  CHECK(policies[1].value == 4);
  CHECK(policies[1].period_seconds == 15);
  REQUIRE(b.target.behavior->scale_down);
  CHECK(b.target.behavior->scale_down->stabilization_window_seconds == 300);
  CHECK_FALSE(b.target.behavior->scale_down->select_policy);
  CHECK(b.actuator.kind == ActuatorConfig::Kind::kKubernetes);
  CHECK(b.actuator.namespace_name == "shop");
  CHECK(b.actuator.name == "backend");
  CHECK(b.actuator.api_version == "apps/v1");
  CHECK(b.actuator.resource == "deployments");
  CHECK(b.actuator.qps == 2.5);
  CHECK(b.actuator.burst == 4);

  const ScaleTargetConfig& c = cfg->scale_targets[1];
  CHECK(c.target.name == "celery-workers");
  CHECK(c.target.flags.tolerance.scale_up == 0.1);
  CHECK(c.target.flags.tolerance.scale_down == 0.1);
  CHECK(c.target.flags.downscale_stabilization_window_seconds == 600);
  CHECK(c.dry_run);
  CHECK_FALSE(c.target.behavior);
  CHECK(c.actuator.kind == ActuatorConfig::Kind::kDryRun);
  CHECK(c.actuator.initial_replicas == 12);

  const ScaleTargetConfig& x = cfg->scale_targets[2];
  CHECK(x.target.min_replicas == 1);  // the HPA's default
  CHECK(x.target.paused);
  CHECK(x.actuator.kind == ActuatorConfig::Kind::kExec);
  CHECK(x.actuator.current_command == std::vector<std::string>{"/usr/local/bin/count-workers"});
  CHECK(x.actuator.apply_command == std::vector<std::string>{"/usr/local/bin/set-workers", "--to"});
  CHECK(x.actuator.timeout == core::Duration::Seconds(10));
  CHECK(x.actuator.env_allow == std::vector<std::string>{"PATH"});

  REQUIRE(cfg->remote_datasources.size() == 1);
  CHECK(cfg->remote_datasources[0].name == "central");
  CHECK(cfg->remote_datasources[0].api.url == "http://prometheus.internal:9090");
  CHECK(cfg->remote_datasources[0].api.timeout == core::Duration::Seconds(5));

  CHECK(cfg->alerting.resend_delay == core::Duration::Seconds(30));
  CHECK(cfg->alerting.send_recommendations);
  CHECK(cfg->alerting.alertmanagers ==
        std::vector<std::string>{"https://am-0:9093/am", "https://am-1:9093/am"});

  REQUIRE(cfg->webhooks.size() == 1);
  const publish::WebhookEndpoint& w = cfg->webhooks[0];
  CHECK(w.name == "ops");
  CHECK(w.url == "https://hooks.example/amas");
  CHECK(w.secret == "hunter2");
  CHECK(w.timeout == core::Duration::Seconds(3));
  CHECK(w.max_attempts == 5);
  CHECK(w.kinds == std::vector<std::string>{"action_succeeded", "action_failed"});
  CHECK(w.targets == std::vector<std::string>{"backend"});

  CHECK(cfg->receiver.bearer_token == "am-token");
  CHECK(cfg->receiver.basic_auth_username == "am");
  CHECK(cfg->receiver.basic_auth_password == "pw");
  CHECK(cfg->receiver.max_body_bytes == 256 * 1024);

  CHECK(cfg->state.outage_tolerance == core::Duration::Minutes(30));
  CHECK(cfg->state.redis_address == "redis.internal:6379");
  CHECK(cfg->state.redis_password == "redispw");
  CHECK(cfg->state.key_prefix == "shop/");
  CHECK(cfg->state.lease_duration == core::Duration::Seconds(20));

  // The longest range in a rule is 0 here: the 15m floor.
  CHECK(StoreRetention(*cfg) == core::Duration::Minutes(15));
  // No secret reaches /api/v1/status/config.
  CHECK(cfg->redacted_yaml.find("hunter2") == std::string::npos);
}

TEST_CASE("decision-side defaults") {
  Result<Config> cfg = LoadConfig(R"(scale_targets:
  - name: web
    max_replicas: 5
    actuator: {kind: dry_run}
)",
                                  "d.yaml");
  INFO(cfg.status().message());
  REQUIRE(cfg.ok());
  CHECK_FALSE(cfg->dry_run);
  CHECK(cfg->rule_files.empty());
  REQUIRE(cfg->scale_targets.size() == 1);
  const ScaleTargetConfig& t = cfg->scale_targets[0];
  CHECK(t.target.min_replicas == 1);
  CHECK(t.actuator.initial_replicas == 1);
  CHECK_FALSE(t.target.behavior);
  CHECK(t.drift == act::DriftPolicy::kReport);
  CHECK(t.current_expr.empty());
  CHECK(cfg->state.redis_address.empty());
  CHECK(cfg->state.lease_duration == core::Duration::Seconds(15));
  CHECK(cfg->state.outage_tolerance == core::Duration::Hours(1));
  CHECK(cfg->receiver.max_body_bytes == 1 << 20);
  CHECK(cfg->alerting.resend_delay == core::Duration::Minutes(1));
  CHECK(cfg->webhooks.empty());

  // A dry_run start outside the bounds is brought inside them.
  Result<Config> clamped = LoadConfig(R"(scale_targets:
  - name: web
    min_replicas: 3
    max_replicas: 5
    actuator: {kind: dry_run, initial_replicas: 9}
)",
                                      "d.yaml");
  REQUIRE(clamped.ok());
  CHECK(clamped->scale_targets[0].actuator.initial_replicas == 5);
}

}  // namespace
}  // namespace amas::app
