// flags.h: the command line, Prometheus-style. Flags are "--name=value" or
// "--name value"; unknown flags and commands are errors (never ignored).
// ParseArgs is pure: it reads no files and prints nothing; main() acts on
// the Command and prints Usage() for --help.
#ifndef AMAS_APP_FLAGS_H_
#define AMAS_APP_FLAGS_H_

#include <string>
#include <string_view>
#include <vector>

#include "app/app.h"
#include "core/core.h"

namespace amas::app {

struct Command {
  enum class Kind {
    kServe,
    kHelp,
    kVersion,
    kCheckConfig,   // files
    kCheckMetrics,  // files: zero or one, "-" is stdin; format: "", "text", "openmetrics"
    kCheckRules,
    kTestPromql,
    kTestRules,
    kEval,
    kBacktest,
  };
  Kind kind = Kind::kServe;
  Options options;                   // the serving flags, also parsed for subcommands
  std::vector<std::string> files;    // positional arguments after the subcommand
  std::string format;                // check metrics --format
  std::string name;                  // "check rules", ... for messages
  std::string source;                // eval/backtest --source: a URL or an exposition file
  std::string time;                  // eval --time: RFC 3339 or Unix seconds; "" = now
  std::string start, end, step;      // backtest --start/--end (times), --step (duration)
  std::string output;                // backtest --output: "text" (default) or "json"
  std::vector<std::string> targets;  // backtest --target (repeatable): only these
};

// args excludes the program name.
core::Result<Command> ParseArgs(const std::vector<std::string_view>& args);
std::string Usage();

}  // namespace amas::app

#endif  // AMAS_APP_FLAGS_H_
