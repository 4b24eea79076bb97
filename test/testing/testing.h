// testing.h: helpers shared by the test binaries.
// SharedDir() finds ../shared (conformance data) or returns "" so a test can
// skip with a visible message; a user's fresh clone has no ../shared.
#ifndef AMAS_TEST_TESTING_H_
#define AMAS_TEST_TESTING_H_

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/core.h"

namespace amas::testing {

// $AMAS_SHARED_DIR if set, else the build-time default; "" when that folder
// does not exist.
std::string SharedDir();

// SharedDir() + "/" + relative, or "" when ../shared is absent.
std::string SharedPath(std::string_view relative);

// The exit code ctest reads as "skipped" (SKIP_RETURN_CODE).
inline constexpr int kSkipExitCode = 77;

// Prints "SKIPPED: <what>: ../shared not found (...)" to stderr and returns
// kSkipExitCode, for conformance binaries.
int SkipMissingShared(std::string_view what);

// Whole file as bytes; "" and ok=false when unreadable.
std::string ReadFile(const std::string& path, bool* ok = nullptr);

// A fresh directory under $TMPDIR, removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;  // one owner removes the folder
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0, read, close).
int FreeLoopbackPort();

// A child process in its own process group, started with an argv (no
// shell), stopped by that group's id when its handle goes away, also when a
// test fails or throws: SIGTERM (and SIGCONT, in case it was stopped), then
// SIGKILL after the grace.
class Process {
 public:
  // argv[0] is a path. env entries "K=V" are added to ours. stdout and stderr
  // are appended to log_path ("" discards them). cwd "" keeps ours.
  static std::unique_ptr<Process> Start(const std::vector<std::string>& argv,
                                        const std::vector<std::string>& env = {},
                                        const std::string& log_path = "",
                                        const std::string& cwd = "");
  ~Process();
  Process(const Process&) = delete;  // one owner stops it
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

// The wall clock, as app/ passes it, for tests that talk to real services.
class SystemClock final : public core::Clock {
 public:
  core::Time Now() const override;
};

// Polls a TCP connect to 127.0.0.1:port until it succeeds or timeout_ms passes.
bool WaitForPort(int port, int timeout_ms = 10000);

}  // namespace amas::testing

#endif  // AMAS_TEST_TESTING_H_
