// Slot migration rate of the redis_cluster actuator: a 3-master cluster (no
// replicas) holding N string keys of 100 bytes gains a 4th master from the
// standby pool (4096 slots move in) and loses it again (4096 slots move out),
// for several batch sizes. Prints one line per run.
//   act_redis_migration_bench [keys=20000] [runs per setting=1]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "act/redis_cluster_actuator.h"
#include "act/redis_test_support.h"
#include "testing/testing.h"

using namespace amas;
using act::redis::Endpoint;

namespace {

struct Bench {
  testing::TempDir dir;
  std::vector<int> ports;
  std::vector<std::unique_ptr<testing::Process>> nodes;
};

bool Setup(Bench& b, int keys) {
  for (int i = 0; i < 4; ++i) {
    const int port = testing::FreeRedisPort();
    const std::string d = b.dir.path() + "/n" + std::to_string(i);
    std::filesystem::create_directories(d);
    b.nodes.push_back(testing::StartRedis(
        port, d, {"--cluster-enabled", "yes", "--cluster-config-file", d + "/nodes.conf"}));
    b.ports.push_back(port);
  }
  std::vector<std::string> argv = {"/usr/bin/redis-cli", "--cluster", "create"};
  for (int i = 0; i < 3; ++i) argv.push_back("127.0.0.1:" + std::to_string(b.ports[i]));
  argv.push_back("--cluster-yes");
  auto create = testing::Process::Start(argv, {}, b.dir.path() + "/create.log");
  testing::WaitUntil([&] { return !create->Running(); }, std::chrono::milliseconds(60000));
  const bool ok = testing::WaitUntil(
      [&] {
        for (int i = 0; i < 3; ++i) {
          auto c = testing::MustConnect(b.ports[i]);
          auto r = c.Command({"CLUSTER", "INFO"});
          if (!r.ok() || r->str.find("cluster_state:ok") == std::string::npos) return false;
        }
        return true;
      },
      std::chrono::milliseconds(60000));
  if (!ok) return false;
  testing::ClusterClient client({b.ports[0], b.ports[1], b.ports[2]});
  const std::string value(100, 'v');
  for (int i = 0; i < keys; ++i) {
    if (!client.Exec({"SET", "key:" + std::to_string(i), value}).ok()) return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  const int keys = argc > 1 ? std::atoi(argv[1]) : 20000;
  const int runs = argc > 2 ? std::atoi(argv[2]) : 1;
  Bench b;
  if (!Setup(b, keys)) {
    std::cerr << "setup failed\n";
    return 1;
  }
  testing::SystemClock clock;
  testing::RealSleeper sleeper;
  std::printf("keys=%d (100-byte strings), 3 masters <-> 4, no replicas\n", keys);
  std::printf("%-16s %-9s %8s %8s %9s %10s %10s\n", "slots_per_batch", "direction", "slots", "keys",
              "seconds", "slots/s", "keys/s");
  for (int batch : {1, 16, 64, 256}) {
    for (int r = 0; r < runs; ++r) {
      act::redis::RedisClusterOptions o;
      o.name = "bench";
      o.seeds = {Endpoint::At("127.0.0.1", b.ports[0])};
      o.standby = {Endpoint::At("127.0.0.1", b.ports[3])};
      o.replicas_per_master = 0;
      o.slots_per_batch = batch;
      o.clock = &clock;
      o.sleeper = &sleeper;
      auto a = act::redis::RedisClusterActuator::Create(o).value();
      for (int desired : {4, 3}) {
        const auto t0 = std::chrono::steady_clock::now();
        core::Status st = a->Apply(desired, act::Fence{});
        const double secs =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (!st.ok()) {
          std::cerr << "Apply(" << desired << "): " << st.ToString() << "\n";
          return 1;
        }
        const act::redis::ClusterProgress p = a->progress();
        // Scale-out time includes the join (MEET, convergence); scale-in is
        // the drain plus FORGET/RESET.
        std::printf("%-16d %-9s %8lld %8lld %9.2f %10.0f %10.0f\n", batch,
                    desired == 4 ? "out" : "in", static_cast<long long>(p.slots_moved),
                    static_cast<long long>(p.keys_moved), secs, p.slots_moved / secs,
                    p.keys_moved / secs);
      }
    }
  }
  return 0;
}
