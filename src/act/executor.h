// executor.h: what every action needs, around any Actuator.
// Act() clamps the desired count to [min, max] and max_step, skips it when the
// ready gate is closed, the fence is stale or the count is already there,
// retries transient errors (Unavailable) with backoff and re-reads before each
// retry, so an action whose reply was lost is never applied twice. Dry-run
// (global or per target) reads but never changes. Observe() reports drift.
// Results are plain data (ActionRecord, TargetState); metrics and webhooks are
// built from them elsewhere. Thread rule: Executor is thread-safe and runs one
// action at a time per target; callers wait their turn.
#ifndef AMAS_ACT_EXECUTOR_H_
#define AMAS_ACT_EXECUTOR_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "act/actuator.h"
#include "core/core.h"

namespace amas::act {

// On drift (the count differs from the one we last applied: someone scaled by
// hand), kReapply moves it back, kReport only records it and adopts the count.
enum class DriftPolicy { kReport, kReapply };

struct TargetPolicy {
  std::string target;  // the scale target's name: label value and log key
  int32_t min_replicas = 0;
  int32_t max_replicas = std::numeric_limits<int32_t>::max();
  int32_t max_step = 0;  // largest |to - from| per action; 0 = no limit
  bool dry_run = false;
  DriftPolicy drift = DriftPolicy::kReport;
};

// Exponential backoff between attempts: initial, initial*multiplier, ... capped.
struct RetryPolicy {
  int max_attempts = 4;  // attempts in all, including the first
  core::Duration initial_backoff = core::Duration::Millis(500);
  core::Duration max_backoff = core::Duration::Seconds(10);
  double multiplier = 2.0;
};

enum class Direction { kNone, kUp, kDown };
// kUnchanged: the target already has the count. kBlocked: the ready gate was
// closed. kRejected: stale fencing token. kFailed: error (see record.error).
enum class ActionResult { kApplied, kUnchanged, kDryRun, kBlocked, kRejected, kFailed };
std::string_view DirectionName(Direction d);  // "none", "up", "down"
std::string_view ResultName(ActionResult r);  // "applied", "unchanged", "dry_run", ...

// The outcome of a ready_when gate, evaluated by the caller (act cannot
// evaluate PromQL). A closed gate holds every move, up or down.
struct Gate {
  bool ready = true;
  std::string reason;  // e.g. "pg_replication_lag_seconds 14.2 >= 10"
};

struct ActionRequest {
  int32_t desired = 0;  // before clamps
  Fence fence;
  Gate gate;
  core::Time decided_at;  // when decide/ produced desired; for latency
  std::string reason;     // why this action ("decision", "drift reapply")
};

// One action, as data. from/to are -1 when the count could not be read.
struct ActionRecord {
  std::string target;
  std::string actuator;  // kind()
  std::string resource;  // Describe()
  int32_t requested = 0;
  int32_t from = -1;
  int32_t to = -1;  // after clamps
  Direction direction = Direction::kNone;
  ActionResult result = ActionResult::kFailed;
  std::string error;             // Status::ToString() when failed, reason when blocked
  std::vector<std::string> why;  // one line per clamp or hold
  int attempts = 0;              // Apply() calls made
  bool dry_run = false;
  uint64_t fence = 0;
  std::string output;  // LastOutput() of the actuator, bounded
  core::Time decided_at, started, finished;
};

// Where a target stands, for /api/v1/scale_targets.
struct TargetState {
  enum class Phase {
    kUnknown,         // never read successfully
    kSteady,          // count known, last action (if any) succeeded
    kActing,          // an action is in flight
    kFailed,          // last action failed; the count was re-read and is `observed`
    kOutcomeUnknown,  // last write may or may not have landed; next round re-reads
  };
  std::string target;
  Phase phase = Phase::kUnknown;
  std::optional<int32_t> observed;  // last count read
  core::Time observed_at;
  std::optional<int32_t> last_applied;  // what we last set (not dry-run)
  std::optional<int32_t> drift_from;    // set while a drift is being reported
  std::string last_error;
  std::optional<ActionRecord> last_action;
};
std::string_view PhaseName(TargetState::Phase p);  // "unknown", "steady", ...

struct Observation {
  core::Status status;  // why current is absent
  std::optional<int32_t> current;
  std::optional<int32_t> drift_expected;  // set iff drift was found: what we had applied
  std::optional<ActionRecord> reapplied;  // set iff policy kReapply acted
};

// Actions of all executors: a bounded list of recent ones (newest last) and
// counters by (target, direction, result). kUnchanged records are counted but
// not kept. Thread-safe; the listener runs on the acting thread, after Add.
class ActionLog {
 public:
  using Key = std::tuple<std::string, std::string, std::string>;  // target, direction, result
  explicit ActionLog(size_t keep = 256, std::function<void(const ActionRecord&)> listener = {})
      : keep_(keep), listener_(std::move(listener)) {}
  void Add(const ActionRecord& r);
  std::vector<ActionRecord> Recent() const;
  std::map<Key, uint64_t> Counts() const;

 private:
  const size_t keep_;
  const std::function<void(const ActionRecord&)> listener_;
  mutable std::mutex mu_;
  std::deque<ActionRecord> recent_;
  std::map<Key, uint64_t> counts_;
};

// Highest fencing token seen; share one per process so a call holding an
// older token than any other call has used is refused.
class FenceTracker {
 public:
  // True iff token >= the highest seen; raises the highest seen.
  bool Admit(uint64_t token);
  // True iff token is still the newest (nobody has admitted a higher one).
  bool Current(uint64_t token) const { return token >= highest_.load(); }
  uint64_t highest() const { return highest_.load(); }

 private:
  std::atomic<uint64_t> highest_{0};
};

// Borrowed collaborators; each must outlive the Executor. log, fences and
// global_dry_run may be null (no log, a private tracker, no global switch).
struct ExecutorDeps {
  const core::Clock* clock = nullptr;
  Sleeper* sleeper = nullptr;
  ActionLog* log = nullptr;
  FenceTracker* fences = nullptr;
  const std::atomic<bool>* global_dry_run = nullptr;
};

class Executor {
 public:
  // InvalidArgument for an empty target, min > max, negative min or max_step,
  // max_attempts < 1; FailedPrecondition for a null actuator, clock or sleeper.
  static core::Result<std::unique_ptr<Executor>> Create(std::unique_ptr<Actuator> actuator,
                                                        TargetPolicy policy, RetryPolicy retry,
                                                        ExecutorDeps deps);
  Executor(const Executor&) = delete;  // owns the target's lock and history
  Executor& operator=(const Executor&) = delete;

  ActionRecord Act(const ActionRequest& request);
  // Reads the count, compares it with the last one applied, and reapplies per
  // policy (with `fence`). Call once per round before deciding.
  Observation Observe(Fence fence);
  TargetState State() const;
  // Takes effect from the next action (config reload). Same checks as Create.
  core::Status SetPolicy(TargetPolicy policy);
  const std::string& target() const { return target_; }

 private:
  Executor(std::unique_ptr<Actuator> actuator, TargetPolicy policy, RetryPolicy retry,
           ExecutorDeps deps);
  ActionRecord ActLocked(const ActionRequest& request, const TargetPolicy& policy);
  core::Result<int32_t> ReadWithRetry(int* attempts_left);
  void Finish(ActionRecord& r);
  void Backoff(int attempt);
  TargetPolicy PolicySnapshot() const;

  const std::string target_;
  std::unique_ptr<Actuator> actuator_;
  const RetryPolicy retry_;
  const ExecutorDeps deps_;
  FenceTracker own_fences_;
  FenceTracker* fences_;

  std::mutex act_mu_;            // held for a whole action: one at a time per target
  mutable std::mutex state_mu_;  // guards policy_ and state_; never held across I/O
  TargetPolicy policy_;
  TargetState state_;
};

}  // namespace amas::act

#endif  // AMAS_ACT_EXECUTOR_H_
