#include "act/redis_cluster_plan.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "act/redis_cluster_topology.h"

namespace amas::act::redis {

core::Result<std::vector<SlotMove>> PlanEvenSlots(const std::vector<MasterSlots>& owners,
                                                  const std::vector<std::string>& final_masters) {
  if (final_masters.empty()) {
    return core::Status::FailedPrecondition("redis cluster plan: no master would hold slots");
  }
  std::vector<int> seen(kClusterSlots, 0);
  std::map<std::string, const MasterSlots*> by_id;
  for (const MasterSlots& m : owners) {
    by_id[m.id] = &m;
    for (int s : m.slots) {
      if (s < 0 || s >= kClusterSlots) {
        return core::Status::FailedPrecondition("redis cluster plan: slot " + std::to_string(s) +
                                                " out of range");
      }
      if (++seen[s] > 1) {
        return core::Status::FailedPrecondition("redis cluster plan: slot " + std::to_string(s) +
                                                " has two owners");
      }
    }
  }
  const auto unowned = std::count(seen.begin(), seen.end(), 0);
  if (unowned > 0) {
    const int first = static_cast<int>(std::find(seen.begin(), seen.end(), 0) - seen.begin());
    return core::Status::FailedPrecondition("redis cluster plan: " + std::to_string(unowned) +
                                            " slots have no owner, first " + std::to_string(first));
  }
  std::set<std::string> final_set(final_masters.begin(), final_masters.end());
  for (const std::string& id : final_masters) {
    if (!by_id.contains(id)) {
      return core::Status::FailedPrecondition("redis cluster plan: final master " + id +
                                              " is not among the owners");
    }
  }
  // Targets: base for all; the extra slots to those that hold the most now.
  const int n = static_cast<int>(final_set.size());
  const int base = kClusterSlots / n;
  int extra = kClusterSlots % n;
  std::vector<std::string> by_size(final_set.begin(), final_set.end());
  std::stable_sort(by_size.begin(), by_size.end(), [&](const std::string& a, const std::string& b) {
    return by_id[a]->slots.size() > by_id[b]->slots.size();
  });
  std::map<std::string, int> target;
  for (const std::string& id : by_size) target[id] = base + (extra-- > 0 ? 1 : 0);

  // Surplus in owner order: leavers give all, others their lowest extra slots.
  struct Give {
    std::string from;
    int slot;
  };
  std::vector<Give> surplus;
  for (const MasterSlots& m : owners) {
    const bool stays = final_set.contains(m.id);
    const size_t keep = stays ? static_cast<size_t>(target[m.id]) : 0;
    if (m.slots.size() <= keep) continue;
    const size_t give = m.slots.size() - keep;
    for (size_t i = 0; i < give; ++i) surplus.push_back({m.id, m.slots[i]});
  }
  // Receivers in owner order fill their deficit from the front of the surplus.
  std::vector<SlotMove> moves;
  size_t next = 0;
  for (const MasterSlots& m : owners) {
    if (!final_set.contains(m.id)) continue;
    int deficit = target[m.id] - static_cast<int>(m.slots.size());
    while (deficit-- > 0 && next < surplus.size()) {
      moves.push_back({surplus[next].slot, surplus[next].from, m.id});
      ++next;
    }
  }
  // Group by (from, to) in owner order so one batch talks to one pair of nodes.
  std::map<std::string, size_t> order;
  for (size_t i = 0; i < owners.size(); ++i) order[owners[i].id] = i;
  std::stable_sort(moves.begin(), moves.end(), [&](const SlotMove& a, const SlotMove& b) {
    if (a.from != b.from) return order[a.from] < order[b.from];
    if (a.to != b.to) return order[a.to] < order[b.to];
    return a.slot < b.slot;
  });
  return moves;
}

bool EvenEnough(const std::vector<MasterSlots>& masters, double threshold_percent) {
  if (masters.empty()) return true;
  const double expected = static_cast<double>(kClusterSlots) / static_cast<double>(masters.size());
  for (const MasterSlots& m : masters) {
    const double off = std::abs(static_cast<double>(m.slots.size()) - expected) / expected * 100.0;
    if (off > threshold_percent) return false;
  }
  return true;
}

std::vector<std::string> ChooseLeavers(std::vector<LeaveCandidate> masters, int count) {
  std::sort(masters.begin(), masters.end(), [](const LeaveCandidate& a, const LeaveCandidate& b) {
    const bool pa = a.standby_index >= 0, pb = b.standby_index >= 0;
    if (pa != pb) return pa;
    if (pa && a.standby_index != b.standby_index) return a.standby_index > b.standby_index;
    if (a.slots != b.slots) return a.slots < b.slots;
    return a.id > b.id;
  });
  const int limit = std::max(0, std::min(count, static_cast<int>(masters.size()) - 1));
  std::vector<std::string> out;
  for (int i = 0; i < limit; ++i) out.push_back(masters[i].id);
  return out;
}

}  // namespace amas::act::redis
