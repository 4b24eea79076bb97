// redis_test_support.h: real processes for the Redis and Celery integration
// tests. Every process runs in its own process group and is stopped by that
// group's id when its handle goes away, also when a test fails or throws.
#ifndef AMAS_TEST_ACT_REDIS_TEST_SUPPORT_H_
#define AMAS_TEST_ACT_REDIS_TEST_SUPPORT_H_

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "act/actuator.h"
#include "act/redis_conn.h"
#include "core/core.h"
#include "testing/testing.h"

// In Catch2 tests: fails with the status's text unless expr is OK.
#define REQUIRE_OK(expr)                    \
  do {                                      \
    const ::amas::core::Status s_ = (expr); \
    INFO(s_.ToString());                    \
    REQUIRE(s_.ok());                       \
  } while (0)

namespace amas::testing {

// A real sleep, as app/ would pass it.
class RealSleeper final : public act::Sleeper {
 public:
  void Sleep(core::Duration d) override;
};

// Children of pid (from /proc), e.g. a Celery worker's pool processes.
int CountChildren(pid_t pid);

// A redis-server on 127.0.0.1:port with its files in dir, answering PING.
// extra: more arguments ("--cluster-enabled", "yes", ...).
std::unique_ptr<Process> StartRedis(int port, const std::string& dir,
                                    const std::vector<std::string>& extra = {});

// A port p with p and p+10000 (the cluster bus) free a moment ago.
int FreeRedisPort();

act::redis::Conn MustConnect(int port);

// The hash slot of a key (CRC16/XMODEM mod 16384, honouring {hash tags}).
int KeySlot(std::string_view key);

// A small cluster client for tests: follows MOVED and ASK, waits out
// TRYAGAIN/CLUSTERDOWN and reconnects on I/O errors, counting each retry.
class ClusterClient {
 public:
  struct Counts {
    int64_t ops = 0;
    int64_t moved = 0;
    int64_t ask = 0;
    int64_t tryagain = 0;    // TRYAGAIN and CLUSTERDOWN
    int64_t reconnects = 0;  // I/O errors, refused connections
    int64_t errors = 0;      // given up or any other error: a client-visible failure
  };
  explicit ClusterClient(std::vector<int> seed_ports) : seeds_(std::move(seed_ports)) {}
  // args[1] is the key. Returns the reply, or the error after 200 attempts.
  core::Result<act::redis::Reply> Exec(const std::vector<std::string>& args);
  const Counts& counts() const { return counts_; }
  std::string last_error() const { return last_error_; }

 private:
  void Refresh();
  act::redis::Conn* At(const std::string& addr);
  std::vector<int> seeds_;
  std::vector<std::string> owner_ = std::vector<std::string>(16384);  // slot -> "ip:port"
  std::map<std::string, act::redis::Conn> conns_;
  Counts counts_;
  std::string last_error_;
};

// Every key of the cluster with its string value, read from the nodes that
// say ROLE master, checked to sit on its slot's owner. error is set when a
// key is on two masters, misplaced, or a node cannot be read.
struct ClusterDump {
  std::map<std::string, std::string> keys;
  std::string error;
};
ClusterDump DumpCluster(const std::vector<int>& ports);

}  // namespace amas::testing

#endif  // AMAS_TEST_ACT_REDIS_TEST_SUPPORT_H_
