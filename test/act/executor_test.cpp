#include "act/executor.h"

#include <catch2/catch.hpp>

#include <thread>

#include "executor_fakes.h"

namespace amas::act {
namespace {

using core::Status;
using testing::FakeActuator;
using testing::FakeBackend;
using testing::ManualClock;
using testing::RecordingSleeper;

struct Rig {
  ManualClock clock;
  RecordingSleeper sleeper{&clock};
  ActionLog log;
  FenceTracker fences;
  std::atomic<bool> global_dry_run{false};
  std::shared_ptr<FakeBackend> backend = std::make_shared<FakeBackend>();
  std::unique_ptr<Executor> exec;

  explicit Rig(TargetPolicy policy = Policy(), RetryPolicy retry = {}) {
    auto made = Executor::Create(std::make_unique<FakeActuator>(backend), std::move(policy), retry,
                                 {&clock, &sleeper, &log, &fences, &global_dry_run});
    REQUIRE(made.ok());
    exec = std::move(made).value();
  }
  static TargetPolicy Policy() {
    TargetPolicy p;
    p.target = "backend";
    p.min_replicas = 3;
    p.max_replicas = 20;
    return p;
  }
  ActionRecord Act(int32_t desired, uint64_t token = 0) {
    ActionRequest req;
    req.desired = desired;
    req.fence.token = token;
    req.decided_at = clock.Now();
    return exec->Act(req);
  }
};

TEST_CASE("asking for the count the target already has changes nothing") {
  Rig rig;
  rig.backend->count = 5;
  ActionRecord r = rig.Act(5);
  CHECK(r.result == ActionResult::kUnchanged);
  CHECK(r.direction == Direction::kNone);
  CHECK(rig.backend->applies.empty());
  CHECK(rig.log.Recent().empty());  // counted, not kept
  CHECK(rig.log.Counts().at({"backend", "none", "unchanged"}) == 1);
}

TEST_CASE("an action moves the count and is recorded as data") {
  Rig rig;
  rig.backend->count = 5;
  ActionRecord r = rig.Act(8, 7);
  CHECK(r.result == ActionResult::kApplied);
  CHECK(r.from == 5);
  CHECK(r.to == 8);
  CHECK(r.direction == Direction::kUp);
  CHECK(r.attempts == 1);
  CHECK(r.fence == 7);
  CHECK(r.actuator == "fake");
  CHECK(r.resource == "fake thing");
  CHECK(rig.backend->applies == std::vector<int32_t>{8});
  REQUIRE(rig.log.Recent().size() == 1);
  CHECK(rig.log.Counts().at({"backend", "up", "applied"}) == 1);
  TargetState s = rig.exec->State();
  CHECK(s.phase == TargetState::Phase::kSteady);
  CHECK(s.observed == 8);
  CHECK(s.last_applied == 8);
  REQUIRE(s.last_action);
  CHECK(s.last_action->to == 8);
}

TEST_CASE("min, max and max_step clamp the desired count") {
  struct Row {
    int32_t current, desired, max_step, want;
  };
  // min 3, max 20.
  const Row rows[] = {
      {5, 1, 0, 3},  {5, 0, 0, 3},    {5, 50, 0, 20}, {25, 30, 0, 20}, {10, 15, 2, 12},
      {10, 4, 2, 8}, {10, 50, 4, 14}, {2, 2, 0, 3},   {19, 25, 5, 20}, {30, 1, 5, 25},
  };
  for (const Row& row : rows) {
    TargetPolicy p = Rig::Policy();
    p.max_step = row.max_step;
    Rig rig(p);
    rig.backend->count = row.current;
    ActionRecord r = rig.Act(row.desired);
    INFO("current " << row.current << " desired " << row.desired << " max_step " << row.max_step);
    CHECK(r.to == row.want);
    CHECK(rig.backend->count == row.want);
    CHECK(r.requested == row.desired);
    CHECK_FALSE(r.why.empty());
  }
}

TEST_CASE("dry-run per target and global reads but never changes") {
  SECTION("per target") {
    TargetPolicy p = Rig::Policy();
    p.dry_run = true;
    Rig rig(p);
    rig.backend->count = 5;
    ActionRecord r = rig.Act(9);
    CHECK(r.result == ActionResult::kDryRun);
    CHECK(r.dry_run);
    CHECK(r.to == 9);
    CHECK(rig.backend->applies.empty());
    CHECK(rig.backend->count == 5);
    CHECK_FALSE(rig.exec->State().last_applied);
  }
  SECTION("global switch, flipped at run time") {
    Rig rig;
    rig.backend->count = 5;
    rig.global_dry_run = true;
    CHECK(rig.Act(9).result == ActionResult::kDryRun);
    CHECK(rig.backend->applies.empty());
    rig.global_dry_run = false;
    CHECK(rig.Act(9).result == ActionResult::kApplied);
    CHECK(rig.backend->applies == std::vector<int32_t>{9});
  }
}

TEST_CASE("transient errors are retried with exponential backoff") {
  RetryPolicy retry;
  retry.max_attempts = 4;
  retry.initial_backoff = core::Duration::Millis(100);
  retry.max_backoff = core::Duration::Millis(250);
  Rig rig(Rig::Policy(), retry);
  rig.backend->count = 5;
  rig.backend->apply_errors = {Status::Unavailable("503"), Status::Unavailable("timeout"),
                               Status::Unavailable("503")};
  const core::Time t0 = rig.clock.Now();
  ActionRecord r = rig.Act(7);
  CHECK(r.result == ActionResult::kApplied);
  CHECK(r.attempts == 4);
  CHECK(rig.sleeper.sleeps() == std::vector<int64_t>{100, 200, 250});
  CHECK(rig.backend->count == 7);
  CHECK(r.finished - t0 == core::Duration::Millis(550));
  // One read before acting and one before each retry.
  CHECK(rig.backend->reads == 4);
}

TEST_CASE("transient read errors are retried too") {
  Rig rig;
  rig.backend->count = 5;
  rig.backend->read_errors = {Status::Unavailable("connection refused")};
  ActionRecord r = rig.Act(6);
  CHECK(r.result == ActionResult::kApplied);
  CHECK(rig.sleeper.sleeps().size() == 1);
}

TEST_CASE("permanent errors are not retried") {
  Rig rig;
  rig.backend->count = 5;
  rig.backend->apply_errors = {Status::PermissionDenied("deployments/scale is forbidden")};
  ActionRecord r = rig.Act(7);
  CHECK(r.result == ActionResult::kFailed);
  CHECK(r.attempts == 1);
  CHECK(rig.sleeper.sleeps().empty());
  CHECK(r.error.find("PermissionDenied") != std::string::npos);
  CHECK(r.error.find("fake thing") != std::string::npos);
  TargetState s = rig.exec->State();
  CHECK(s.phase == TargetState::Phase::kFailed);
  CHECK(s.observed == 5);
  CHECK_FALSE(s.last_error.empty());
}

TEST_CASE("a write whose reply was lost is not applied twice") {
  Rig rig;
  rig.backend->count = 5;
  rig.backend->apply_lands_before_error = true;
  rig.backend->apply_errors = {Status::Unavailable("timeout after 10s")};
  ActionRecord r = rig.Act(8);
  CHECK(r.result == ActionResult::kApplied);
  CHECK(rig.backend->applies == std::vector<int32_t>{8});
  CHECK(r.attempts == 1);
}

TEST_CASE("when retries run out the state says what is known") {
  RetryPolicy retry;
  retry.max_attempts = 2;
  SECTION("count re-read: failed, observed is the real count") {
    Rig rig(Rig::Policy(), retry);
    rig.backend->count = 5;
    rig.backend->apply_errors = {Status::Unavailable("503"), Status::Unavailable("503")};
    ActionRecord r = rig.Act(8);
    CHECK(r.result == ActionResult::kFailed);
    CHECK(r.attempts == 2);
    TargetState s = rig.exec->State();
    CHECK(s.phase == TargetState::Phase::kFailed);
    CHECK(s.observed == 5);
  }
  SECTION("count unreadable: outcome unknown, and the next read resolves it") {
    Rig rig(Rig::Policy(), retry);
    rig.backend->count = 5;
    rig.backend->apply_lands_before_error = true;
    rig.backend->apply_errors = {Status::Unavailable("timeout")};
    // The first read succeeds; every read after the write fails.
    rig.backend->read_errors = {Status::Ok(), Status::Unavailable("down"),
                                Status::Unavailable("down")};
    ActionRecord r = rig.Act(8);
    CHECK(r.result == ActionResult::kFailed);
    CHECK(rig.exec->State().phase == TargetState::Phase::kOutcomeUnknown);
    CHECK(rig.backend->applies.size() == 1);
    Observation o = rig.exec->Observe({});
    REQUIRE(o.current);
    CHECK(*o.current == 8);
    CHECK(rig.exec->State().phase == TargetState::Phase::kSteady);
  }
}

TEST_CASE("a stale fencing token is rejected before anything is read or written") {
  Rig rig;
  rig.backend->count = 5;
  CHECK(rig.Act(6, 10).result == ActionResult::kApplied);
  ActionRecord r = rig.Act(9, 9);
  CHECK(r.result == ActionResult::kRejected);
  CHECK(r.error.find("stale fencing token 9 < 10") != std::string::npos);
  CHECK(rig.backend->applies == std::vector<int32_t>{6});
  CHECK(rig.Act(9, 11).result == ActionResult::kApplied);
}

TEST_CASE("one tracker shared by executors refuses old tokens on every target") {
  ManualClock clock;
  RecordingSleeper sleeper(&clock);
  FenceTracker fences;
  auto b1 = std::make_shared<FakeBackend>();
  auto b2 = std::make_shared<FakeBackend>();
  TargetPolicy p1 = Rig::Policy(), p2 = Rig::Policy();
  p2.target = "worker";
  auto e1 = Executor::Create(std::make_unique<FakeActuator>(b1), p1, {},
                             {&clock, &sleeper, nullptr, &fences, nullptr});
  auto e2 = Executor::Create(std::make_unique<FakeActuator>(b2), p2, {},
                             {&clock, &sleeper, nullptr, &fences, nullptr});
  REQUIRE(e1.ok());
  REQUIRE(e2.ok());
  ActionRequest req;
  req.desired = 4;
  req.fence.token = 3;
  CHECK((*e1)->Act(req).result == ActionResult::kApplied);
  req.fence.token = 2;
  CHECK((*e2)->Act(req).result == ActionResult::kRejected);
  CHECK(b2->applies.empty());
}

TEST_CASE("a closed ready gate holds the move and says why") {
  Rig rig;
  rig.backend->count = 5;
  ActionRequest req;
  req.desired = 6;
  req.gate = {false, "pg_replication_lag_seconds 14 >= 10"};
  ActionRecord r = rig.exec->Act(req);
  CHECK(r.result == ActionResult::kBlocked);
  CHECK(r.error == "ready_when not met: pg_replication_lag_seconds 14 >= 10");
  CHECK(rig.backend->applies.empty());
  req.gate = {true, ""};
  CHECK(rig.exec->Act(req).result == ActionResult::kApplied);
}

TEST_CASE("one action at a time per target under concurrent callers") {
  Rig rig;
  rig.backend->count = 5;
  rig.backend->apply_delay = std::chrono::microseconds(200);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&rig, t] {
      for (int i = 0; i < 40; ++i) rig.Act(4 + (t + i) % 8);
    });
  }
  for (auto& th : threads) th.join();
  CHECK(rig.backend->max_in_flight == 1);
  CHECK_FALSE(rig.backend->applies.empty());
  uint64_t total = 0;
  for (const auto& [key, n] : rig.log.Counts()) total += n;
  CHECK(total == 8 * 40);
}

TEST_CASE("drift is reported, and reapplied only when the policy says so") {
  SECTION("report") {
    Rig rig;
    rig.backend->count = 5;
    rig.Act(8);
    rig.backend->count = 12;  // someone scaled by hand
    Observation o = rig.exec->Observe({});
    CHECK(o.current == 12);
    CHECK(o.drift_expected == 8);
    CHECK_FALSE(o.reapplied);
    CHECK(rig.backend->count == 12);
    CHECK(rig.exec->State().drift_from == 8);
    // Reported once: the hand-set count is the new baseline.
    CHECK_FALSE(rig.exec->Observe({}).drift_expected);
  }
  SECTION("reapply") {
    TargetPolicy p = Rig::Policy();
    p.drift = DriftPolicy::kReapply;
    Rig rig(p);
    rig.backend->count = 5;
    rig.Act(8);
    rig.backend->count = 12;
    Observation o = rig.exec->Observe({});
    CHECK(o.drift_expected == 8);
    REQUIRE(o.reapplied);
    CHECK(o.reapplied->result == ActionResult::kApplied);
    CHECK(o.reapplied->from == 12);
    CHECK(o.current == 8);
    CHECK(rig.backend->count == 8);
    CHECK_FALSE(rig.exec->Observe({}).drift_expected);
  }
  SECTION("no action yet: nothing to compare") {
    Rig rig;
    rig.backend->count = 5;
    CHECK_FALSE(rig.exec->Observe({}).drift_expected);
  }
}

TEST_CASE("bad policies are refused with the target's name") {
  ManualClock clock;
  RecordingSleeper sleeper(&clock);
  TargetPolicy p = Rig::Policy();
  p.min_replicas = 30;
  auto made = Executor::Create(std::make_unique<FakeActuator>(std::make_shared<FakeBackend>()), p,
                               {}, {&clock, &sleeper});
  REQUIRE_FALSE(made.ok());
  CHECK(made.status().message() == "scale target \"backend\": min_replicas 30 > max_replicas 20");
  auto no_clock = Executor::Create(std::make_unique<FakeActuator>(std::make_shared<FakeBackend>()),
                                   Rig::Policy(), {}, {});
  CHECK(no_clock.status().code() == Status::Code::kFailedPrecondition);
}

TEST_CASE("the recent-actions list is bounded") {
  ManualClock clock;
  RecordingSleeper sleeper(&clock);
  ActionLog log(3);
  auto backend = std::make_shared<FakeBackend>();
  backend->count = 3;
  auto made = Executor::Create(std::make_unique<FakeActuator>(backend), Rig::Policy(), {},
                               {&clock, &sleeper, &log});
  REQUIRE(made.ok());
  for (int32_t n = 4; n <= 9; ++n) (*made)->Act({n, {}, {}, clock.Now(), ""});
  auto recent = log.Recent();
  REQUIRE(recent.size() == 3);
  CHECK(recent.front().to == 7);
  CHECK(recent.back().to == 9);
}

}  // namespace
}  // namespace amas::act
