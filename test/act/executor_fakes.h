// executor_fakes.h: a scriptable Actuator that records calls, a clock moved by
// hand and a sleeper that moves it, for deterministic executor tests.
#ifndef AMAS_TEST_ACT_EXECUTOR_FAKES_H_
#define AMAS_TEST_ACT_EXECUTOR_FAKES_H_

#include <atomic>
#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "act/actuator.h"
#include "core/core.h"
#include "testing/testing.h"

namespace amas::act::testing {

class ManualClock : public core::Clock {
 public:
  core::Time Now() const override { return core::Time::FromUnixMillis(ms_.load()); }
  void Advance(core::Duration d) { ms_ += d.millis(); }

 private:
  std::atomic<int64_t> ms_{1'700'000'000'000};
};

// Records every sleep and advances the clock by it.
class RecordingSleeper : public Sleeper {
 public:
  explicit RecordingSleeper(ManualClock* clock) : clock_(clock) {}
  void Sleep(core::Duration d) override {
    std::lock_guard lock(mu_);
    sleeps_.push_back(d.millis());
    clock_->Advance(d);
  }
  std::vector<int64_t> sleeps() const {
    std::lock_guard lock(mu_);
    return sleeps_;
  }

 private:
  ManualClock* clock_;
  mutable std::mutex mu_;
  std::vector<int64_t> sleeps_;
};

// Wall clock and real sleeps, for integration tests and benchmarks.
using SystemClock = amas::testing::SystemClock;
class ThreadSleeper : public Sleeper {
 public:
  void Sleep(core::Duration d) override {
    std::this_thread::sleep_for(std::chrono::milliseconds(d.millis()));
  }
};

// What the fake backend holds and what it was asked; shared with the test.
struct FakeBackend {
  std::mutex mu;
  int32_t count = 0;
  std::vector<int32_t> applies;  // every Apply's desired, in order
  int reads = 0;
  // Scripted failures, consumed front first; OK entries mean "behave".
  std::deque<core::Status> read_errors;
  std::deque<core::Status> apply_errors;
  // When set, a failing Apply still changes the count first (reply lost).
  bool apply_lands_before_error = false;
  std::atomic<int> in_flight{0};
  std::atomic<int> max_in_flight{0};
  std::chrono::microseconds apply_delay{0};
};

class FakeActuator : public Actuator {
 public:
  explicit FakeActuator(std::shared_ptr<FakeBackend> b) : b_(std::move(b)) {}
  std::string_view kind() const override { return "fake"; }
  std::string Describe() const override { return "fake thing"; }
  core::Result<int32_t> Current() override {
    std::lock_guard lock(b_->mu);
    ++b_->reads;
    if (!b_->read_errors.empty()) {
      core::Status s = b_->read_errors.front();
      b_->read_errors.pop_front();
      if (!s.ok()) return s;
    }
    return b_->count;
  }
  core::Status Apply(int32_t desired, Fence) override {
    const int now = ++b_->in_flight;
    int seen = b_->max_in_flight.load();
    while (now > seen && !b_->max_in_flight.compare_exchange_weak(seen, now)) {
    }
    if (b_->apply_delay.count() > 0) std::this_thread::sleep_for(b_->apply_delay);
    core::Status result;
    {
      std::lock_guard lock(b_->mu);
      b_->applies.push_back(desired);
      if (!b_->apply_errors.empty()) {
        result = b_->apply_errors.front();
        b_->apply_errors.pop_front();
      }
      if (result.ok() || b_->apply_lands_before_error) b_->count = desired;
    }
    --b_->in_flight;
    return result;
  }

 private:
  std::shared_ptr<FakeBackend> b_;
};

}  // namespace amas::act::testing

#endif  // AMAS_TEST_ACT_EXECUTOR_FAKES_H_
