// exec.h: an actuator that runs programs, for backends without an API here.
// current_argv prints the count on stdout; apply_argv moves it. Arguments may
// hold {{target}}, {{from}} and {{to}}; each is replaced inside its own argv
// element (there is no shell, so nothing is ever re-parsed), and the values
// are checked first: target names match [a-zA-Z0-9_.-]+, counts are integers.
// The child sees only the allow-listed environment variables. Exit 0 is
// success, 75 (EX_TEMPFAIL) and timeouts are Unavailable (retried), any other
// exit is FailedPrecondition with the program's stderr.
// Thread rule: used by one Executor.
#ifndef AMAS_ACT_EXEC_H_
#define AMAS_ACT_EXEC_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "act/actuator.h"
#include "act/exec_process.h"

namespace amas::act {

struct ExecOptions {
  std::string target;                     // {{target}}
  std::vector<std::string> current_argv;  // {{target}} only
  std::vector<std::string> apply_argv;    // {{target}}, {{from}}, {{to}}
  core::Duration timeout = core::Duration::Seconds(30);
  std::vector<std::string> env_allow;  // variable names passed through
  size_t output_limit = 16 * 1024;     // per stream, kept for the action record
};

class ExecActuator : public Actuator {
 public:
  // InvalidArgument for a bad target name, a relative program path, a
  // templated program path, an unknown {{placeholder}} or a bad env name.
  static core::Result<std::unique_ptr<ExecActuator>> Create(ExecOptions options);
  std::string_view kind() const override { return "exec"; }
  std::string Describe() const override {
    return "exec " + options_.apply_argv[0] + " " + options_.target;
  }
  core::Result<int32_t> Current() override;
  core::Status Apply(int32_t desired, Fence fence) override;
  std::string LastOutput() const override { return last_output_; }

 private:
  explicit ExecActuator(ExecOptions options) : options_(std::move(options)) {}
  core::Result<ProcessResult> Run(const std::vector<std::string>& argv_template,
                                  std::optional<int32_t> from, std::optional<int32_t> to);

  const ExecOptions options_;
  std::optional<int32_t> last_read_;  // from Current(), used once as {{from}}
  std::string last_output_;
};

}  // namespace amas::act

#endif  // AMAS_ACT_EXEC_H_
