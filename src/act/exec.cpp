#include "act/exec.h"

#include <algorithm>
#include <charconv>
#include <cstdlib>

namespace amas::act {

using core::Result;
using core::Status;

namespace {

constexpr int kExTempFail = 75;  // sysexits.h: "try again later"

bool IsTargetName(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
  });
}

bool IsEnvName(std::string_view s) {
  if (s.empty() || (s[0] >= '0' && s[0] <= '9')) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

// Calls `on` for each {{name}} in arg; false if a "{{" is not closed.
template <typename F>
bool ForEachPlaceholder(std::string_view arg, F on) {
  size_t pos = 0;
  while ((pos = arg.find("{{", pos)) != std::string_view::npos) {
    const size_t end = arg.find("}}", pos + 2);
    if (end == std::string_view::npos) return false;
    on(arg.substr(pos + 2, end - pos - 2));
    pos = end + 2;
  }
  return true;
}

Status CheckArgv(const std::vector<std::string>& argv, const char* which,
                 std::initializer_list<std::string_view> allowed) {
  if (argv.empty()) return Status::InvalidArgument(std::string(which) + " is empty");
  if (argv[0].empty() || argv[0][0] != '/') {
    return Status::InvalidArgument(std::string(which) + ": program \"" + argv[0] +
                                   "\" must be an absolute path");
  }
  if (argv[0].find("{{") != std::string::npos) {
    return Status::InvalidArgument(std::string(which) + ": the program path cannot be templated");
  }
  for (const std::string& arg : argv) {
    std::string bad;
    const bool closed = ForEachPlaceholder(arg, [&](std::string_view name) {
      if (std::find(allowed.begin(), allowed.end(), name) == allowed.end() && bad.empty()) {
        bad = std::string(name);
      }
    });
    if (!closed) {
      return Status::InvalidArgument(std::string(which) + ": unclosed \"{{\" in \"" + arg + "\"");
    }
    if (!bad.empty()) {
      return Status::InvalidArgument(std::string(which) + ": unknown placeholder {{" + bad +
                                     "}} in \"" + arg + "\"");
    }
  }
  return Status::Ok();
}

std::string Tail(const std::string& s, size_t n) {
  return s.size() <= n ? s : "..." + s.substr(s.size() - n);
}

}  // namespace

Result<std::unique_ptr<ExecActuator>> ExecActuator::Create(ExecOptions o) {
  if (!IsTargetName(o.target)) {
    return Status::InvalidArgument("exec: target name \"" + o.target +
                                   "\" must match [a-zA-Z0-9_.-]+");
  }
  const std::string where = "exec " + o.target + ": ";
  if (Status s = CheckArgv(o.current_argv, "current", {"target"}); !s.ok()) {
    return s.WithContext("exec " + o.target);
  }
  if (Status s = CheckArgv(o.apply_argv, "apply", {"target", "from", "to"}); !s.ok()) {
    return s.WithContext("exec " + o.target);
  }
  for (const std::string& name : o.env_allow) {
    if (!IsEnvName(name)) {
      return Status::InvalidArgument(where + "bad environment variable name \"" + name + "\"");
    }
  }
  if (o.timeout.millis() <= 0) return Status::InvalidArgument(where + "timeout must be positive");
  return std::unique_ptr<ExecActuator>(new ExecActuator(std::move(o)));
}

Result<ProcessResult> ExecActuator::Run(const std::vector<std::string>& argv_template,
                                        std::optional<int32_t> from, std::optional<int32_t> to) {
  RunOptions run;
  run.timeout = options_.timeout;
  run.output_limit = options_.output_limit;
  for (const std::string& arg : argv_template) {
    std::string out;
    size_t pos = 0;
    while (true) {
      const size_t open = arg.find("{{", pos);
      if (open == std::string::npos) break;
      const size_t close = arg.find("}}", open + 2);
      out.append(arg, pos, open - pos);
      const std::string_view name(arg.data() + open + 2, close - open - 2);
      if (name == "target") out += options_.target;
      if (name == "from") out += std::to_string(from.value_or(-1));
      if (name == "to") out += std::to_string(to.value_or(-1));
      pos = close + 2;
    }
    out.append(arg, pos);
    run.argv.push_back(std::move(out));
  }
  for (const std::string& name : options_.env_allow) {
    if (const char* v = std::getenv(name.c_str()); v != nullptr) run.env.push_back(name + "=" + v);
  }
  Result<ProcessResult> r = RunProcess(run);
  if (!r.ok()) return r.status().WithContext(Describe());
  if (r->timed_out) {
    return Status::Unavailable(Describe() + ": " + run.argv[0] + " killed after " +
                               options_.timeout.ToString() + " (timeout)");
  }
  if (r->exit_code == kExTempFail) {
    return Status::Unavailable(Describe() + ": " + run.argv[0] +
                               " exited 75 (try again): " + Tail(r->err, 500));
  }
  if (r->exit_code != 0) {
    const std::string how = r->signal != 0 ? "killed by signal " + std::to_string(r->signal)
                                           : "exited " + std::to_string(r->exit_code);
    return Status::FailedPrecondition(Describe() + ": " + run.argv[0] + " " + how + ": " +
                                      Tail(r->err, 500));
  }
  return r;
}

Result<int32_t> ExecActuator::Current() {
  last_read_.reset();
  Result<ProcessResult> r = Run(options_.current_argv, std::nullopt, std::nullopt);
  if (!r.ok()) return r.status();
  std::string_view text = r->out;
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
    text.remove_suffix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())))
    text.remove_prefix(1);
  int32_t n = -1;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size() || n < 0) {
    return Status::FailedPrecondition(Describe() + ": current printed \"" + Tail(r->out, 80) +
                                      "\", want one non-negative integer");
  }
  last_read_ = n;
  return n;
}

Status ExecActuator::Apply(int32_t desired, Fence) {
  if (desired < 0) return Status::InvalidArgument(Describe() + ": negative count");
  std::optional<int32_t> from = std::exchange(last_read_, std::nullopt);
  // "Already there" is only believed from a fresh read.
  if (from == desired) from.reset();
  if (!from) {
    Result<int32_t> now = Current();
    if (!now.ok()) return now.status();
    from = *now;
    last_read_.reset();
  }
  if (*from == desired) return Status::Ok();
  Result<ProcessResult> r = Run(options_.apply_argv, from, desired);
  if (!r.ok()) {
    last_output_.clear();
    return r.status();
  }
  last_output_ = r->out;
  if (!r->err.empty()) last_output_ += (last_output_.empty() ? "" : "\n") + r->err;
  return Status::Ok();
}

}  // namespace amas::act
