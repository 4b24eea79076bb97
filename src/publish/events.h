// events.h: what amas-scaler tells the outside world happened, as data.
// A ScaleEvent is a changed recommendation or an action that started,
// succeeded or failed. EventJson() renders the documented webhook body
// (docs/webhooks.md); it never fails.
#ifndef AMAS_PUBLISH_EVENTS_H_
#define AMAS_PUBLISH_EVENTS_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/core.h"

namespace amas::publish {

struct ScaleEvent {
  // "recommendation", "action_started", "action_succeeded", "action_failed"
  std::string kind;
  std::string target;
  int32_t from = 0;
  int32_t to = 0;
  std::string reason;
  std::vector<std::pair<std::string, double>> rule_values;  // rule name, value
  core::Time at;
  std::string error;  // action_failed only
};

// {"version":"1","kind":..,"target":..,"from":..,"to":..,"reason":..,
//  "rules":[{"rule":..,"value":..}],"timestamp":"RFC 3339","error":..}
// Non-finite rule values are written as strings ("NaN", "+Inf").
std::string EventJson(const ScaleEvent& event);

}  // namespace amas::publish

#endif  // AMAS_PUBLISH_EVENTS_H_
