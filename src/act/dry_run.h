// dry_run.h: an actuator that keeps its count in memory and touches nothing.
// For targets with no backend yet, demos and tests; kind() is "dry_run".
// Thread rule: thread-safe (the Executor serializes anyway).
#ifndef AMAS_ACT_DRY_RUN_H_
#define AMAS_ACT_DRY_RUN_H_

#include <atomic>
#include <memory>
#include <string>

#include "act/actuator.h"

namespace amas::act {

class DryRunActuator : public Actuator {
 public:
  DryRunActuator(std::string target, int32_t initial)
      : target_(std::move(target)), count_(initial) {}
  std::string_view kind() const override { return "dry_run"; }
  std::string Describe() const override { return "dry_run " + target_; }
  core::Result<int32_t> Current() override { return count_.load(); }
  // Negative counts are InvalidArgument, as a real backend would say.
  core::Status Apply(int32_t desired, Fence fence) override;

 private:
  const std::string target_;
  std::atomic<int32_t> count_;
};

}  // namespace amas::act

#endif  // AMAS_ACT_DRY_RUN_H_
