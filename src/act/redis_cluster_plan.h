// redis_cluster_plan.h: which slots move where, and which nodes join or
// leave, for a Redis Cluster whose count is its number of masters. Pure:
// same input, same plan; ids are compared as strings, so ties are stable.
// PlanEvenSlots gives every final master 16384/N slots (the 16384%N extra
// slots go to those that hold the most already), moving as few as possible:
// leaving masters give everything, the others only their surplus, lowest
// slots first, so moved ranges stay contiguous.
#ifndef AMAS_ACT_REDIS_CLUSTER_PLAN_H_
#define AMAS_ACT_REDIS_CLUSTER_PLAN_H_

#include <string>
#include <vector>

#include "core/core.h"

namespace amas::act::redis {

struct MasterSlots {
  std::string id;
  std::vector<int> slots;  // owned now, ascending
};

struct SlotMove {
  int slot = 0;
  std::string from;
  std::string to;
  friend bool operator==(const SlotMove&, const SlotMove&) = default;
};

// owners: every master that holds slots now (plus new ones with none).
// final_masters: who holds slots afterwards; each must be in owners.
// Moves come grouped by (from, to) in the order of owners, slots ascending.
// FailedPrecondition when slots are unowned or owned twice, or final is empty.
core::Result<std::vector<SlotMove>> PlanEvenSlots(const std::vector<MasterSlots>& owners,
                                                  const std::vector<std::string>& final_masters);

// True iff every master is within threshold_percent of an even share
// (redis-cli rebalance's --cluster-threshold, default 2).
bool EvenEnough(const std::vector<MasterSlots>& masters, double threshold_percent);

// A master that could leave on scale-in.
struct LeaveCandidate {
  std::string id;
  int slots = 0;
  int standby_index = -1;  // position in the standby pool; -1: not a pool node
};
// Picks count masters to drain: pool nodes first (the latest in the pool
// first, so the pool empties in the order it filled), then the fewest slots
// (ties: the greatest id). Never more than masters.size() - 1.
std::vector<std::string> ChooseLeavers(std::vector<LeaveCandidate> masters, int count);

}  // namespace amas::act::redis

#endif  // AMAS_ACT_REDIS_CLUSTER_PLAN_H_
