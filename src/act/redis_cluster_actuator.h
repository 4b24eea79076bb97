// redis_cluster_actuator.h: scales a Redis Cluster, natively over hiredis.
// The count is the number of masters that own slots; each comes with
// replicas_per_master replicas. Scale-out joins standby nodes (CLUSTER RESET
// HARD, MEET, REPLICATE), waits for cluster_state:ok, then moves slots to an
// even share; scale-in drains masters (standby ones first), then FORGETs and
// resets them and their replicas. Every Apply starts from what the nodes say:
// it first finishes or rolls back open slots, so a retry resumes, never redoes.
// Unavailable: node unreachable, cluster not ok, convergence timeout.
// FailedPrecondition: standby pool too small, stale fence, key conflicts.
// Thread rule: Current/Apply from one thread; progress() from any.
#ifndef AMAS_ACT_REDIS_CLUSTER_ACTUATOR_H_
#define AMAS_ACT_REDIS_CLUSTER_ACTUATOR_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "act/actuator.h"
#include "act/redis_conn.h"
#include "core/core.h"

namespace amas::act::redis {

struct ClusterProgress {
  enum class Phase {
    kIdle,
    kReading,
    kRepairing,    // finishing or rolling back slots left open
    kJoining,      // standby nodes meeting the cluster
    kReplicating,  // new replicas syncing
    kMigrating,    // moving slots
    kRemoving,     // forgetting drained masters and their replicas
    kDone,
    kFailed,
  };
  Phase phase = Phase::kIdle;
  int32_t masters = -1;  // masters owning slots at the last look; -1 unknown
  int32_t desired = -1;
  int64_t slots_planned = 0;  // of the current Apply
  int64_t slots_moved = 0;
  int64_t keys_moved = 0;
  int current_slot = -1;                   // first slot of the batch in flight
  std::string from, to;                    // "ip:port" of that batch
  std::vector<int> open_slots;             // importing/migrating when the Apply ended
  int64_t rollbacks = 0;                   // slots put back with SETSLOT STABLE (total)
  int64_t repairs = 0;                     // open slots finished by a later Apply (total)
  int64_t conflicts = 0;                   // keys found on both sides of a move (total)
  std::vector<std::string> failed_nodes;   // "ip:port" the cluster flags fail
  std::vector<std::string> joined_nodes;   // by the last Apply
  std::vector<std::string> removed_nodes;  // by the last Apply
  int32_t standby_free = -1;               // pool nodes ready to join at the last look
  std::string last_error;
  core::Time started, updated;
};
std::string_view PhaseName(ClusterProgress::Phase phase);

struct RedisClusterOptions {
  std::string name;               // the scale target, for messages and the fence key
  std::vector<Endpoint> seeds;    // any nodes of the cluster; IPs, as the cluster announces
  std::vector<Endpoint> standby;  // the pool scale-out draws from, in this order
  int replicas_per_master = 1;
  std::string password;        // requirepass/masterauth of every node, "" for none
  int slots_per_batch = 64;    // slots open at the same time during a move
  int keys_per_migrate = 100;  // keys per MIGRATE
  core::Duration command_timeout = core::Duration::Seconds(5);
  core::Duration migrate_timeout = core::Duration::Seconds(10);
  core::Duration converge_timeout = core::Duration::Seconds(60);
  core::Duration poll_interval = core::Duration::Millis(100);
  // Apply at the current count still evens out slots when a master is
  // further than this from its share (finishes an interrupted move).
  double rebalance_threshold_percent = 2.0;
  // Highest fence token seen, stored in the cluster itself. "" means
  // "amas-scaler:fence:{<name>}".
  std::string fence_key;
  const core::Clock* clock = nullptr;  // borrowed; must outlive the actuator
  Sleeper* sleeper = nullptr;          // borrowed; paces polls
  // Called after every MIGRATE and every batch of slots, on the Apply
  // thread (tests use it to inject faults at a known point).
  std::function<void(const ClusterProgress&)> on_progress;
};

class RedisClusterActuator final : public Actuator {
 public:
  // InvalidArgument for no name, no seeds, no clock/sleeper, bad sizes.
  static core::Result<std::unique_ptr<RedisClusterActuator>> Create(RedisClusterOptions options);
  ~RedisClusterActuator() override;

  std::string_view kind() const override { return "redis_cluster"; }
  std::string Describe() const override;
  core::Result<int32_t> Current() override;
  core::Status Apply(int32_t desired, Fence fence) override;
  // One line per step of the last Apply ("joined 127.0.0.1:7007 as master ...").
  std::string LastOutput() const override;

  // A copy, for metrics and /api/v1/scale_targets.
  ClusterProgress progress() const;

 private:
  class Run;  // one Apply's work, in the .cpp
  explicit RedisClusterActuator(RedisClusterOptions options);
  void Update(const std::function<void(ClusterProgress&)>& change);
  void Log(std::string line);
  void Notify();  // options_.on_progress, outside the lock

  RedisClusterOptions options_;
  std::map<std::string, Conn> conns_;  // by "ip:port"; reopened when broken
  std::vector<Endpoint> known_;        // members seen last time, to find the cluster again
  mutable std::mutex mu_;              // guards progress_ and output_
  ClusterProgress progress_;
  std::string output_;
};

}  // namespace amas::act::redis

#endif  // AMAS_ACT_REDIS_CLUSTER_ACTUATOR_H_
