// exec_process.h: run a program from an argv list, never through a shell.
// The child gets exactly `env`, stdin from /dev/null, and its own process
// group; at the deadline the whole group is killed (SIGKILL). stdout and
// stderr are captured up to output_limit bytes each (the rest is drained and
// dropped). A non-zero exit is a result, not an error; errors are only
// "could not start" (FailedPrecondition) and system failures (Internal).
// Thread rule: thread-safe; each call owns its child.
#ifndef AMAS_ACT_EXEC_PROCESS_H_
#define AMAS_ACT_EXEC_PROCESS_H_

#include <string>
#include <vector>

#include "core/core.h"

namespace amas::act {

struct RunOptions {
  std::vector<std::string> argv;  // argv[0] is an absolute path: no PATH search
  std::vector<std::string> env;   // "NAME=value" each
  core::Duration timeout = core::Duration::Seconds(30);
  size_t output_limit = 16 * 1024;
};

struct ProcessResult {
  int exit_code = -1;  // -1 when killed by a signal
  int signal = 0;      // the signal that ended it, or 0
  bool timed_out = false;
  std::string out, err;    // at most output_limit bytes each
  bool truncated = false;  // some output was dropped
};

core::Result<ProcessResult> RunProcess(const RunOptions& options);

}  // namespace amas::act

#endif  // AMAS_ACT_EXEC_PROCESS_H_
