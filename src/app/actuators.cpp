#include "app/actuators.h"

#include "act/dry_run.h"
#include "act/exec.h"
#include "act/kubernetes.h"

namespace amas::app {

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
    case ActuatorConfig::Kind::kCelery:
    case ActuatorConfig::Kind::kRedisCluster:
      break;
  }
  return core::Status::Unimplemented("actuator kind not available in this build yet");
}

}  // namespace amas::app
