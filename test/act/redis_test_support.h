// redis_test_support.h: real processes for the Redis and Celery integration
// tests. Every process runs in its own process group and is stopped by that
// group's id when its handle goes away, also when a test fails or throws.
#ifndef AMAS_TEST_ACT_REDIS_TEST_SUPPORT_H_
#define AMAS_TEST_ACT_REDIS_TEST_SUPPORT_H_

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "act/actuator.h"
#include "act/redis_conn.h"
#include "core/core.h"

namespace amas::testing {

// The wall clock and a real sleep, as app/ would pass them.
class SystemClock final : public core::Clock {
 public:
  core::Time Now() const override;
};
class RealSleeper final : public act::Sleeper {
 public:
  void Sleep(core::Duration d) override;
};

// A child process in its own group. SIGTERM to the group on Stop() or
// destruction, SIGKILL after grace; SIGCONT too, in case it was stopped.
class Process {
 public:
  // argv[0] is a path. env entries "K=V" are added to ours. stdout and stderr
  // go to log_path. cwd "" keeps ours.
  static std::unique_ptr<Process> Start(const std::vector<std::string>& argv,
                                        const std::vector<std::string>& env,
                                        const std::string& log_path, const std::string& cwd = "");
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  bool Running();
  void Signal(int sig);  // to the whole group
  void Stop(std::chrono::milliseconds grace = std::chrono::milliseconds(5000));
  void Kill();  // SIGKILL to the group, reaped

 private:
  explicit Process(pid_t pid) : pid_(pid) {}
  pid_t pid_;
  bool reaped_ = false;
};

// Polls pred every 50 ms until it returns true or timeout passes.
bool WaitUntil(const std::function<bool()>& pred, std::chrono::milliseconds timeout);

// Children of pid (from /proc), e.g. a Celery worker's pool processes.
int CountChildren(pid_t pid);

// A redis-server on 127.0.0.1:port with its files in dir, answering PING.
// extra: more arguments ("--cluster-enabled", "yes", ...).
std::unique_ptr<Process> StartRedis(int port, const std::string& dir,
                                    const std::vector<std::string>& extra = {});

// A port p with p and p+10000 (the cluster bus) free a moment ago.
int FreeRedisPort();

act::redis::Conn MustConnect(int port);

}  // namespace amas::testing

#endif  // AMAS_TEST_ACT_REDIS_TEST_SUPPORT_H_
