// celery_actuator.h: resizes Celery worker pools over a Redis broker with the
// remote-control (pidbox) protocol. The count is the sum of the pools' target
// sizes over the workers that answer `stats` within reply_timeout (see
// celery_plan.h); Apply spreads a change over those workers: pool_grow, one
// pool_shrink per process, each waited out (a refused one changes nothing), and
// `autoscale N N` for autoscaling workers, which pins them to N.
// Not an error: a worker that stays silent (counted in state().silent).
// Unavailable: broker unreachable, no worker answering, a shrink refused
// because every process is busy. Apply re-reads `stats` before it returns OK.
// Thread rule: Current/Apply from one thread; state() from any.
#ifndef AMAS_ACT_CELERY_ACTUATOR_H_
#define AMAS_ACT_CELERY_ACTUATOR_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "act/actuator.h"
#include "act/celery_pidbox.h"
#include "act/redis_conn.h"
#include "core/core.h"

namespace amas::act::celery {

// "redis://[:password@]host[:port][/db]" (kombu's broker URL) to an Endpoint.
core::Result<redis::Endpoint> ParseBrokerUrl(std::string_view url);

struct CeleryOptions {
  std::string name;                  // the scale target, for messages and the fence key
  redis::Endpoint broker;            // see ParseBrokerUrl
  std::vector<std::string> workers;  // exact hostnames ("w1@host"); empty: all that listen
  core::Duration reply_timeout = core::Duration::Seconds(1);
  core::Duration connect_timeout = core::Duration::Seconds(2);
  // Highest fence token seen, kept on the broker so every replica sees it.
  // "" means "amas-scaler:fence:<name>".
  std::string fence_key;
  // How long a shrunk child may stay listed before the next pool_shrink.
  core::Duration shrink_settle_timeout = core::Duration::Seconds(5);
  const core::Clock* clock = nullptr;  // borrowed; must outlive the actuator
  Sleeper* sleeper = nullptr;          // borrowed; paces the wait above
};

struct CeleryWorkerState {
  std::string hostname;
  int32_t processes = -1;  // live children as `stats` listed them
  int32_t target = 0;      // the size the pool is heading to (what we count)
  bool autoscale = false;
  int32_t autoscale_min = 0;
  int32_t autoscale_max = 0;
  std::string last_result;  // the worker's answer to our last command, if any
};

struct CeleryState {
  enum class Phase { kIdle, kReading, kResizing, kDone, kNoWorkers, kFailed };
  Phase phase = Phase::kIdle;
  int32_t listeners = 0;  // PUBLISH's receiver count for the last broadcast
  int32_t answered = 0;
  int32_t silent = 0;    // listeners that did not answer in time
  int32_t current = -1;  // -1: unknown
  int32_t desired = -1;  // of the last Apply
  int64_t commands_last_apply = 0;
  int64_t commands_total = 0;
  std::vector<CeleryWorkerState> workers;  // sorted by hostname
  std::string last_error;
  core::Time updated;
};
std::string_view PhaseName(CeleryState::Phase phase);

class CeleryActuator final : public Actuator {
 public:
  // InvalidArgument when options lack a name, clock or sleeper.
  static core::Result<std::unique_ptr<CeleryActuator>> Create(CeleryOptions options);

  std::string_view kind() const override { return "celery"; }
  std::string Describe() const override;
  core::Result<int32_t> Current() override;
  core::Status Apply(int32_t desired, Fence fence) override;
  // Each worker's answer to the last Apply's commands, one per line.
  std::string LastOutput() const override;

  // A copy of the progress, for metrics and /api/v1/scale_targets.
  CeleryState state() const;

 private:
  explicit CeleryActuator(CeleryOptions options);

  struct Broadcast {
    int32_t listeners = 0;
    std::vector<PidboxReply> replies;  // one per answering worker
  };
  struct Reading {
    int32_t listeners = 0;
    std::vector<CeleryWorkerState> workers;
  };
  core::Status Connect();
  core::Result<Broadcast> Call(const std::string& method, const std::string& arguments_json,
                               const std::vector<std::string>& destination);
  core::Result<Reading> Read();
  core::Status CheckFence(Fence fence);
  // Polls `stats` until hostname lists fewer than live children; updates live.
  core::Status WaitForChildExit(const std::string& hostname, int32_t& live);
  core::Status Resize(const std::vector<CeleryWorkerState>& workers, int32_t desired,
                      std::vector<std::string>& errors, bool& transient);
  std::string NewId();
  void Publish(const std::function<void(CeleryState&)>& change);

  CeleryOptions options_;
  std::optional<redis::Conn> conn_;
  std::map<std::string, int32_t> multiplier_;  // per hostname; -1: unknown
  std::mt19937_64 rng_;
  mutable std::mutex mu_;  // guards state_
  CeleryState state_;
  std::string last_output_;
};

}  // namespace amas::act::celery

#endif  // AMAS_ACT_CELERY_ACTUATOR_H_
