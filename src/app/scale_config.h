// scale_config.h: the `scale_targets:` section of the config file.
// Each entry names a scale target, its bounds and HPA-style behavior (the
// autoscaling/v2 field names and defaults), where its current count comes
// from, and exactly one actuator block (kubernetes, celery, redis_cluster,
// exec or dry_run). Errors name file:line:col and the field; unknown keys
// and HPA API validation failures are errors.
#ifndef AMAS_APP_SCALE_CONFIG_H_
#define AMAS_APP_SCALE_CONFIG_H_

#include <map>
#include <string>
#include <vector>

#include "act/executor.h"
#include "core/core.h"
#include "decide/decide.h"
#include "rules/rules.h"
#include "rules/yaml_reader.h"

namespace amas::app {

// The actuator block, kept as typed options per kind; app/ builds the
// Actuator from it (actuators.cpp).
struct ActuatorConfig {
  enum class Kind { kDryRun, kKubernetes, kCelery, kRedisCluster, kExec };
  Kind kind = Kind::kDryRun;
  // dry_run: the count to start from.
  int32_t initial_replicas = 1;
  // kubernetes: the object whose /scale subresource is driven.
  std::string api_version = "apps/v1";  // "group/version" or "v1"
  std::string resource = "deployments";  // plural
  std::string namespace_name;            // "" = the kubeconfig context's namespace
  std::string name;
  std::string kubeconfig;  // "" = in-cluster service account
  double qps = 5;
  int burst = 10;
  // celery
  std::string broker_url;  // redis://host:port/db
  std::vector<std::string> workers;
  core::Duration reply_timeout = core::Duration::Seconds(1);
  // redis_cluster
  std::vector<std::string> seed_nodes;     // host:port of current members
  std::vector<std::string> standby_nodes;  // host:port, each a master+replicas group "a,b"
  int32_t replicas_per_master = 1;
  // exec
  std::vector<std::string> current_command;
  std::vector<std::string> apply_command;
  core::Duration timeout = core::Duration::Seconds(30);
  std::vector<std::string> env_allow;
};

struct ScaleTargetConfig {
  decide::Target target;  // name, bounds, behavior, tolerance, pause, cooldown
  ActuatorConfig actuator;
  std::string current_expr;  // PromQL giving the current count; "" = ask the actuator
  std::string ready_when;    // PromQL gate that must hold before the next step; "" = none
  int32_t max_step = 0;
  bool dry_run = false;
  act::DriftPolicy drift = act::DriftPolicy::kReport;
};

// How one scale rule's vote this round becomes decide's input: the vote or
// proportional proposal, its step and what missing data means.
decide::Verdict VerdictFromVote(const rules::Rule& rule, const rules::ScaleVote& vote);

// Reads the `scale_targets` list (node may be null: no targets).
core::Result<std::vector<ScaleTargetConfig>> ReadScaleTargets(const rules::YamlNode& node);

}  // namespace amas::app

#endif  // AMAS_APP_SCALE_CONFIG_H_
