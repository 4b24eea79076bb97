#include "app/actuators.h"

#include "act/dry_run.h"

namespace amas::app {

core::Result<std::unique_ptr<act::Actuator>> MakeActuator(const ScaleTargetConfig& config,
                                                          const core::Clock* /*clock*/) {
  const ActuatorConfig& a = config.actuator;
  switch (a.kind) {
    case ActuatorConfig::Kind::kDryRun:
      return std::unique_ptr<act::Actuator>(
          std::make_unique<act::DryRunActuator>(config.target.name, a.initial_replicas));
    case ActuatorConfig::Kind::kKubernetes:
    case ActuatorConfig::Kind::kCelery:
    case ActuatorConfig::Kind::kRedisCluster:
    case ActuatorConfig::Kind::kExec:
      break;
  }
  return core::Status::Unimplemented("this actuator kind is not wired yet");
}

}  // namespace amas::app
