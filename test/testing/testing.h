// testing.h: helpers shared by the test binaries.
// SharedDir() finds ../shared (conformance data) or returns "" so a test can
// skip with a visible message; a user's fresh clone has no ../shared.
#ifndef AMAS_TEST_TESTING_H_
#define AMAS_TEST_TESTING_H_

#include <string>
#include <string_view>
#include <vector>

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

// A child process started with an argv (no shell), in its own process group,
// stopped by PID (SIGTERM, then SIGKILL after 2 s) when destroyed. Output goes
// to log_path (or is discarded when empty).
class ChildProcess {
 public:
  ChildProcess(const std::vector<std::string>& argv, const std::string& log_path = "");
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;  // one owner stops it
  ChildProcess& operator=(const ChildProcess&) = delete;
  int pid() const { return pid_; }
  bool running();
  // Stops the process group; returns the exit status (as from waitpid).
  int Stop();

 private:
  int pid_ = -1;
  int status_ = 0;
};

// Polls a TCP connect to 127.0.0.1:port until it succeeds or timeout_ms passes.
bool WaitForPort(int port, int timeout_ms = 10000);

}  // namespace amas::testing

#endif  // AMAS_TEST_TESTING_H_
