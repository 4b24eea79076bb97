// actuators.h: builds the Actuator a scale target's config names.
// Kubernetes targets that use the same credentials share one client, so the
// QPS/burst limit holds for all of them together, as with client-go.
#ifndef AMAS_APP_ACTUATORS_H_
#define AMAS_APP_ACTUATORS_H_

#include <map>
#include <memory>
#include <string>

#include "act/actuator.h"
#include "app/scale_config.h"
#include "core/core.h"

namespace amas::act {
class KubeClient;
}

namespace amas::app {

class ActuatorFactory {
 public:
  // The clock and sleeper must outlive every actuator made.
  ActuatorFactory(const core::Clock* clock, act::Sleeper* sleeper)
      : clock_(clock), sleeper_(sleeper) {}
  // InvalidArgument or Unavailable (e.g. an unreadable kubeconfig).
  core::Result<std::unique_ptr<act::Actuator>> Make(const ScaleTargetConfig& config);

 private:
  const core::Clock* clock_;
  act::Sleeper* sleeper_;
  std::map<std::string, std::shared_ptr<act::KubeClient>> kube_clients_;
};

}  // namespace amas::app

#endif  // AMAS_APP_ACTUATORS_H_
