#include "app/actuators.h"

#include "act/celery_actuator.h"
#include "act/dry_run.h"
#include "act/exec.h"
#include "act/kubernetes.h"
#include "act/redis_cluster_actuator.h"

#include <charconv>

namespace amas::app {
namespace {

// "host:port" of a Redis node (an IP, as Redis Cluster announces them).
core::Result<act::redis::Endpoint> ParseNode(const std::string& text) {
  const size_t colon = text.rfind(':');
  int port = 0;
  if (colon == std::string::npos || colon == 0 ||
      std::from_chars(text.data() + colon + 1, text.data() + text.size(), port).ec !=
          std::errc() ||
      port <= 0 || port > 65535) {
    return core::Status::InvalidArgument("redis node must be host:port, got \"" + text + "\"");
  }
  return act::redis::Endpoint::At(text.substr(0, colon), port);
}

}  // namespace

core::Result<std::unique_ptr<act::Actuator>> ActuatorFactory::Make(
    const ScaleTargetConfig& config) {
  const ActuatorConfig& a = config.actuator;
  const std::string& name = config.target.name;
  switch (a.kind) {
    case ActuatorConfig::Kind::kDryRun:
      return std::unique_ptr<act::Actuator>(
          std::make_unique<act::DryRunActuator>(name, a.initial_replicas));
    case ActuatorConfig::Kind::kKubernetes: {
      const std::string key = a.kubeconfig + "|" + std::to_string(a.qps) + "|" +
                              std::to_string(a.burst);
      std::shared_ptr<act::KubeClient>& client = kube_clients_[key];
      if (client == nullptr) {
        core::Result<act::KubeConfig> kc = a.kubeconfig.empty()
                                               ? act::InClusterConfigFromEnvironment()
                                               : act::LoadKubeconfig(a.kubeconfig);
        if (!kc.ok()) return kc.status();
        act::KubeClientOptions options;
        options.qps = a.qps;
        options.burst = a.burst;
        auto created = act::KubeClient::Create(std::move(*kc), options, clock_, sleeper_);
        if (!created.ok()) return created.status();
        client = *created;
      }
      const std::string ns =
          a.namespace_name.empty() ? client->config().namespace_name : a.namespace_name;
      core::Result<act::ScaleRef> ref = act::MakeScaleRef(a.api_version, a.resource, ns, a.name);
      if (!ref.ok()) return ref.status();
      return std::unique_ptr<act::Actuator>(
          std::make_unique<act::KubernetesActuator>(client, std::move(*ref)));
    }
    case ActuatorConfig::Kind::kExec: {
      act::ExecOptions options;
      options.target = name;
      options.current_argv = a.current_command;
      options.apply_argv = a.apply_command;
      options.timeout = a.timeout;
      options.env_allow = a.env_allow;
      auto exec = act::ExecActuator::Create(std::move(options));
      if (!exec.ok()) return exec.status();
      return std::unique_ptr<act::Actuator>(std::move(*exec));
    }
    case ActuatorConfig::Kind::kCelery: {
      act::celery::CeleryOptions options;
      options.name = name;
      core::Result<act::redis::Endpoint> broker = act::celery::ParseBrokerUrl(a.broker_url);
      if (!broker.ok()) return broker.status();
      options.broker = std::move(*broker);
      options.workers = a.workers;
      options.reply_timeout = a.reply_timeout;
      options.clock = clock_;
      options.sleeper = sleeper_;
      auto celery = act::celery::CeleryActuator::Create(std::move(options));
      if (!celery.ok()) return celery.status();
      return std::unique_ptr<act::Actuator>(std::move(*celery));
    }
    case ActuatorConfig::Kind::kRedisCluster: {
      act::redis::RedisClusterOptions options;
      options.name = name;
      for (const std::string& n : a.seed_nodes) {
        auto e = ParseNode(n);
        if (!e.ok()) return e.status();
        options.seeds.push_back(std::move(*e));
      }
      for (const std::string& n : a.standby_nodes) {
        auto e = ParseNode(n);
        if (!e.ok()) return e.status();
        options.standby.push_back(std::move(*e));
      }
      options.replicas_per_master = a.replicas_per_master;
      options.clock = clock_;
      options.sleeper = sleeper_;
      auto cluster = act::redis::RedisClusterActuator::Create(std::move(options));
      if (!cluster.ok()) return cluster.status();
      return std::unique_ptr<act::Actuator>(std::move(*cluster));
    }
  }
  return core::Status::Internal("unknown actuator kind");
}

}  // namespace amas::app
