#include "act/dry_run.h"

namespace amas::act {

core::Status DryRunActuator::Apply(int32_t desired, Fence) {
  if (desired < 0) {
    return core::Status::InvalidArgument(Describe() + ": negative count " +
                                         std::to_string(desired));
  }
  count_ = desired;
  return core::Status::Ok();
}

}  // namespace amas::act
