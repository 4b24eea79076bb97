// actuators.h: builds the Actuator a scale target's config names.
#ifndef AMAS_APP_ACTUATORS_H_
#define AMAS_APP_ACTUATORS_H_

#include <memory>

#include "act/actuator.h"
#include "app/scale_config.h"
#include "core/core.h"

namespace amas::app {

// InvalidArgument or Unavailable (e.g. an unreadable kubeconfig) naming the
// target; the clock must outlive the actuator.
core::Result<std::unique_ptr<act::Actuator>> MakeActuator(const ScaleTargetConfig& config,
                                                          const core::Clock* clock);

}  // namespace amas::app

#endif  // AMAS_APP_ACTUATORS_H_
