// actuator.h: carrying out a decision. Depends on core.
// An Actuator drives one scale target: Current() reads its count, Apply()
// moves it to a desired count. Apply is idempotent (the count it already has
// is OK and changes nothing) and checks the fencing token so a replica that
// lost its lease can never act. Executor wraps any Actuator with what every
// action needs: one action at a time per target, retries with backoff on
// transient errors only, min/max and max-step clamps, dry-run, and a record
// of each action as data for metrics, /api/v1/scale_targets and webhooks.
// Thread rule: an Actuator is used by one Executor; Executors are thread-safe.
#ifndef AMAS_ACT_ACTUATOR_H_
#define AMAS_ACT_ACTUATOR_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "core/core.h"

namespace amas::act {

// The lease's fencing token (state/): larger is newer. 0 means "no HA",
// which actuators accept.
struct Fence {
  uint64_t token = 0;
};

class Actuator {
 public:
  virtual ~Actuator() = default;
  // "kubernetes", "celery", "redis_cluster", "exec", "dry_run".
  virtual std::string_view kind() const = 0;
  // What the actuator drives, for messages: "deployment default/backend".
  virtual std::string Describe() const = 0;
  // The count the target has now. Unavailable on transient failures
  // (timeouts, 5xx, connection refused); other codes are not retried.
  virtual core::Result<int32_t> Current() = 0;
  // Moves the target to desired. Same error convention as Current().
  virtual core::Status Apply(int32_t desired, Fence fence) = 0;
  // Bounded output of the last Apply (exec's stdout/stderr) for the action
  // record; most actuators have none.
  virtual std::string LastOutput() const { return {}; }
};

// True iff the error is worth retrying: the Unavailable code of the contract.
inline bool IsTransient(const core::Status& s) { return s.IsUnavailable(); }

// How code outside app/ waits (backoff, rate limits): app/ passes one that
// sleeps, tests pass one that moves their clock. Implementations are thread-safe.
class Sleeper {
 public:
  virtual ~Sleeper() = default;
  virtual void Sleep(core::Duration d) = 0;
};

}  // namespace amas::act

#endif  // AMAS_ACT_ACTUATOR_H_
