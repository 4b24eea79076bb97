#include "act/executor.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace amas::act {

using core::Status;

std::string_view DirectionName(Direction d) {
  switch (d) {
    case Direction::kNone:
      return "none";
    case Direction::kUp:
      return "up";
    case Direction::kDown:
      return "down";
  }
  return "none";
}

std::string_view ResultName(ActionResult r) {
  switch (r) {
    case ActionResult::kApplied:
      return "applied";
    case ActionResult::kUnchanged:
      return "unchanged";
    case ActionResult::kDryRun:
      return "dry_run";
    case ActionResult::kBlocked:
      return "blocked";
    case ActionResult::kRejected:
      return "rejected";
    case ActionResult::kFailed:
      return "failed";
  }
  return "failed";
}

std::string_view PhaseName(TargetState::Phase p) {
  switch (p) {
    case TargetState::Phase::kUnknown:
      return "unknown";
    case TargetState::Phase::kSteady:
      return "steady";
    case TargetState::Phase::kActing:
      return "acting";
    case TargetState::Phase::kFailed:
      return "failed";
    case TargetState::Phase::kOutcomeUnknown:
      return "outcome_unknown";
  }
  return "unknown";
}

void ActionLog::Add(const ActionRecord& r) {
  {
    std::lock_guard lock(mu_);
    ++counts_[{r.target, std::string(DirectionName(r.direction)),
               std::string(ResultName(r.result))}];
    if (r.result != ActionResult::kUnchanged && keep_ > 0) {
      recent_.push_back(r);
      while (recent_.size() > keep_) recent_.pop_front();
    }
  }
  if (listener_) listener_(r);
}

std::vector<ActionRecord> ActionLog::Recent() const {
  std::lock_guard lock(mu_);
  return {recent_.begin(), recent_.end()};
}

std::map<ActionLog::Key, uint64_t> ActionLog::Counts() const {
  std::lock_guard lock(mu_);
  return counts_;
}

bool FenceTracker::Admit(uint64_t token) {
  uint64_t seen = highest_.load();
  while (token > seen) {
    if (highest_.compare_exchange_weak(seen, token)) return true;
  }
  return token >= seen;
}

namespace {

Status CheckPolicy(const TargetPolicy& p) {
  if (p.target.empty()) return Status::InvalidArgument("scale target without a name");
  const std::string where = "scale target \"" + p.target + "\": ";
  if (p.min_replicas < 0) return Status::InvalidArgument(where + "min_replicas is negative");
  if (p.min_replicas > p.max_replicas) {
    return Status::InvalidArgument(where + "min_replicas " + std::to_string(p.min_replicas) +
                                   " > max_replicas " + std::to_string(p.max_replicas));
  }
  if (p.max_step < 0) return Status::InvalidArgument(where + "max_step is negative");
  return Status::Ok();
}

}  // namespace

core::Result<std::unique_ptr<Executor>> Executor::Create(std::unique_ptr<Actuator> actuator,
                                                         TargetPolicy policy, RetryPolicy retry,
                                                         ExecutorDeps deps) {
  if (Status s = CheckPolicy(policy); !s.ok()) return s;
  if (retry.max_attempts < 1) {
    return Status::InvalidArgument("scale target \"" + policy.target +
                                   "\": retry max_attempts must be at least 1");
  }
  if (actuator == nullptr || deps.clock == nullptr || deps.sleeper == nullptr) {
    return Status::FailedPrecondition("executor for \"" + policy.target +
                                      "\" needs an actuator, a clock and a sleeper");
  }
  return std::unique_ptr<Executor>(
      new Executor(std::move(actuator), std::move(policy), retry, deps));
}

Executor::Executor(std::unique_ptr<Actuator> actuator, TargetPolicy policy, RetryPolicy retry,
                   ExecutorDeps deps)
    : target_(policy.target),
      actuator_(std::move(actuator)),
      retry_(retry),
      deps_(deps),
      fences_(deps.fences != nullptr ? deps.fences : &own_fences_),
      policy_(std::move(policy)) {
  state_.target = target_;
}

Status Executor::SetPolicy(TargetPolicy policy) {
  if (Status s = CheckPolicy(policy); !s.ok()) return s;
  if (policy.target != target_) {
    return Status::InvalidArgument("cannot rename scale target \"" + target_ + "\" to \"" +
                                   policy.target + "\"");
  }
  std::lock_guard lock(state_mu_);
  policy_ = std::move(policy);
  return Status::Ok();
}

TargetPolicy Executor::PolicySnapshot() const {
  std::lock_guard lock(state_mu_);
  return policy_;
}

TargetState Executor::State() const {
  std::lock_guard lock(state_mu_);
  return state_;
}

void Executor::Backoff(int failures) {
  double ms = static_cast<double>(retry_.initial_backoff.millis()) *
              std::pow(retry_.multiplier, std::max(0, failures - 1));
  ms = std::min(ms, static_cast<double>(retry_.max_backoff.millis()));
  deps_.sleeper->Sleep(core::Duration::Millis(static_cast<int64_t>(ms)));
}

core::Result<int32_t> Executor::ReadWithRetry(int* failures) {
  while (true) {
    core::Result<int32_t> c = actuator_->Current();
    if (c.ok() || !IsTransient(c.status()) || ++*failures >= retry_.max_attempts) return c;
    Backoff(*failures);
  }
}

void Executor::Finish(ActionRecord& r) {
  r.finished = deps_.clock->Now();
  {
    std::lock_guard lock(state_mu_);
    state_.last_action = r;
  }
  if (deps_.log != nullptr) deps_.log->Add(r);
}

ActionRecord Executor::Act(const ActionRequest& request) {
  std::lock_guard act(act_mu_);
  return ActLocked(request, PolicySnapshot());
}

ActionRecord Executor::ActLocked(const ActionRequest& req, const TargetPolicy& policy) {
  ActionRecord r;
  r.target = target_;
  r.actuator = std::string(actuator_->kind());
  r.resource = actuator_->Describe();
  r.requested = req.desired;
  r.fence = req.fence.token;
  r.decided_at = req.decided_at;
  r.started = deps_.clock->Now();
  r.dry_run = policy.dry_run || (deps_.global_dry_run != nullptr && deps_.global_dry_run->load());
  if (!req.reason.empty()) r.why.push_back(req.reason);

  auto set_state = [&](TargetState::Phase phase, std::optional<int32_t> observed,
                       std::string error) {
    std::lock_guard lock(state_mu_);
    state_.phase = phase;
    if (observed) {
      state_.observed = observed;
      state_.observed_at = deps_.clock->Now();
    }
    state_.last_error = std::move(error);
  };
  auto fail = [&](ActionResult result, Status s, TargetState::Phase phase,
                  std::optional<int32_t> observed) {
    r.result = result;
    r.error = s.ToString();
    set_state(phase, observed, r.error);
    Finish(r);
    return r;
  };

  if (!fences_->Admit(req.fence.token)) {
    r.result = ActionResult::kRejected;
    r.error = "stale fencing token " + std::to_string(req.fence.token) + " < " +
              std::to_string(fences_->highest()) + ": another holder of the lease acts now";
    Finish(r);
    return r;
  }

  int failures = 0;
  core::Result<int32_t> cur = ReadWithRetry(&failures);
  if (!cur.ok()) {
    return fail(ActionResult::kFailed, cur.status().WithContext("read " + r.resource),
                TargetState::Phase::kFailed, std::nullopt);
  }
  r.from = *cur;

  int32_t to = req.desired;
  if (to < policy.min_replicas) {
    r.why.push_back("raised " + std::to_string(to) + " to min_replicas " +
                    std::to_string(policy.min_replicas));
    to = policy.min_replicas;
  }
  if (to > policy.max_replicas) {
    r.why.push_back("lowered " + std::to_string(to) + " to max_replicas " +
                    std::to_string(policy.max_replicas));
    to = policy.max_replicas;
  }
  if (policy.max_step > 0 && std::abs(static_cast<int64_t>(to) - r.from) > policy.max_step) {
    const int32_t stepped = to > r.from ? r.from + policy.max_step : r.from - policy.max_step;
    r.why.push_back("max_step " + std::to_string(policy.max_step) + ": " + std::to_string(r.from) +
                    " -> " + std::to_string(stepped) + " instead of " + std::to_string(to));
    to = stepped;
  }
  r.to = to;
  r.direction = to > r.from ? Direction::kUp : to < r.from ? Direction::kDown : Direction::kNone;

  if (to == r.from) {
    r.result = ActionResult::kUnchanged;
    set_state(TargetState::Phase::kSteady, r.from, "");
    Finish(r);
    return r;
  }
  if (!req.gate.ready) {
    r.result = ActionResult::kBlocked;
    r.error = "ready_when not met" + (req.gate.reason.empty() ? "" : ": " + req.gate.reason);
    r.why.push_back("held at " + std::to_string(r.from) + ": " + r.error);
    set_state(TargetState::Phase::kSteady, r.from, "");
    Finish(r);
    return r;
  }
  if (r.dry_run) {
    r.result = ActionResult::kDryRun;
    r.why.push_back("dry-run: would move " + std::to_string(r.from) + " -> " + std::to_string(to));
    set_state(TargetState::Phase::kSteady, r.from, "");
    Finish(r);
    return r;
  }

  set_state(TargetState::Phase::kActing, r.from, "");
  bool need_read = false;
  failures = 0;
  Status last;
  while (true) {
    if (need_read) {
      // A write failed transiently: it may have landed. Only write again once a
      // read shows it did not, so an action is never applied twice.
      core::Result<int32_t> again = actuator_->Current();
      if (again.ok() && *again == to) {
        r.why.push_back("an earlier attempt landed; its reply was lost");
        break;
      }
      if (!again.ok()) {
        last = again.status().WithContext("re-read after failed write");
        if (!IsTransient(again.status()) || ++failures >= retry_.max_attempts) {
          return fail(ActionResult::kFailed, last, TargetState::Phase::kOutcomeUnknown,
                      std::nullopt);
        }
        Backoff(failures);
        continue;
      }
      need_read = false;
    }
    if (!fences_->Current(req.fence.token)) {
      r.result = ActionResult::kRejected;
      r.error = "fencing token " + std::to_string(req.fence.token) + " superseded by " +
                std::to_string(fences_->highest()) + " during the action";
      set_state(TargetState::Phase::kSteady, std::nullopt, "");
      Finish(r);
      return r;
    }
    ++r.attempts;
    last = actuator_->Apply(to, req.fence);
    r.output = actuator_->LastOutput();
    if (last.ok()) break;
    last = last.WithContext("scale " + r.resource + " to " + std::to_string(to));
    if (!IsTransient(last)) {
      // Permanent errors (403, 404, bad config) are raised before any write.
      return fail(ActionResult::kFailed, last, TargetState::Phase::kFailed, r.from);
    }
    if (++failures >= retry_.max_attempts) {
      core::Result<int32_t> after = actuator_->Current();
      if (after.ok() && *after == to) {
        r.why.push_back("the last attempt landed; its reply was lost");
        break;
      }
      if (after.ok()) {
        return fail(ActionResult::kFailed, last, TargetState::Phase::kFailed, *after);
      }
      return fail(ActionResult::kFailed, last, TargetState::Phase::kOutcomeUnknown, std::nullopt);
    }
    Backoff(failures);
    need_read = true;
  }

  r.result = ActionResult::kApplied;
  {
    std::lock_guard lock(state_mu_);
    state_.last_applied = to;
    state_.drift_from.reset();
  }
  set_state(TargetState::Phase::kSteady, to, "");
  Finish(r);
  return r;
}

Observation Executor::Observe(Fence fence) {
  std::lock_guard act(act_mu_);
  const TargetPolicy policy = PolicySnapshot();
  Observation obs;
  int failures = 0;
  core::Result<int32_t> cur = ReadWithRetry(&failures);
  if (!cur.ok()) {
    obs.status = cur.status().WithContext("read " + actuator_->Describe());
    std::lock_guard lock(state_mu_);
    if (state_.phase == TargetState::Phase::kSteady) state_.phase = TargetState::Phase::kFailed;
    state_.last_error = obs.status.ToString();
    return obs;
  }
  obs.current = *cur;
  std::optional<int32_t> applied;
  {
    std::lock_guard lock(state_mu_);
    state_.observed = *cur;
    state_.observed_at = deps_.clock->Now();
    // A successful read resolves "outcome unknown" and "failed": the count is known.
    state_.phase = TargetState::Phase::kSteady;
    applied = state_.last_applied;
    if (applied && *applied != *cur) {
      obs.drift_expected = applied;
      state_.drift_from = applied;
      // Report: the hand-set count becomes the baseline, so it is reported once.
      if (policy.drift == DriftPolicy::kReport) state_.last_applied = *cur;
    }
  }
  if (obs.drift_expected && policy.drift == DriftPolicy::kReapply) {
    ActionRequest req;
    req.desired = *obs.drift_expected;
    req.fence = fence;
    req.decided_at = deps_.clock->Now();
    req.reason = "drift: found " + std::to_string(*cur) + ", reapplying " +
                 std::to_string(*obs.drift_expected);
    obs.reapplied = ActLocked(req, policy);
    if (obs.reapplied->result == ActionResult::kApplied) obs.current = obs.reapplied->to;
  }
  return obs;
}

}  // namespace amas::act
