#include "act/redis_cluster_actuator.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <utility>

#include "act/redis_cluster_plan.h"
#include "act/redis_cluster_topology.h"

namespace amas::act::redis {
namespace {

std::string Join(const std::vector<std::string>& v, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? std::string(sep) : "") + v[i];
  return out;
}

bool ContainsText(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

}  // namespace

std::string_view PhaseName(ClusterProgress::Phase phase) {
  switch (phase) {
    case ClusterProgress::Phase::kIdle:
      return "idle";
    case ClusterProgress::Phase::kReading:
      return "reading";
    case ClusterProgress::Phase::kRepairing:
      return "repairing";
    case ClusterProgress::Phase::kJoining:
      return "joining";
    case ClusterProgress::Phase::kReplicating:
      return "replicating";
    case ClusterProgress::Phase::kMigrating:
      return "migrating";
    case ClusterProgress::Phase::kRemoving:
      return "removing";
    case ClusterProgress::Phase::kDone:
      return "done";
    case ClusterProgress::Phase::kFailed:
      return "failed";
  }
  return "unknown";
}

// One Current() or Apply(): reads the cluster, then changes it step by step.
// Every step re-derives what to do from what the nodes report.
class RedisClusterActuator::Run {
 public:
  explicit Run(RedisClusterActuator& a) : a_(a), o_(a.options_) {}

  struct Snapshot {
    std::vector<ClusterNode> nodes;  // the reference view, from a master that owns slots
    std::map<std::string, std::vector<ClusterNode>> views;  // reachable members' own views
    const ClusterNode* Find(std::string_view id) const { return FindNode(nodes, id); }
    // The node's own opinion of itself, or nullptr when unreachable.
    const ClusterNode* Self(const std::string& id) const {
      auto it = views.find(id);
      return it == views.end() ? nullptr : Myself(it->second);
    }
    std::vector<const ClusterNode*> SlotMasters() const {
      std::vector<const ClusterNode*> out;
      for (const ClusterNode& n : nodes) {
        if (n.master() && n.SlotCount() > 0) out.push_back(&n);
      }
      return out;
    }
  };

  // A standby endpoint as the cluster sees it.
  struct Standby {
    Endpoint endpoint;
    int index = 0;
    enum class Kind { kFree, kMember, kDown, kForeign } kind = Kind::kDown;
    std::string id;  // for members
  };

  Endpoint EndpointOf(const ClusterNode& n) const {
    Endpoint e = Endpoint::At(n.host, n.port);
    e.password = o_.password;
    return e;
  }
  Endpoint WithAuth(Endpoint e) const {
    e.password = o_.password;
    return e;
  }

  core::Result<Conn*> Node(const Endpoint& endpoint) {
    const std::string key = endpoint.ToString();
    auto it = a_.conns_.find(key);
    if (it != a_.conns_.end() && !it->second.broken()) return &it->second;
    if (it != a_.conns_.end()) a_.conns_.erase(it);
    core::Result<Conn> c = Conn::Open(WithAuth(endpoint), o_.command_timeout);
    if (!c.ok()) return c.status();
    auto [pos, inserted] = a_.conns_.emplace(key, std::move(c).value());
    (void)inserted;
    return &pos->second;
  }

  core::Result<Reply> Cmd(const Endpoint& endpoint, const std::vector<std::string>& args) {
    core::Result<Conn*> c = Node(endpoint);
    if (!c.ok()) return c.status();
    return CommandOk(**c, args);
  }

  // Raw reply, error replies included (the caller reads them).
  core::Result<Reply> Raw(const Endpoint& endpoint, const std::vector<std::string>& args) {
    core::Result<Conn*> c = Node(endpoint);
    if (!c.ok()) return c.status();
    return (*c)->Command(args);
  }

  core::Result<std::vector<Reply>> Pipe(const Endpoint& endpoint,
                                        const std::vector<std::vector<std::string>>& cmds) {
    if (cmds.empty()) return std::vector<Reply>{};
    core::Result<Conn*> c = Node(endpoint);
    if (!c.ok()) return c.status();
    return (*c)->Pipeline(cmds);
  }

  core::Result<std::vector<ClusterNode>> View(const Endpoint& endpoint) {
    core::Result<Reply> r = Cmd(endpoint, {"CLUSTER", "NODES"});
    if (!r.ok()) return r.status();
    return ParseClusterNodes(r->str);
  }

  core::Result<ClusterInfo> Info(const Endpoint& endpoint) {
    core::Result<Reply> r = Cmd(endpoint, {"CLUSTER", "INFO"});
    if (!r.ok()) return r.status();
    return ParseClusterInfo(r->str);
  }

  core::Result<int64_t> KeysInSlot(const Endpoint& endpoint, int slot) {
    core::Result<Reply> r = Cmd(endpoint, {"CLUSTER", "COUNTKEYSINSLOT", std::to_string(slot)});
    if (!r.ok()) return r.status();
    return r->integer;
  }

  void Sleep() { o_.sleeper->Sleep(o_.poll_interval); }
  core::Time Now() const { return o_.clock->Now(); }

  // --- reading ------------------------------------------------------------

  core::Result<Snapshot> Read(bool full) {
    std::vector<Endpoint> candidates = o_.seeds;
    for (const Endpoint& e : a_.known_) candidates.push_back(e);
    for (const Endpoint& e : o_.standby) candidates.push_back(e);
    Snapshot snap;
    core::Status last = core::Status::Unavailable("no candidate node");
    std::set<std::string> tried;
    for (const Endpoint& e : candidates) {
      if (!tried.insert(e.ToString()).second) continue;
      core::Result<std::vector<ClusterNode>> v = View(e);
      if (!v.ok()) {
        last = v.status();
        continue;
      }
      bool has_slots = false;
      for (const ClusterNode& n : *v) has_slots = has_slots || n.SlotCount() > 0;
      if (!has_slots) continue;  // a lone or reset node: not the cluster
      snap.nodes = std::move(v).value();
      break;
    }
    if (snap.nodes.empty()) {
      return core::Status::Unavailable(
          "redis cluster " + o_.name +
          ": no reachable node knows the cluster; last error: " + last.message());
    }
    // Prefer the view of a master that owns slots: replicas learn last.
    const ClusterNode* me = Myself(snap.nodes);
    if (me == nullptr || !me->master() || me->SlotCount() == 0) {
      for (const ClusterNode* m : snap.SlotMasters()) {
        if (m->failed()) continue;
        core::Result<std::vector<ClusterNode>> v = View(EndpointOf(*m));
        if (v.ok()) {
          snap.nodes = std::move(v).value();
          break;
        }
      }
    }
    a_.known_.clear();
    for (const ClusterNode& n : snap.nodes) {
      if (!n.failed() && !n.joining() && !n.host.empty()) a_.known_.push_back(EndpointOf(n));
    }
    if (full) {
      for (const ClusterNode& n : snap.nodes) {
        if (n.joining() || n.host.empty()) continue;
        core::Result<std::vector<ClusterNode>> v = View(EndpointOf(n));
        if (!v.ok()) continue;
        const ClusterNode* self = Myself(*v);
        if (self == nullptr || self->id != n.id) continue;  // someone else now lives there
        snap.views[n.id] = std::move(v).value();
      }
      std::vector<ClusterNode> selves;
      for (const auto& [id, view] : snap.views) selves.push_back(*Myself(view));
      snap.nodes = MergeSlotClaims(std::move(snap.nodes), selves);
    }
    return snap;
  }

  std::vector<Standby> ReadStandby(const Snapshot& snap) {
    std::vector<Standby> out;
    for (size_t i = 0; i < o_.standby.size(); ++i) {
      Standby s;
      s.endpoint = o_.standby[i];
      s.index = static_cast<int>(i);
      for (const ClusterNode& n : snap.nodes) {
        if (n.host == s.endpoint.host && n.port == s.endpoint.port && !n.failed() &&
            snap.Self(n.id) != nullptr) {
          s.kind = Standby::Kind::kMember;
          s.id = n.id;
        }
      }
      if (s.kind != Standby::Kind::kMember) {
        core::Result<std::vector<ClusterNode>> v = View(s.endpoint);
        if (v.ok()) {
          core::Result<Reply> size = Cmd(s.endpoint, {"DBSIZE"});
          const bool lone = v->size() == 1 && v->front().SlotCount() == 0;
          s.kind = lone && size.ok() && size->integer == 0 ? Standby::Kind::kFree
                                                           : Standby::Kind::kForeign;
        }
      }
      out.push_back(std::move(s));
    }
    return out;
  }

  int StandbyIndex(const ClusterNode& n) const {
    for (size_t i = 0; i < o_.standby.size(); ++i) {
      if (o_.standby[i].host == n.host && o_.standby[i].port == n.port) return static_cast<int>(i);
    }
    return -1;
  }

  void Publish(const Snapshot& snap, const std::vector<Standby>* standby) {
    std::vector<std::string> failed;
    for (const ClusterNode& n : snap.nodes) {
      if (n.failed()) failed.push_back(n.Address());
    }
    std::set<int> open;
    for (const auto& [id, view] : snap.views) {
      if (const ClusterNode* me = Myself(view)) {
        for (const OpenSlot& s : me->migrating) open.insert(s.slot);
        for (const OpenSlot& s : me->importing) open.insert(s.slot);
      }
    }
    int free = -1;
    if (standby != nullptr) {
      free = 0;
      for (const Standby& s : *standby) free += s.kind == Standby::Kind::kFree ? 1 : 0;
    }
    const int masters = static_cast<int>(snap.SlotMasters().size());
    const bool full = !snap.views.empty();
    a_.Update([&](ClusterProgress& p) {
      p.masters = masters;
      p.failed_nodes = failed;
      if (full) p.open_slots.assign(open.begin(), open.end());
      if (free >= 0) p.standby_free = free;
    });
  }

  // --- waiting ------------------------------------------------------------

  // Polls pred until it holds or converge_timeout passes; pred sets why.
  core::Status WaitFor(const std::string& what, const std::function<bool(std::string&)>& pred) {
    const core::Time deadline = Now() + o_.converge_timeout;
    std::string why;
    while (true) {
      if (pred(why)) return core::Status::Ok();
      if (Now() >= deadline) {
        return core::Status::Unavailable("redis cluster " + o_.name + ": " + what + " not within " +
                                         o_.converge_timeout.ToString() +
                                         (why.empty() ? "" : ": " + why));
      }
      Sleep();
    }
  }

  core::Status WaitClusterOk(const std::vector<Endpoint>& nodes) {
    return WaitFor("cluster_state:ok", [&](std::string& why) {
      for (const Endpoint& e : nodes) {
        core::Result<ClusterInfo> info = Info(e);
        if (!info.ok() || info->state != "ok") {
          why = e.ToString() +
                (info.ok() ? " says cluster_state:" + info->state : ": " + info.status().message());
          return false;
        }
      }
      return true;
    });
  }

  std::vector<Endpoint> LiveMembers(const Snapshot& snap) const {
    std::vector<Endpoint> out;
    for (const ClusterNode& n : snap.nodes) {
      if (snap.Self(n.id) != nullptr) out.push_back(EndpointOf(n));
    }
    return out;
  }

  // --- fencing ------------------------------------------------------------

  core::Status CheckFence(const Snapshot& snap, Fence fence) {
    if (fence.token == 0) return core::Status::Ok();
    std::vector<const ClusterNode*> masters = snap.SlotMasters();
    if (masters.empty()) return core::Status::Unavailable("redis cluster: no master for the fence");
    Endpoint at = EndpointOf(*masters.front());
    bool asking = false;
    for (int hop = 0; hop < 5; ++hop) {
      std::vector<std::vector<std::string>> cmds;
      if (asking) cmds.push_back({"ASKING"});
      cmds.push_back(RaiseFenceCommand(o_.fence_key, fence.token));
      core::Result<std::vector<Reply>> r = Pipe(at, cmds);
      if (!r.ok()) return r.status().WithContext("redis cluster fence");
      const Reply& reply = r->back();
      if (reply.is_error() && (reply.error_code() == "MOVED" || reply.error_code() == "ASK")) {
        core::Result<Endpoint> to = ParseRedirect(reply.str);
        if (!to.ok()) return to.status();
        asking = reply.error_code() == "ASK";
        at = *to;
        continue;
      }
      if (reply.is_error()) return ReplyErrorStatus(reply.str).WithContext("redis cluster fence");
      if (reply.str != std::to_string(fence.token)) {
        return core::Status::FailedPrecondition("redis cluster " + o_.name + ": fence token " +
                                                std::to_string(fence.token) +
                                                " is older than the stored " + reply.str);
      }
      return core::Status::Ok();
    }
    return core::Status::Unavailable("redis cluster fence: too many redirects");
  }

  // --- moving keys --------------------------------------------------------

  core::Result<Reply> Migrate(const Endpoint& from, const std::vector<std::string>& cmd) {
    core::Result<Conn*> c = Node(from);
    if (!c.ok()) return c.status();
    (*c)->SetTimeout(o_.migrate_timeout + o_.command_timeout);
    core::Result<Reply> r = (*c)->Command(cmd);
    if (!(*c)->broken()) (*c)->SetTimeout(o_.command_timeout);
    return r;
  }

  // Moves every key of slot from `from` to `to`. A key on both sides keeps
  // the copy on the side that does not own the slot: it got there by a
  // migration, and every later write went to it (ASK), so it is the newer.
  core::Status DrainSlot(const Endpoint& from, const Endpoint& to, int slot, bool from_owns) {
    bool one_by_one = false;
    while (true) {
      core::Result<Reply> keys = Cmd(from, {"CLUSTER", "GETKEYSINSLOT", std::to_string(slot),
                                            std::to_string(one_by_one ? 1 : o_.keys_per_migrate)});
      if (!keys.ok()) return keys.status();
      if (keys->elements.empty()) return core::Status::Ok();
      std::vector<std::string> cmd = {
          "MIGRATE", to.host, std::to_string(to.port),
          "",        "0",     std::to_string(o_.migrate_timeout.millis())};
      if (!o_.password.empty()) {
        cmd.push_back("AUTH");
        cmd.push_back(o_.password);
      }
      cmd.push_back("KEYS");
      for (const Reply& k : keys->elements) cmd.push_back(k.str);
      core::Result<Reply> r = Migrate(from, cmd);
      if (!r.ok()) return r.status();
      if (r->is_error() && r->error_code() == "BUSYKEY") {
        if (!one_by_one) {
          one_by_one = true;  // find the key(s) that exist on both sides
          continue;
        }
        a_.Update([](ClusterProgress& p) { ++p.conflicts; });
        const std::string& key = keys->elements.front().str;
        if (from_owns) {
          core::Result<Reply> del = Cmd(from, {"DEL", key});  // the copy on `to` wins
          if (!del.ok()) return del.status();
          a_.Log("slot " + std::to_string(slot) + ": key on both " + from.ToString() + " and " +
                 to.ToString() + ", kept the one on " + to.ToString());
          continue;
        }
        cmd.insert(cmd.begin() + 6, "REPLACE");  // the copy on `from` wins
        r = Migrate(from, cmd);
        if (!r.ok()) return r.status();
        a_.Log("slot " + std::to_string(slot) + ": key on both " + from.ToString() + " and " +
               to.ToString() + ", kept the one on " + from.ToString());
      }
      if (r->is_error() && r->error_code() != "NOKEY") {
        return ReplyErrorStatus(r->str).WithContext("MIGRATE slot " + std::to_string(slot) + " " +
                                                    from.ToString() + " -> " + to.ToString());
      }
      const int64_t n = static_cast<int64_t>(keys->elements.size());
      a_.Update([n](ClusterProgress& p) { p.keys_moved += n; });
      a_.Notify();
    }
  }

  // Puts slot back the way it was, if nothing has moved yet; otherwise leaves
  // it open (keys stay reachable through ASK) for the next Apply to finish.
  void Rollback(const Endpoint& src, const Endpoint& dst, const std::string& dst_id, int slot) {
    const std::string s = std::to_string(slot);
    core::Result<int64_t> at_dst = KeysInSlot(dst, slot);
    if (!at_dst.ok() || *at_dst != 0) {
      a_.Log("slot " + s + ": left open (" +
             (at_dst.ok() ? std::to_string(*at_dst) + " keys already on " + dst.ToString()
                          : at_dst.status().message()) +
             ")");
      return;
    }
    // Source first, so no client is sent to dst while we check it again.
    Cmd(src, {"CLUSTER", "SETSLOT", s, "STABLE"});
    at_dst = KeysInSlot(dst, slot);
    if (at_dst.ok() && *at_dst == 0) {
      Cmd(dst, {"CLUSTER", "SETSLOT", s, "STABLE"});
      a_.Update([](ClusterProgress& p) { ++p.rollbacks; });
      a_.Log("slot " + s + ": rolled back with SETSLOT STABLE");
      return;
    }
    Cmd(src, {"CLUSTER", "SETSLOT", s, "MIGRATING", dst_id});
    a_.Log("slot " + s + ": left open (a key reached " + dst.ToString() + " meanwhile)");
  }

  // Tells every other reachable master who owns slots now; gossip would too,
  // only later.
  void Announce(const Snapshot& snap, const std::vector<int>& slots, const std::string& owner,
                const std::set<std::string>& skip) {
    for (const ClusterNode& n : snap.nodes) {
      if (!n.master() || skip.contains(n.id) || snap.Self(n.id) == nullptr) continue;
      std::vector<std::vector<std::string>> cmds;
      for (int s : slots) cmds.push_back({"CLUSTER", "SETSLOT", std::to_string(s), "NODE", owner});
      Pipe(EndpointOf(n), cmds);  // best effort
    }
  }

  core::Status CheckReplies(const core::Result<std::vector<Reply>>& r, const std::string& what) {
    if (!r.ok()) return r.status().WithContext(what);
    for (const Reply& reply : *r) {
      if (reply.is_error()) return ReplyErrorStatus(reply.str).WithContext(what);
    }
    return core::Status::Ok();
  }

  core::Status MoveSlots(const Snapshot& snap, const std::vector<SlotMove>& moves, Fence fence) {
    a_.Update([&](ClusterProgress& p) {
      p.phase = ClusterProgress::Phase::kMigrating;
      p.slots_planned += static_cast<int64_t>(moves.size());
    });
    size_t i = 0;
    while (i < moves.size()) {
      // One batch: up to slots_per_batch slots between the same two nodes.
      size_t j = i;
      while (j < moves.size() && j - i < static_cast<size_t>(o_.slots_per_batch) &&
             moves[j].from == moves[i].from && moves[j].to == moves[i].to) {
        ++j;
      }
      std::vector<int> batch;
      for (size_t k = i; k < j; ++k) batch.push_back(moves[k].slot);
      if (core::Status s = MoveBatch(snap, moves[i].from, moves[i].to, batch, fence); !s.ok()) {
        return s;
      }
      i = j;
    }
    return core::Status::Ok();
  }

  core::Status MoveBatch(const Snapshot& snap, const std::string& src_id, const std::string& dst_id,
                         const std::vector<int>& batch, Fence fence) {
    // The lease is checked per batch: a replica that lost it stops within one.
    if (core::Status s = CheckFence(snap, fence); !s.ok()) return s;
    const ClusterNode* src_node = snap.Find(src_id);
    const ClusterNode* dst_node = snap.Find(dst_id);
    if (src_node == nullptr || dst_node == nullptr) {
      return core::Status::Unavailable("redis cluster: node of a planned move vanished");
    }
    const Endpoint src = EndpointOf(*src_node), dst = EndpointOf(*dst_node);
    a_.Update([&](ClusterProgress& p) {
      p.current_slot = batch.front();
      p.from = src.ToString();
      p.to = dst.ToString();
    });
    const std::string where = "move slots " + std::to_string(batch.front()) + ".." +
                              std::to_string(batch.back()) + " " + src.ToString() + " -> " +
                              dst.ToString();
    std::vector<std::vector<std::string>> importing, migrating, count, node;
    for (int s : batch) {
      const std::string slot = std::to_string(s);
      importing.push_back({"CLUSTER", "SETSLOT", slot, "IMPORTING", src_id});
      migrating.push_back({"CLUSTER", "SETSLOT", slot, "MIGRATING", dst_id});
      count.push_back({"CLUSTER", "COUNTKEYSINSLOT", slot});
      node.push_back({"CLUSTER", "SETSLOT", slot, "NODE", dst_id});
    }
    auto rollback_all = [&](size_t from_index) {
      for (size_t k = from_index; k < batch.size(); ++k) Rollback(src, dst, dst_id, batch[k]);
    };
    // Importing before migrating: otherwise the source sends clients (ASK) to
    // a target that does not accept them yet.
    if (core::Status s = CheckReplies(Pipe(dst, importing), where); !s.ok()) {
      rollback_all(0);
      return s;
    }
    if (core::Status s = CheckReplies(Pipe(src, migrating), where); !s.ok()) {
      rollback_all(0);
      return s;
    }
    // Once a slot migrates, the source only loses keys (new ones go to the
    // target), so a zero count here stays zero.
    core::Result<std::vector<Reply>> counts = Pipe(src, count);
    if (core::Status s = CheckReplies(counts, where); !s.ok()) {
      rollback_all(0);
      return s;
    }
    for (size_t k = 0; k < batch.size(); ++k) {
      if ((*counts)[k].integer == 0) continue;
      if (core::Status s = DrainSlot(src, dst, batch[k], true); !s.ok()) {
        // Slots before k are empty on the source: finish them, undo the rest.
        FinishDrained(snap, src, dst, src_id, dst_id, batch, k);
        rollback_all(k);
        return s.WithContext(where);
      }
    }
    // Target first: once it owns the slot, the source may let go.
    if (core::Status s = CheckReplies(Pipe(dst, node), where); !s.ok()) {
      rollback_all(0);
      return s;
    }
    core::Result<std::vector<Reply>> at_src = Pipe(src, node);
    if (!at_src.ok()) {
      // The target owns them and says so by gossip; the source learns it
      // when it comes back. Nothing to undo.
      a_.Log(where + ": source did not confirm: " + at_src.status().message());
    }
    Announce(snap, batch, dst_id, {src_id, dst_id});
    a_.Update([&](ClusterProgress& p) { p.slots_moved += static_cast<int64_t>(batch.size()); });
    a_.Notify();
    return core::Status::Ok();
  }

  // After a failure in the middle of a batch: slots [0, upto) hold no key on
  // the source any more, so hand them to the target instead of leaving them open.
  void FinishDrained(const Snapshot& snap, const Endpoint& src, const Endpoint& dst,
                     const std::string& src_id, const std::string& dst_id,
                     const std::vector<int>& batch, size_t upto) {
    std::vector<std::vector<std::string>> node;
    std::vector<int> done;
    for (size_t k = 0; k < upto; ++k) {
      node.push_back({"CLUSTER", "SETSLOT", std::to_string(batch[k]), "NODE", dst_id});
      done.push_back(batch[k]);
    }
    if (node.empty()) return;
    if (!CheckReplies(Pipe(dst, node), "finish").ok()) return;  // left open; repaired later
    Pipe(src, node);
    Announce(snap, done, dst_id, {src_id, dst_id});
    a_.Update([&](ClusterProgress& p) { p.slots_moved += static_cast<int64_t>(done.size()); });
  }

  // --- repairing open slots ----------------------------------------------

  std::map<int, std::vector<std::string>> OpenSlots(const Snapshot& snap) const {
    std::map<int, std::vector<std::string>> open;  // slot -> ids showing it open
    for (const auto& [id, view] : snap.views) {
      const ClusterNode* me = Myself(view);
      if (me == nullptr) continue;
      for (const OpenSlot& s : me->migrating) open[s.slot].push_back(id);
      for (const OpenSlot& s : me->importing) open[s.slot].push_back(id);
    }
    return open;
  }

  // Finishes an open slot towards the node that received keys (they are the
  // newer copies), or closes it where nothing moved. The source may have
  // died and been replaced by its replica, which knows nothing of the move.
  core::Status Repair(const Snapshot& snap, int slot) {
    const std::string s = std::to_string(slot);
    const std::string where = "repair slot " + s;
    const ClusterNode* owner = nullptr;
    for (const ClusterNode& n : snap.nodes) {
      if (n.Owns(slot)) owner = &n;
    }
    if (owner != nullptr && snap.Self(owner->id) == nullptr) {
      return core::Status::Unavailable("redis cluster: open slot " + s + ": owner " +
                                       owner->Address() + " is unreachable (awaiting failover)");
    }
    // Live masters and their keys in the slot.
    std::vector<std::pair<const ClusterNode*, int64_t>> holders;
    const ClusterNode* importer = nullptr;
    for (const ClusterNode& n : snap.nodes) {
      const ClusterNode* self = snap.Self(n.id);
      if (self == nullptr || !self->master()) continue;
      for (const OpenSlot& o : self->importing) {
        if (o.slot == slot) importer = &n;
      }
      core::Result<int64_t> keys = KeysInSlot(EndpointOf(n), slot);
      if (!keys.ok()) return keys.status().WithContext(where);
      holders.emplace_back(&n, *keys);
    }
    // The target: the live importer; else the non-owner holding most keys
    // (its importer died and a replica took over); else the owner.
    const ClusterNode* target = importer;
    if (target == nullptr) {
      int64_t most = 0;
      for (const auto& [n, keys] : holders) {
        if ((owner == nullptr || n->id != owner->id) && keys > most) {
          target = n;
          most = keys;
        }
      }
    }
    if (target == nullptr) target = owner;
    if (target == nullptr) {
      return core::Status::FailedPrecondition("redis cluster: open slot " + s + " has no owner");
    }
    const Endpoint to = EndpointOf(*target);
    const bool forward = owner == nullptr || target->id != owner->id;
    if (forward && owner != nullptr) {
      // Owner first: from now on it sends clients to the target (ASK) for
      // keys it no longer has, instead of answering "no such key".
      if (core::Status st =
              Cmd(EndpointOf(*owner), {"CLUSTER", "SETSLOT", s, "MIGRATING", target->id}).status();
          !st.ok()) {
        return st.WithContext(where);
      }
      // An importer ignores ownership news for the slot it imports, so after
      // a failover it still believes the dead source owns it, counts the slot
      // as failed and answers CLUSTERDOWN. Tell it, then import from the owner.
      if (core::Status st = Cmd(to, {"CLUSTER", "SETSLOT", s, "NODE", owner->id}).status();
          !st.ok()) {
        return st.WithContext(where);
      }
      if (core::Status st = Cmd(to, {"CLUSTER", "SETSLOT", s, "IMPORTING", owner->id}).status();
          !st.ok()) {
        return st.WithContext(where);
      }
    }
    for (const auto& [n, keys] : holders) {
      if (n->id == target->id || keys == 0) continue;
      const bool holder_owns = owner != nullptr && n->id == owner->id;
      if (core::Status st = DrainSlot(EndpointOf(*n), to, slot, holder_owns); !st.ok()) {
        return st.WithContext(where);
      }
    }
    if (forward) {
      if (core::Status st = Cmd(to, {"CLUSTER", "SETSLOT", s, "NODE", target->id}).status();
          !st.ok()) {
        return st.WithContext(where);
      }
      if (owner != nullptr) Cmd(EndpointOf(*owner), {"CLUSTER", "SETSLOT", s, "NODE", target->id});
      Announce(snap, {slot}, target->id, {target->id});
    }
    // Whoever still shows the slot open lets go of it.
    for (const auto& [id, view] : snap.views) {
      const ClusterNode* n = snap.Find(id);
      if (n != nullptr) Cmd(EndpointOf(*n), {"CLUSTER", "SETSLOT", s, "STABLE"});
    }
    a_.Update([](ClusterProgress& p) { ++p.repairs; });
    a_.Log("slot " + s + ": repaired, now on " + target->Address());
    return core::Status::Ok();
  }

  // --- joining and removing ----------------------------------------------

  core::Result<std::string> Reset(const Endpoint& e) {
    core::Result<Reply> size = Cmd(e, {"DBSIZE"});
    if (!size.ok()) return size.status();
    if (size->integer != 0) {
      return core::Status::FailedPrecondition("standby " + e.ToString() + " holds " +
                                              std::to_string(size->integer) + " keys");
    }
    // HARD: a fresh id, no old peers, and no 60 s FORGET ban from an earlier life.
    if (core::Status s = Cmd(e, {"CLUSTER", "RESET", "HARD"}).status(); !s.ok()) return s;
    core::Result<Reply> id = Cmd(e, {"CLUSTER", "MYID"});
    if (!id.ok()) return id.status();
    return id->str;
  }

  core::Status Meet(const Endpoint& e, const Endpoint& seed) {
    return Cmd(e, {"CLUSTER", "MEET", seed.host, std::to_string(seed.port)}).status();
  }

  // Every live member and every new node know each other, and the new
  // nodes see cluster_state:ok (MIGRATE into a node that does not fails
  // with CLUSTERDOWN).
  core::Status WaitJoined(const Snapshot& snap, const std::map<std::string, Endpoint>& fresh) {
    std::vector<Endpoint> members = LiveMembers(snap);
    std::vector<std::string> member_ids;
    for (const ClusterNode& n : snap.nodes) {
      if (snap.Self(n.id) != nullptr) member_ids.push_back(n.id);
    }
    core::Status joined =
        WaitFor("joining " + std::to_string(fresh.size()) + " nodes", [&](std::string& why) {
          auto knows_all = [&](const Endpoint& e, const std::vector<std::string>& ids) {
            core::Result<std::vector<ClusterNode>> v = View(e);
            if (!v.ok()) {
              why = e.ToString() + ": " + v.status().message();
              return false;
            }
            for (const std::string& id : ids) {
              const ClusterNode* n = FindNode(*v, id);
              if (n == nullptr || n->joining()) {
                why = e.ToString() + " does not know " + id + " yet";
                return false;
              }
            }
            return true;
          };
          std::vector<std::string> fresh_ids;
          for (const auto& [id, e] : fresh) fresh_ids.push_back(id);
          std::vector<std::string> all = member_ids;
          all.insert(all.end(), fresh_ids.begin(), fresh_ids.end());
          for (const Endpoint& e : members) {
            if (!knows_all(e, fresh_ids)) return false;
          }
          for (const auto& [id, e] : fresh) {
            if (!knows_all(e, all)) return false;
          }
          return true;
        });
    if (!joined.ok()) return joined;
    std::vector<Endpoint> fresh_eps;
    for (const auto& [id, e] : fresh) fresh_eps.push_back(e);
    return WaitClusterOk(fresh_eps);
  }

  core::Status WaitLinkUp(const std::vector<Endpoint>& replicas) {
    return WaitFor("replicas in sync", [&](std::string& why) {
      for (const Endpoint& e : replicas) {
        core::Result<Reply> r = Cmd(e, {"INFO", "replication"});
        if (!r.ok()) {
          why = e.ToString() + ": " + r.status().message();
          return false;
        }
        auto f = ParseInfoFields(r->str);
        if (f["master_link_status"] != "up") {
          why = e.ToString() + " master_link_status:" + f["master_link_status"];
          return false;
        }
      }
      return true;
    });
  }

  // FORGET on every other live node, then RESET HARD on the node itself so
  // it comes back to the pool empty, alone and with a new id.
  core::Status Remove(const Snapshot& snap, const std::vector<std::string>& ids) {
    a_.Update([](ClusterProgress& p) { p.phase = ClusterProgress::Phase::kRemoving; });
    std::set<std::string> gone;
    for (const std::string& id : ids) {
      const ClusterNode* node = snap.Find(id);
      if (node == nullptr) continue;
      for (const ClusterNode& n : snap.nodes) {
        if (n.id == id || gone.contains(n.id) || snap.Self(n.id) == nullptr) continue;
        core::Result<Reply> r = Raw(EndpointOf(n), {"CLUSTER", "FORGET", id});
        if (!r.ok()) return r.status().WithContext("forget " + node->Address());
        if (r->is_error() && !ContainsText(r->str, "Unknown node")) {
          return ReplyErrorStatus(r->str).WithContext("forget " + node->Address() + " on " +
                                                      n.Address());
        }
      }
      if (snap.Self(id) != nullptr) {
        core::Status reset = Cmd(EndpointOf(*node), {"CLUSTER", "RESET", "HARD"}).status();
        if (!reset.ok()) return reset.WithContext("reset " + node->Address());
      }
      gone.insert(id);
      a_.Update([&](ClusterProgress& p) { p.removed_nodes.push_back(node->Address()); });
      a_.Log("removed " + node->Address() + " (" + id + ")");
    }
    std::vector<Endpoint> remaining;
    for (const ClusterNode& n : snap.nodes) {
      if (!gone.contains(n.id) && snap.Self(n.id) != nullptr) remaining.push_back(EndpointOf(n));
    }
    return WaitFor("forgetting removed nodes", [&](std::string& why) {
      for (const Endpoint& e : remaining) {
        core::Result<std::vector<ClusterNode>> v = View(e);
        if (!v.ok()) {
          why = v.status().message();
          return false;
        }
        for (const std::string& id : gone) {
          if (FindNode(*v, id) != nullptr) {
            why = e.ToString() + " still lists " + id;
            return false;
          }
        }
      }
      return true;
    });
  }

  // Pool members that own no slot (an interrupted join or drain), replicas
  // that follow them, and dead pool nodes: they leave before anything else.
  std::vector<std::string> Leftovers(const Snapshot& snap, const std::set<std::string>& keep) {
    std::vector<std::string> replicas, masters;
    std::set<std::string> idle;
    for (const ClusterNode& n : snap.nodes) {
      if (StandbyIndex(n) < 0 || keep.contains(n.id) || n.SlotCount() > 0) continue;
      const ClusterNode* self = snap.Self(n.id);
      if (n.failed() || self == nullptr) {
        masters.push_back(n.id);  // dead: forget it
        continue;
      }
      if (self->master()) {
        idle.insert(n.id);
        masters.push_back(n.id);
      }
    }
    for (const ClusterNode& n : snap.nodes) {
      const ClusterNode* self = snap.Self(n.id);
      if (self == nullptr || keep.contains(n.id) || StandbyIndex(n) < 0) continue;
      if (self->replica() && idle.contains(self->master_id)) replicas.push_back(n.id);
    }
    replicas.insert(replicas.end(), masters.begin(), masters.end());
    return replicas;  // replicas first: a replica cannot forget its master
  }

  // --- the three moves ----------------------------------------------------

  core::Status ScaleOut(Snapshot snap, int count, Fence fence) {
    std::vector<Standby> pool = ReadStandby(snap);
    Publish(snap, &pool);
    // Pool members without slots are new masters half-way there: reuse them.
    std::vector<std::string> idle_masters;
    std::map<std::string, int> replicas_of;
    for (const Standby& s : pool) {
      if (s.kind != Standby::Kind::kMember) continue;
      const ClusterNode* self = snap.Self(s.id);
      const ClusterNode* n = snap.Find(s.id);
      if (self != nullptr && self->master() && n != nullptr && n->SlotCount() == 0) {
        idle_masters.push_back(s.id);
      }
    }
    for (const auto& [id, view] : snap.views) {
      const ClusterNode* me = Myself(view);
      if (me != nullptr && me->replica()) ++replicas_of[me->master_id];
    }
    std::vector<Endpoint> free;
    for (const Standby& s : pool) {
      if (s.kind == Standby::Kind::kFree) free.push_back(s.endpoint);
    }
    // Count the nodes first: either the whole step fits the pool or nothing moves.
    int need = 0;
    for (int i = 0; i < count; ++i) {
      if (i < static_cast<int>(idle_masters.size())) {
        need += std::max(0, o_.replicas_per_master - replicas_of[idle_masters[i]]);
      } else {
        need += 1 + o_.replicas_per_master;
      }
    }
    if (need > static_cast<int>(free.size())) {
      return core::Status::FailedPrecondition(
          "redis cluster " + o_.name + ": standby pool too small: " + std::to_string(count) +
          " more masters need " + std::to_string(need) + " free nodes, " +
          std::to_string(free.size()) + " are free");
    }
    const ClusterNode* seed_node = snap.SlotMasters().front();
    const Endpoint seed = EndpointOf(*seed_node);
    a_.Update([](ClusterProgress& p) { p.phase = ClusterProgress::Phase::kJoining; });
    std::vector<std::string> new_masters;
    std::vector<std::pair<Endpoint, std::string>> new_replicas;  // endpoint, master id
    std::map<std::string, Endpoint> fresh;
    size_t next_free = 0;
    for (int i = 0; i < count; ++i) {
      std::string master_id;
      int have = 0;
      if (i < static_cast<int>(idle_masters.size())) {
        master_id = idle_masters[i];
        have = replicas_of[master_id];
      } else {
        const Endpoint e = free[next_free++];
        core::Result<std::string> id = Reset(e);
        if (!id.ok()) return id.status().WithContext("join " + e.ToString());
        if (core::Status s = Meet(e, seed); !s.ok()) return s.WithContext("join " + e.ToString());
        master_id = *id;
        fresh[*id] = e;
        a_.Log("joining " + e.ToString() + " as master " + *id);
      }
      new_masters.push_back(master_id);
      for (int r = have; r < o_.replicas_per_master; ++r) {
        const Endpoint e = free[next_free++];
        core::Result<std::string> id = Reset(e);
        if (!id.ok()) return id.status().WithContext("join " + e.ToString());
        if (core::Status s = Meet(e, seed); !s.ok()) return s.WithContext("join " + e.ToString());
        fresh[*id] = e;
        new_replicas.emplace_back(e, master_id);
        a_.Log("joining " + e.ToString() + " as replica of " + master_id);
      }
    }
    if (!fresh.empty()) {
      if (core::Status s = WaitJoined(snap, fresh); !s.ok()) return s;
      a_.Update([&](ClusterProgress& p) {
        for (const auto& [id, e] : fresh) p.joined_nodes.push_back(e.ToString());
      });
    }
    // Replicas attach before any slot moves in, so every key that arrives is
    // copied from the start.
    if (!new_replicas.empty()) {
      a_.Update([](ClusterProgress& p) { p.phase = ClusterProgress::Phase::kReplicating; });
      std::vector<Endpoint> eps;
      for (const auto& [e, master] : new_replicas) {
        if (core::Status s = Cmd(e, {"CLUSTER", "REPLICATE", master}).status(); !s.ok()) {
          return s.WithContext("replicate " + e.ToString());
        }
        eps.push_back(e);
      }
      if (core::Status s = WaitLinkUp(eps); !s.ok()) return s;
    }
    core::Result<Snapshot> now = Read(true);
    if (!now.ok()) return now.status();
    std::vector<MasterSlots> owners = Owners(*now);
    std::vector<std::string> final_ids;
    for (const MasterSlots& m : owners) final_ids.push_back(m.id);
    for (const std::string& id : new_masters) {
      if (std::find(final_ids.begin(), final_ids.end(), id) == final_ids.end()) {
        owners.push_back({id, {}});
        final_ids.push_back(id);
      }
    }
    core::Result<std::vector<SlotMove>> moves = PlanEvenSlots(owners, final_ids);
    if (!moves.ok()) return moves.status();
    std::vector<Endpoint> involved = LiveMembers(*now);
    if (core::Status s = WaitClusterOk(involved); !s.ok()) return s;
    return MoveSlots(*now, *moves, fence);
  }

  core::Status ScaleIn(const Snapshot& snap, int count, Fence fence) {
    std::vector<LeaveCandidate> candidates;
    for (const ClusterNode* m : snap.SlotMasters()) {
      candidates.push_back({m->id, m->SlotCount(), StandbyIndex(*m)});
    }
    const std::vector<std::string> leavers = ChooseLeavers(candidates, count);
    std::set<std::string> leaving(leavers.begin(), leavers.end());
    // Their replicas now: after the drain Redis 7.0 may move them (and the
    // drained master itself) under the master that took the last slot.
    std::map<std::string, std::vector<std::string>> replicas;
    for (const auto& [id, view] : snap.views) {
      const ClusterNode* me = Myself(view);
      if (me != nullptr && me->replica() && leaving.contains(me->master_id)) {
        replicas[me->master_id].push_back(id);
      }
    }
    std::vector<MasterSlots> owners = Owners(snap);
    std::vector<std::string> final_ids;
    for (const MasterSlots& m : owners) {
      if (!leaving.contains(m.id)) final_ids.push_back(m.id);
    }
    for (const std::string& id : leavers) {
      a_.Log("draining " + snap.Find(id)->Address() + " (" + id + ")");
    }
    core::Result<std::vector<SlotMove>> moves = PlanEvenSlots(owners, final_ids);
    if (!moves.ok()) return moves.status();
    if (core::Status s = MoveSlots(snap, *moves, fence); !s.ok()) return s;
    // Drained everywhere and nothing open before anyone is forgotten.
    core::Status drained = WaitFor("drain to show everywhere", [&](std::string& why) {
      for (const Endpoint& e : LiveMembers(snap)) {
        core::Result<std::vector<ClusterNode>> v = View(e);
        if (!v.ok()) {
          why = v.status().message();
          return false;
        }
        for (const ClusterNode& n : *v) {
          if (leaving.contains(n.id) && n.SlotCount() > 0) {
            why = e.ToString() + " still sees slots on " + n.Address();
            return false;
          }
          if (n.myself() && (!n.migrating.empty() || !n.importing.empty())) {
            why = e.ToString() + " has open slots";
            return false;
          }
        }
      }
      return true;
    });
    if (!drained.ok()) return drained;
    core::Result<Snapshot> now = Read(true);
    if (!now.ok()) return now.status();
    std::vector<std::string> order;
    for (const std::string& id : leavers) {
      std::set<std::string> theirs(replicas[id].begin(), replicas[id].end());
      for (const auto& [rid, view] : now->views) {
        const ClusterNode* me = Myself(view);
        if (me != nullptr && me->replica() && me->master_id == id) theirs.insert(rid);
      }
      for (const std::string& r : theirs) order.push_back(r);
    }
    for (const std::string& id : leavers) order.push_back(id);
    std::set<std::string> keep;
    for (const ClusterNode* m : now->SlotMasters()) keep.insert(m->id);
    for (const std::string& id : Leftovers(*now, keep)) {
      if (std::find(order.begin(), order.end(), id) == order.end()) order.push_back(id);
    }
    return Remove(*now, order);
  }

  std::vector<MasterSlots> Owners(const Snapshot& snap) const {
    std::vector<MasterSlots> owners;
    for (const ClusterNode* m : snap.SlotMasters()) {
      MasterSlots ms{m->id, {}};
      for (const SlotRange& r : m->slots) {
        for (int s = r.first; s <= r.last; ++s) ms.slots.push_back(s);
      }
      std::sort(ms.slots.begin(), ms.slots.end());
      owners.push_back(std::move(ms));
    }
    return owners;
  }

  core::Result<int32_t> Count() {
    // Every node's own claims, not one view: see MergeSlotClaims.
    core::Result<Snapshot> snap = Read(true);
    if (!snap.ok()) return snap.status();
    Publish(*snap, nullptr);
    return static_cast<int32_t>(snap->SlotMasters().size());
  }

  core::Status Apply(int32_t desired, Fence fence) {
    if (desired < 1) {
      return core::Status::InvalidArgument("redis cluster " + o_.name +
                                           ": needs at least one master, asked for " +
                                           std::to_string(desired));
    }
    core::Result<Snapshot> snap = Read(true);
    if (!snap.ok()) return snap.status();
    Publish(*snap, nullptr);
    if (core::Status s = CheckFence(*snap, fence); !s.ok()) return s;

    // 1. Slots left open by an earlier Apply (or by redis-cli) come first.
    std::map<int, std::vector<std::string>> open = OpenSlots(*snap);
    if (!open.empty()) {
      a_.Update([](ClusterProgress& p) { p.phase = ClusterProgress::Phase::kRepairing; });
      for (const auto& [slot, ids] : open) {
        if (core::Status s = Repair(*snap, slot); !s.ok()) return s;
      }
      snap = Read(true);
      if (!snap.ok()) return snap.status();
      Publish(*snap, nullptr);
    }
    // 2. Every slot owner must be up, or there is nothing safe to do.
    for (const ClusterNode* m : snap->SlotMasters()) {
      if (m->failed() || snap->Self(m->id) == nullptr) {
        return core::Status::Unavailable("redis cluster " + o_.name + ": master " + m->Address() +
                                         " is down; waiting for its failover");
      }
    }
    // A master killed before its replica took over leaves its slots claimed
    // by no live node for a few seconds: that, too, is a failover under way.
    int claimed = 0;
    for (const ClusterNode* m : snap->SlotMasters()) {
      for (const SlotRange& r : m->slots) claimed += r.last - r.first + 1;
    }
    if (claimed < kClusterSlots) {
      return core::Status::Unavailable("redis cluster " + o_.name + ": " +
                                       std::to_string(kClusterSlots - claimed) +
                                       " slots have no live owner; waiting for a failover");
    }
    if (core::Status s = WaitClusterOk(LiveMembers(*snap)); !s.ok()) return s;

    const int32_t current = static_cast<int32_t>(snap->SlotMasters().size());
    if (desired > current) return ScaleOut(*snap, desired - current, fence);
    if (desired < current) return ScaleIn(*snap, current - desired, fence);

    // 3. Already there: finish what an interrupted Apply left behind.
    std::set<std::string> keep;
    for (const ClusterNode* m : snap->SlotMasters()) keep.insert(m->id);
    std::vector<std::string> leftovers = Leftovers(*snap, keep);
    if (!leftovers.empty()) {
      if (core::Status s = Remove(*snap, leftovers); !s.ok()) return s;
    }
    std::vector<MasterSlots> owners = Owners(*snap);
    if (!EvenEnough(owners, o_.rebalance_threshold_percent)) {
      std::vector<std::string> ids;
      for (const MasterSlots& m : owners) ids.push_back(m.id);
      core::Result<std::vector<SlotMove>> moves = PlanEvenSlots(owners, ids);
      if (!moves.ok()) return moves.status();
      a_.Log("evening out " + std::to_string(moves->size()) + " slots");
      return MoveSlots(*snap, *moves, fence);
    }
    return core::Status::Ok();
  }

 private:
  RedisClusterActuator& a_;
  const RedisClusterOptions& o_;
};

core::Result<std::unique_ptr<RedisClusterActuator>> RedisClusterActuator::Create(
    RedisClusterOptions options) {
  const std::string where = "redis cluster " + options.name;
  if (options.name.empty()) return core::Status::InvalidArgument("redis cluster: name is empty");
  if (options.seeds.empty()) return core::Status::InvalidArgument(where + ": no seed nodes");
  if (options.clock == nullptr || options.sleeper == nullptr) {
    return core::Status::InvalidArgument(where + ": no clock or sleeper given");
  }
  if (options.replicas_per_master < 0 || options.slots_per_batch < 1 ||
      options.keys_per_migrate < 1) {
    return core::Status::InvalidArgument(
        where + ": replicas_per_master >= 0, slots_per_batch >= 1, keys_per_migrate >= 1");
  }
  if (options.fence_key.empty()) options.fence_key = "amas-scaler:fence:{" + options.name + "}";
  return std::unique_ptr<RedisClusterActuator>(new RedisClusterActuator(std::move(options)));
}

RedisClusterActuator::RedisClusterActuator(RedisClusterOptions options)
    : options_(std::move(options)) {}
RedisClusterActuator::~RedisClusterActuator() = default;

std::string RedisClusterActuator::Describe() const {
  std::vector<std::string> seeds;
  for (const Endpoint& e : options_.seeds) seeds.push_back(e.ToString());
  return "redis cluster " + options_.name + " (" + Join(seeds, ",") + ", " +
         std::to_string(options_.standby.size()) + " standby)";
}

ClusterProgress RedisClusterActuator::progress() const {
  std::lock_guard<std::mutex> lock(mu_);
  return progress_;
}

std::string RedisClusterActuator::LastOutput() const {
  std::lock_guard<std::mutex> lock(mu_);
  return output_;
}

void RedisClusterActuator::Update(const std::function<void(ClusterProgress&)>& change) {
  std::lock_guard<std::mutex> lock(mu_);
  change(progress_);
  progress_.updated = options_.clock->Now();
}

void RedisClusterActuator::Notify() {
  if (options_.on_progress) options_.on_progress(progress());
}

void RedisClusterActuator::Log(std::string line) {
  std::lock_guard<std::mutex> lock(mu_);
  if (output_.size() < 64 * 1024) output_ += line + "\n";
}

core::Result<int32_t> RedisClusterActuator::Current() {
  Update([](ClusterProgress& p) {
    if (p.phase == ClusterProgress::Phase::kIdle) p.phase = ClusterProgress::Phase::kReading;
  });
  Run run(*this);
  core::Result<int32_t> n = run.Count();
  Update([&](ClusterProgress& p) {
    if (p.phase == ClusterProgress::Phase::kReading) p.phase = ClusterProgress::Phase::kIdle;
    if (!n.ok()) p.last_error = n.status().ToString();
  });
  return n;
}

core::Status RedisClusterActuator::Apply(int32_t desired, Fence fence) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    output_.clear();
  }
  Update([&](ClusterProgress& p) {
    p.phase = ClusterProgress::Phase::kReading;
    p.desired = desired;
    p.slots_planned = p.slots_moved = p.keys_moved = 0;
    p.current_slot = -1;
    p.from.clear();
    p.to.clear();
    p.joined_nodes.clear();
    p.removed_nodes.clear();
    p.last_error.clear();
    p.started = options_.clock->Now();
  });
  Run run(*this);
  core::Status st = run.Apply(desired, fence);
  // Whatever happened, report where the cluster stands now.
  core::Result<Run::Snapshot> after = run.Read(true);
  if (after.ok()) run.Publish(*after, nullptr);
  Update([&](ClusterProgress& p) {
    p.phase = st.ok() ? ClusterProgress::Phase::kDone : ClusterProgress::Phase::kFailed;
    p.last_error = st.ok() ? "" : st.ToString();
    p.current_slot = -1;
  });
  if (!st.ok()) Log("failed: " + st.ToString());
  Notify();
  return st;
}

}  // namespace amas::act::redis
