#include "act/redis_test_support.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "testing/testing.h"

namespace amas::testing {

void RealSleeper::Sleep(core::Duration d) {
  if (d.millis() > 0) std::this_thread::sleep_for(std::chrono::milliseconds(d.millis()));
}

int CountChildren(pid_t pid) {
  int n = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(entry.path() / "stat");
    std::string line;
    if (!std::getline(in, line)) continue;
    // pid (comm) state ppid ...; comm may hold spaces, so parse after ')'.
    const size_t close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 1));
    std::string state;
    long ppid = 0;
    rest >> state >> ppid;
    if (ppid == pid && state != "Z") ++n;
  }
  return n;
}

namespace {
bool PortFree(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  const bool ok = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return ok;
}
}  // namespace

int FreeRedisPort() {
  static std::set<int> handed_out;  // two calls in a row must not collide
  for (int attempt = 0; attempt < 200; ++attempt) {
    const int p = FreeLoopbackPort();
    if (p <= 0 || p + 10000 > 65535 || handed_out.count(p) || handed_out.count(p + 10000) ||
        handed_out.count(p - 10000)) {
      continue;
    }
    if (PortFree(p + 10000)) {
      handed_out.insert(p);
      return p;
    }
  }
  throw std::runtime_error("no free redis port pair");
}

std::unique_ptr<Process> StartRedis(int port, const std::string& dir,
                                    const std::vector<std::string>& extra) {
  std::vector<std::string> argv = {"/usr/bin/redis-server",
                                   "--port",
                                   std::to_string(port),
                                   "--bind",
                                   "127.0.0.1",
                                   "--save",
                                   "",
                                   "--appendonly",
                                   "no",
                                   "--dir",
                                   dir,
                                   "--daemonize",
                                   "no",
                                   "--protected-mode",
                                   "no"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  auto p = Process::Start(argv, {}, dir + "/redis.log");
  const bool up = WaitUntil(
      [&] {
        auto c = act::redis::Conn::Open(act::redis::Endpoint::At("127.0.0.1", port),
                                        core::Duration::Millis(200));
        if (!c.ok()) return false;
        auto r = c->Command({"PING"});
        return r.ok() && r->str == "PONG";
      },
      std::chrono::milliseconds(10000));
  if (!up)
    throw std::runtime_error("redis-server on port " + std::to_string(port) + " did not start");
  return p;
}

act::redis::Conn MustConnect(int port) {
  auto c = act::redis::Conn::Open(act::redis::Endpoint::At("127.0.0.1", port),
                                  core::Duration::Seconds(5));
  if (!c.ok()) throw std::runtime_error(c.status().ToString());
  return std::move(c).value();
}

int KeySlot(std::string_view key) {
  if (size_t open = key.find('{'); open != std::string_view::npos) {
    size_t close = key.find('}', open + 1);
    if (close != std::string_view::npos && close > open + 1)
      key = key.substr(open + 1, close - open - 1);
  }
  uint16_t crc = 0;
  for (char ch : key) {
    crc ^= static_cast<uint16_t>(static_cast<uint8_t>(ch)) << 8;
    for (int i = 0; i < 8; ++i)
      crc = (crc & 0x8000) ? static_cast<uint16_t>((crc << 1) ^ 0x1021)
                           : static_cast<uint16_t>(crc << 1);
  }
  return crc % 16384;
}

act::redis::Conn* ClusterClient::At(const std::string& addr) {
  auto it = conns_.find(addr);
  if (it != conns_.end() && !it->second.broken()) return &it->second;
  if (it != conns_.end()) conns_.erase(it);
  const size_t colon = addr.rfind(':');
  auto c = act::redis::Conn::Open(
      act::redis::Endpoint::At(addr.substr(0, colon), std::atoi(addr.c_str() + colon + 1)),
      core::Duration::Seconds(2));
  if (!c.ok()) return nullptr;
  return &conns_.emplace(addr, std::move(c).value()).first->second;
}

void ClusterClient::Refresh() {
  for (int port : seeds_) {
    act::redis::Conn* c = At("127.0.0.1:" + std::to_string(port));
    if (c == nullptr) continue;
    auto r = c->Command({"CLUSTER", "NODES"});
    if (!r.ok() || r->is_error()) continue;
    std::istringstream in(r->str);
    std::string line;
    while (std::getline(in, line)) {
      std::istringstream f(line);
      std::string id, addr, flags, master, a, b, epoch, link, slot;
      f >> id >> addr >> flags >> master >> a >> b >> epoch >> link;
      if (flags.find("master") == std::string::npos || flags.find("fail") != std::string::npos)
        continue;
      addr = addr.substr(0, addr.find('@'));
      while (f >> slot) {
        if (slot[0] == '[') continue;
        const size_t dash = slot.find('-');
        const int lo = std::atoi(slot.c_str());
        const int hi = dash == std::string::npos ? lo : std::atoi(slot.c_str() + dash + 1);
        for (int s = lo; s <= hi; ++s) owner_[s] = addr;
      }
    }
    return;
  }
}

core::Result<act::redis::Reply> ClusterClient::Exec(const std::vector<std::string>& args) {
  ++counts_.ops;
  const int slot = KeySlot(args.at(1));
  if (owner_[slot].empty()) Refresh();
  std::string addr = owner_[slot];
  bool asking = false;
  for (int attempt = 0; attempt < 200; ++attempt) {
    act::redis::Conn* c = addr.empty() ? nullptr : At(addr);
    if (c == nullptr) {
      ++counts_.reconnects;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      Refresh();
      addr = owner_[slot];
      continue;
    }
    core::Result<std::vector<act::redis::Reply>> r =
        asking ? c->Pipeline({{"ASKING"}, args}) : c->Pipeline({args});
    asking = false;
    if (!r.ok()) {
      ++counts_.reconnects;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      Refresh();
      addr = owner_[slot];
      continue;
    }
    const act::redis::Reply& reply = r->back();
    if (reply.is_error()) {
      const std::string_view code = reply.error_code();
      if (code == "MOVED" || code == "ASK") {
        const std::string to = reply.str.substr(reply.str.rfind(' ') + 1);
        if (code == "MOVED") {
          ++counts_.moved;
          owner_[slot] = to;
        } else {
          ++counts_.ask;
          asking = true;
        }
        addr = to;
        continue;
      }
      if (code == "TRYAGAIN" || code == "CLUSTERDOWN") {
        ++counts_.tryagain;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        Refresh();
        addr = owner_[slot];
        continue;
      }
      ++counts_.errors;
      last_error_ = reply.str;
      return core::Status::FailedPrecondition(reply.str);
    }
    return reply;
  }
  ++counts_.errors;
  last_error_ = "gave up after 200 attempts";
  return core::Status::Unavailable(last_error_);
}

ClusterDump DumpCluster(const std::vector<int>& ports) {
  ClusterDump dump;
  for (int port : ports) {
    auto c = act::redis::Conn::Open(act::redis::Endpoint::At("127.0.0.1", port),
                                    core::Duration::Seconds(5));
    if (!c.ok()) continue;  // a stopped node holds nothing we count
    auto role = c->Command({"ROLE"});
    if (!role.ok() || role->elements.empty() || role->elements[0].str != "master") continue;
    auto nodes = c->Command({"CLUSTER", "NODES"});
    if (!nodes.ok()) {
      dump.error = "CLUSTER NODES failed on " + std::to_string(port);
      return dump;
    }
    std::vector<bool> mine(16384, false);
    {
      std::istringstream in(nodes->str);
      std::string line;
      while (std::getline(in, line)) {
        if (line.find("myself") == std::string::npos) continue;
        std::istringstream f(line);
        std::string skip, slot;
        for (int i = 0; i < 8; ++i) f >> skip;
        while (f >> slot) {
          if (slot[0] == '[') continue;
          const size_t dash = slot.find('-');
          const int lo = std::atoi(slot.c_str());
          const int hi = dash == std::string::npos ? lo : std::atoi(slot.c_str() + dash + 1);
          for (int s = lo; s <= hi; ++s) mine[s] = true;
        }
      }
    }
    std::string cursor = "0";
    do {
      auto r = c->Command({"SCAN", cursor, "COUNT", "1000"});
      if (!r.ok() || r->elements.size() != 2) {
        dump.error = "SCAN failed on " + std::to_string(port);
        return dump;
      }
      cursor = r->elements[0].str;
      for (const auto& k : r->elements[1].elements) {
        auto v = c->Command({"GET", k.str});
        if (!v.ok() || v->is_error()) {
          dump.error = "GET " + k.str + " failed on " + std::to_string(port);
          return dump;
        }
        if (!mine[KeySlot(k.str)]) {
          dump.error = "key " + k.str + " on " + std::to_string(port) +
                       " which does not own slot " + std::to_string(KeySlot(k.str));
          return dump;
        }
        if (!dump.keys.emplace(k.str, v->str).second) {
          dump.error = "key " + k.str + " on two masters";
          return dump;
        }
      }
    } while (cursor != "0");
  }
  return dump;
}

}  // namespace amas::testing
