// testing.h: helpers shared by the test binaries.
// SharedDir() finds ../shared (conformance data) or returns "" so a test can
// skip with a visible message; a user's fresh clone has no ../shared.
#ifndef AMAS_TEST_TESTING_H_
#define AMAS_TEST_TESTING_H_

#include <string>
#include <string_view>

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

}  // namespace amas::testing

#endif  // AMAS_TEST_TESTING_H_
