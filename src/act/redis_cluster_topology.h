// redis_cluster_topology.h: what Redis Cluster says about itself, as data.
// Parses CLUSTER NODES (one node's view of every node, open slots only on its
// own "myself" line), CLUSTER INFO and INFO's "key:value" text. Pure: no I/O.
// Errors are InvalidArgument naming the line ("CLUSTER NODES line 3: ...").
// Not an error: a lone node's empty IP (":7001@17001"), a hostname after the
// bus port ("@17001,host"), unknown flags (kept in flags).
#ifndef AMAS_ACT_REDIS_CLUSTER_TOPOLOGY_H_
#define AMAS_ACT_REDIS_CLUSTER_TOPOLOGY_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "act/redis_conn.h"
#include "core/core.h"

namespace amas::act::redis {

inline constexpr int kClusterSlots = 16384;

struct SlotRange {
  int first = 0;  // included
  int last = 0;   // included
  friend bool operator==(const SlotRange&, const SlotRange&) = default;
};

// A slot this node is moving: to peer_id (migrating) or from it (importing).
struct OpenSlot {
  int slot = 0;
  std::string peer_id;
  friend bool operator==(const OpenSlot&, const OpenSlot&) = default;
};

struct ClusterNode {
  std::string id;
  std::string host;  // "" for a lone node that has not learnt its IP yet
  int port = 0;
  int bus_port = 0;
  std::vector<std::string> flags;  // as listed: "myself", "master", "slave", "fail?", ...
  std::string master_id;           // the master a replica follows; "" for masters
  uint64_t config_epoch = 0;
  bool connected = false;  // link-state
  std::vector<SlotRange> slots;
  std::vector<OpenSlot> migrating;
  std::vector<OpenSlot> importing;

  bool Has(std::string_view flag) const;
  bool myself() const { return Has("myself"); }
  bool master() const { return Has("master"); }
  bool replica() const { return Has("slave"); }
  bool failed() const { return Has("fail"); }      // agreed by the majority
  bool suspected() const { return Has("fail?"); }  // this node's own doubt
  bool joining() const { return Has("handshake") || Has("noaddr"); }
  int SlotCount() const;
  bool Owns(int slot) const;
  std::string Address() const { return host + ":" + std::to_string(port); }
};

core::Result<std::vector<ClusterNode>> ParseClusterNodes(std::string_view text);

// The node the view was taken from, or nullptr.
const ClusterNode* Myself(const std::vector<ClusterNode>& view);
const ClusterNode* FindNode(const std::vector<ClusterNode>& view, std::string_view id);

struct ClusterInfo {
  std::string state;  // "ok" or "fail"
  int slots_assigned = 0;
  int slots_ok = 0;
  int known_nodes = 0;
  int size = 0;  // masters serving at least one slot
  int64_t current_epoch = 0;
};
core::Result<ClusterInfo> ParseClusterInfo(std::string_view text);

// INFO's "key:value" lines; section headers ("# Replication") and blank
// lines are skipped. Later keys win.
std::map<std::string, std::string> ParseInfoFields(std::string_view text);

// Slot ownership as the owners themselves claim it. reference is one node's
// view; selves are the "myself" lines of the reachable nodes. A slot goes to
// the master that claims it in its own line (the higher config epoch wins a
// tie); only slots nobody reachable claims keep the reference's owner. Why:
// a node importing a slot ignores news about it, so after a failover its
// view keeps naming the dead source while the promoted replica owns it.
std::vector<ClusterNode> MergeSlotClaims(std::vector<ClusterNode> reference,
                                         const std::vector<ClusterNode>& selves);

// "MOVED 3999 127.0.0.1:6381" / "ASK 3999 127.0.0.1:6381" -> the endpoint.
core::Result<Endpoint> ParseRedirect(std::string_view error_text);

}  // namespace amas::act::redis

#endif  // AMAS_ACT_REDIS_CLUSTER_TOPOLOGY_H_
