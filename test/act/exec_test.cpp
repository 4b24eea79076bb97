// The exec actuator with real programs and no shell: /bin/echo for templates,
// /bin/sleep for timeouts, /usr/bin/env for the environment allow-list.
#include "act/exec.h"

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>

#include "act/exec_process.h"

namespace amas::act {
namespace {

using core::Duration;
using core::Status;

ExecOptions Echo(std::vector<std::string> apply) {
  ExecOptions o;
  o.target = "celery-workers";
  o.current_argv = {"/bin/echo", "4"};
  o.apply_argv = std::move(apply);
  o.timeout = Duration::Seconds(5);
  return o;
}

TEST_CASE("exec substitutes checked values inside single arguments") {
  auto a = ExecActuator::Create(Echo({"/bin/echo", "scale", "{{target}}", "--from={{from}}",
                                      "--to={{to}}", "literal $(rm -rf /); `x` {{target}}"}));
  REQUIRE(a.ok());
  CHECK((*a)->kind() == "exec");
  CHECK(*(*a)->Current() == 4);
  REQUIRE((*a)->Apply(6, {}).ok());
  CHECK((*a)->LastOutput() ==
        "scale celery-workers --from=4 --to=6 literal $(rm -rf /); `x` celery-workers\n");
}

TEST_CASE("exec does nothing when the count is already there") {
  auto a = ExecActuator::Create(Echo({"/bin/echo", "ran"}));
  REQUIRE(a.ok());
  REQUIRE((*a)->Apply(4, {}).ok());  // reads 4 itself first
  CHECK((*a)->LastOutput().empty());
}

TEST_CASE("exec refuses unsafe or unclear configuration") {
  struct Row {
    std::string target;
    std::vector<std::string> apply;
    std::vector<std::string> env;
    std::string want;
  };
  const Row rows[] = {
      {"a;rm", {"/bin/echo"}, {}, "must match [a-zA-Z0-9_.-]+"},
      {"a b", {"/bin/echo"}, {}, "must match"},
      {"ok", {"echo", "x"}, {}, "must be an absolute path"},
      {"ok", {"/bin/{{target}}"}, {}, "cannot be templated"},
      {"ok", {"/bin/echo", "{{replicas}}"}, {}, "unknown placeholder {{replicas}}"},
      {"ok", {"/bin/echo", "{{to"}, {}, "unclosed"},
      {"ok", {}, {}, "apply is empty"},
      {"ok", {"/bin/echo"}, {"PATH=/x"}, "bad environment variable name"},
  };
  for (const Row& row : rows) {
    ExecOptions o = Echo(row.apply);
    o.target = row.target;
    o.env_allow = row.env;
    auto a = ExecActuator::Create(o);
    INFO(row.want);
    REQUIRE_FALSE(a.ok());
    CHECK(a.status().IsInvalidArgument());
    CHECK(a.status().message().find(row.want) != std::string::npos);
  }
  ExecOptions o = Echo({"/bin/echo"});
  o.current_argv = {"/bin/echo", "{{to}}"};
  CHECK(ExecActuator::Create(o).status().message().find("unknown placeholder {{to}}") !=
        std::string::npos);
}

TEST_CASE("exec passes only allow-listed environment variables") {
  setenv("AMAS_EXEC_TEST_ALLOWED", "yes", 1);
  setenv("AMAS_EXEC_TEST_SECRET", "hunter2", 1);
  ExecOptions o = Echo({"/usr/bin/env"});
  o.env_allow = {"AMAS_EXEC_TEST_ALLOWED", "AMAS_EXEC_TEST_UNSET"};
  auto a = ExecActuator::Create(o);
  REQUIRE(a.ok());
  REQUIRE((*a)->Apply(5, {}).ok());
  CHECK((*a)->LastOutput() == "AMAS_EXEC_TEST_ALLOWED=yes\n");
}

TEST_CASE("exec kills a program that outlives its timeout; that is transient") {
  ExecOptions o = Echo({"/bin/echo"});
  o.current_argv = {"/bin/sleep", "10"};
  o.timeout = Duration::Millis(200);
  auto a = ExecActuator::Create(o);
  REQUIRE(a.ok());
  const auto t0 = std::chrono::steady_clock::now();
  core::Result<int32_t> r = (*a)->Current();
  const auto took = std::chrono::steady_clock::now() - t0;
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().IsUnavailable());
  CHECK(r.status().message().find("killed after 200ms (timeout)") != std::string::npos);
  CHECK(took < std::chrono::seconds(3));
}

TEST_CASE("exec maps exit codes: 75 is transient, others are not") {
  auto fails = ExecActuator::Create(Echo({"/bin/false"}));
  REQUIRE(fails.ok());
  Status s = (*fails)->Apply(6, {});
  CHECK(s.code() == Status::Code::kFailedPrecondition);
  CHECK(s.message().find("/bin/false exited 1") != std::string::npos);
  CHECK_FALSE(IsTransient(s));

  auto tempfail = ExecActuator::Create(
      Echo({"/usr/bin/python3", "-c", "import sys; sys.stderr.write('busy'); sys.exit(75)"}));
  REQUIRE(tempfail.ok());
  s = (*tempfail)->Apply(6, {});
  CHECK(s.IsUnavailable());
  CHECK(s.message().find("busy") != std::string::npos);
}

TEST_CASE("exec wants one integer from current") {
  ExecOptions o = Echo({"/bin/echo"});
  o.current_argv = {"/bin/echo", "four"};
  auto a = ExecActuator::Create(o);
  REQUIRE(a.ok());
  core::Result<int32_t> r = (*a)->Current();
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().find("want one non-negative integer") != std::string::npos);
}

TEST_CASE("a missing program cannot start") {
  ExecOptions o = Echo({"/bin/echo"});
  o.current_argv = {"/nonexistent/amas-count"};
  auto a = ExecActuator::Create(o);
  REQUIRE(a.ok());
  core::Result<int32_t> r = (*a)->Current();
  CHECK(r.status().code() == Status::Code::kFailedPrecondition);
  CHECK(r.status().message().find("cannot run /nonexistent/amas-count") != std::string::npos);
}

TEST_CASE("captured output is bounded") {
  RunOptions run;
  run.argv = {"/usr/bin/yes", "0123456789"};
  run.timeout = Duration::Millis(200);
  run.output_limit = 1000;
  auto r = RunProcess(run);
  REQUIRE(r.ok());
  CHECK(r->timed_out);
  CHECK(r->truncated);
  CHECK(r->out.size() == 1000);
  CHECK(r->signal == 9);
}

TEST_CASE("a program's exit and output are reported as they are") {
  RunOptions run;
  run.argv = {"/bin/echo", "-n", "hello"};
  auto r = RunProcess(run);
  REQUIRE(r.ok());
  CHECK(r->exit_code == 0);
  CHECK(r->out == "hello");
  CHECK_FALSE(r->timed_out);
  CHECK_FALSE(r->truncated);
}

}  // namespace
}  // namespace amas::act
