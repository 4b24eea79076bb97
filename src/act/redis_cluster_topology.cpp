#include "act/redis_cluster_topology.h"

#include <algorithm>
#include <charconv>

namespace amas::act::redis {
namespace {

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start <= s.size()) {
    const size_t end = s.find(sep, start);
    const size_t stop = end == std::string_view::npos ? s.size() : end;
    if (stop > start) out.push_back(s.substr(start, stop - start));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return out;
}

template <typename T>
bool ToInt(std::string_view s, T& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

bool ValidSlot(int s) { return s >= 0 && s < kClusterSlots; }

std::string_view TrimCr(std::string_view line) {
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
  return line;
}

}  // namespace

bool ClusterNode::Has(std::string_view flag) const {
  return std::find(flags.begin(), flags.end(), flag) != flags.end();
}

int ClusterNode::SlotCount() const {
  int n = 0;
  for (const SlotRange& r : slots) n += r.last - r.first + 1;
  return n;
}

bool ClusterNode::Owns(int slot) const {
  for (const SlotRange& r : slots) {
    if (slot >= r.first && slot <= r.last) return true;
  }
  return false;
}

core::Result<std::vector<ClusterNode>> ParseClusterNodes(std::string_view text) {
  std::vector<ClusterNode> out;
  int line_no = 0;
  for (std::string_view raw : Split(text, '\n')) {
    ++line_no;
    const std::string_view line = TrimCr(raw);
    if (line.empty()) continue;
    auto bad = [&](std::string_view what, std::string_view fragment) {
      return core::Status::InvalidArgument("CLUSTER NODES line " + std::to_string(line_no) + ": " +
                                           std::string(what) + " \"" + std::string(fragment) +
                                           "\"");
    };
    const std::vector<std::string_view> f = Split(line, ' ');
    if (f.size() < 8) return bad("fewer than 8 fields in", line);
    ClusterNode n;
    n.id = std::string(f[0]);
    // ip:port@cport[,hostname]; the IP may be empty or IPv6 (colons), so cut
    // at the last ':' before '@'.
    std::string_view addr = f[1];
    if (size_t comma = addr.find(','); comma != std::string_view::npos)
      addr = addr.substr(0, comma);
    const size_t at = addr.find('@');
    std::string_view hostport = addr.substr(0, at);
    const size_t colon = hostport.rfind(':');
    if (colon == std::string_view::npos || !ToInt(hostport.substr(colon + 1), n.port)) {
      return bad("bad address", f[1]);
    }
    n.host = std::string(hostport.substr(0, colon));
    if (at != std::string_view::npos && !ToInt(addr.substr(at + 1), n.bus_port)) {
      return bad("bad bus port in", f[1]);
    }
    for (std::string_view flag : Split(f[2], ',')) n.flags.emplace_back(flag);
    if (f[3] != "-") n.master_id = std::string(f[3]);
    if (!ToInt(f[6], n.config_epoch)) return bad("bad config epoch", f[6]);
    n.connected = f[7] == "connected";
    for (size_t i = 8; i < f.size(); ++i) {
      std::string_view s = f[i];
      if (s.front() == '[') {
        // [slot->-id] migrating, [slot-<-id] importing
        if (s.back() != ']') return bad("bad open slot", s);
        std::string_view inner = s.substr(1, s.size() - 2);
        int slot = 0;
        if (size_t p = inner.find("->-"); p != std::string_view::npos) {
          if (!ToInt(inner.substr(0, p), slot) || !ValidSlot(slot)) return bad("bad open slot", s);
          n.migrating.push_back({slot, std::string(inner.substr(p + 3))});
        } else if (size_t q = inner.find("-<-"); q != std::string_view::npos) {
          if (!ToInt(inner.substr(0, q), slot) || !ValidSlot(slot)) return bad("bad open slot", s);
          n.importing.push_back({slot, std::string(inner.substr(q + 3))});
        } else {
          return bad("bad open slot", s);
        }
        continue;
      }
      SlotRange r;
      if (size_t dash = s.find('-'); dash != std::string_view::npos) {
        if (!ToInt(s.substr(0, dash), r.first) || !ToInt(s.substr(dash + 1), r.last)) {
          return bad("bad slot range", s);
        }
      } else {
        if (!ToInt(s, r.first)) return bad("bad slot", s);
        r.last = r.first;
      }
      if (!ValidSlot(r.first) || !ValidSlot(r.last) || r.first > r.last) {
        return bad("slot out of range", s);
      }
      n.slots.push_back(r);
    }
    out.push_back(std::move(n));
  }
  return out;
}

const ClusterNode* Myself(const std::vector<ClusterNode>& view) {
  for (const ClusterNode& n : view) {
    if (n.myself()) return &n;
  }
  return nullptr;
}

const ClusterNode* FindNode(const std::vector<ClusterNode>& view, std::string_view id) {
  for (const ClusterNode& n : view) {
    if (n.id == id) return &n;
  }
  return nullptr;
}

std::map<std::string, std::string> ParseInfoFields(std::string_view text) {
  std::map<std::string, std::string> out;
  for (std::string_view raw : Split(text, '\n')) {
    const std::string_view line = TrimCr(raw);
    if (line.empty() || line.front() == '#') continue;
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    out[std::string(line.substr(0, colon))] = std::string(line.substr(colon + 1));
  }
  return out;
}

core::Result<ClusterInfo> ParseClusterInfo(std::string_view text) {
  const std::map<std::string, std::string> f = ParseInfoFields(text);
  ClusterInfo info;
  auto it = f.find("cluster_state");
  if (it == f.end()) return core::Status::InvalidArgument("CLUSTER INFO: no cluster_state");
  info.state = it->second;
  auto num = [&](const char* key, auto& out) -> core::Status {
    auto k = f.find(key);
    if (k == f.end()) return core::Status::Ok();  // older servers omit some
    if (!ToInt(std::string_view(k->second), out)) {
      return core::Status::InvalidArgument(std::string("CLUSTER INFO: bad ") + key + " \"" +
                                           k->second + "\"");
    }
    return core::Status::Ok();
  };
  for (core::Status s :
       {num("cluster_slots_assigned", info.slots_assigned), num("cluster_slots_ok", info.slots_ok),
        num("cluster_known_nodes", info.known_nodes), num("cluster_size", info.size),
        num("cluster_current_epoch", info.current_epoch)}) {
    if (!s.ok()) return s;
  }
  return info;
}

std::vector<ClusterNode> MergeSlotClaims(std::vector<ClusterNode> reference,
                                         const std::vector<ClusterNode>& selves) {
  std::vector<const ClusterNode*> owner(kClusterSlots, nullptr);
  for (const ClusterNode& me : selves) {
    if (!me.master()) continue;
    for (const SlotRange& r : me.slots) {
      for (int s = r.first; s <= r.last; ++s) {
        if (owner[s] == nullptr || me.config_epoch > owner[s]->config_epoch) owner[s] = &me;
      }
    }
  }
  std::vector<std::string> owner_id(kClusterSlots);
  for (int s = 0; s < kClusterSlots; ++s) {
    if (owner[s] != nullptr) owner_id[s] = owner[s]->id;
  }
  for (const ClusterNode& n : reference) {
    for (const SlotRange& r : n.slots) {
      for (int s = r.first; s <= r.last; ++s) {
        if (owner_id[s].empty()) owner_id[s] = n.id;
      }
    }
  }
  for (ClusterNode& n : reference) {
    n.slots.clear();
    for (int s = 0; s < kClusterSlots; ++s) {
      if (owner_id[s] != n.id) continue;
      if (!n.slots.empty() && n.slots.back().last == s - 1) {
        n.slots.back().last = s;
      } else {
        n.slots.push_back({s, s});
      }
    }
  }
  return reference;
}

core::Result<Endpoint> ParseRedirect(std::string_view error_text) {
  const std::vector<std::string_view> f = Split(error_text, ' ');
  if (f.size() != 3 || (f[0] != "MOVED" && f[0] != "ASK")) {
    return core::Status::InvalidArgument("not a redirect: \"" + std::string(error_text) + "\"");
  }
  const size_t colon = f[2].rfind(':');
  int port = 0;
  if (colon == std::string_view::npos || !ToInt(f[2].substr(colon + 1), port)) {
    return core::Status::InvalidArgument("redirect without host:port: \"" +
                                         std::string(error_text) + "\"");
  }
  return Endpoint::At(std::string(f[2].substr(0, colon)), port);
}

}  // namespace amas::act::redis
