#include "app/flags.h"

#include <map>

namespace amas::app {
namespace {

using core::Result;
using core::Status;
using Kind = Command::Kind;

Status SetFlag(std::string_view name, std::string_view value, Command* cmd) {
  Options& o = cmd->options;
  if (name == "config.file") {
    o.config_file = value;
  } else if (name == "web.listen-address") {
    if (value.rfind(':') == std::string_view::npos) {
      return Status::InvalidArgument("--web.listen-address wants host:port or :port, got \"" +
                                     std::string(value) + "\"");
    }
    o.listen_address = value;
  } else if (name == "web.external-url") {
    if (!value.empty() && !value.starts_with("http://") && !value.starts_with("https://")) {
      return Status::InvalidArgument("--web.external-url must start with http:// or https://");
    }
    o.external_url = value;
  } else if (name == "storage.path") {
    o.storage_path = value;
  } else if (name == "log.level") {
    Result<LogLevel> level = ParseLogLevel(value);
    if (!level.ok()) return level.status();
    o.log_level = *level;
  } else if (name == "format" && cmd->kind == Kind::kCheckMetrics) {
    if (value != "text" && value != "openmetrics") {
      return Status::InvalidArgument("--format wants text or openmetrics, got \"" +
                                     std::string(value) + "\"");
    }
    cmd->format = value;
  } else if (name == "source" && (cmd->kind == Kind::kEval || cmd->kind == Kind::kBacktest)) {
    cmd->source = value;
  } else if (name == "start" && cmd->kind == Kind::kBacktest) {
    cmd->start = value;
  } else if (name == "end" && cmd->kind == Kind::kBacktest) {
    cmd->end = value;
  } else if (name == "step" && cmd->kind == Kind::kBacktest) {
    cmd->step = value;
  } else if (name == "output" && cmd->kind == Kind::kBacktest) {
    if (value != "text" && value != "json") {
      return Status::InvalidArgument("--output wants text or json, got \"" + std::string(value) +
                                     "\"");
    }
    cmd->output = value;
  } else if (name == "target" && cmd->kind == Kind::kBacktest) {
    cmd->targets.emplace_back(value);
  } else if (name == "time" && cmd->kind == Kind::kEval) {
    cmd->time = value;
  } else {
    return Status::InvalidArgument("unknown long flag '--" + std::string(name) + "'");
  }
  return Status();
}

const std::map<std::string, std::map<std::string, Kind>>& Subcommands() {
  static const std::map<std::string, std::map<std::string, Kind>> kSubs = {
      {"check",
       {{"config", Kind::kCheckConfig},
        {"metrics", Kind::kCheckMetrics},
        {"rules", Kind::kCheckRules}}},
      {"test", {{"promql", Kind::kTestPromql}, {"rules", Kind::kTestRules}}},
      {"eval", {{"", Kind::kEval}}},
      {"backtest", {{"", Kind::kBacktest}}},
  };
  return kSubs;
}

}  // namespace

Result<Command> ParseArgs(const std::vector<std::string_view>& args) {
  Command cmd;
  std::vector<std::string_view> positional;
  bool only_positional = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string_view arg = args[i];
    if (only_positional || arg == "-" || !arg.starts_with("-")) {
      if (cmd.kind == Kind::kServe && cmd.name.empty()) {
        auto sub = Subcommands().find(std::string(arg));
        if (sub == Subcommands().end()) {
          return Status::InvalidArgument("unexpected " + std::string(arg) +
                                         " (commands: check, test, eval, backtest)");
        }
        cmd.name = arg;
        if (sub->second.count("") != 0) {
          cmd.kind = sub->second.at("");
          continue;
        }
        if (i + 1 >= args.size()) {
          return Status::InvalidArgument("expected command after " + std::string(arg));
        }
        auto kind = sub->second.find(std::string(args[i + 1]));
        if (kind == sub->second.end()) {
          return Status::InvalidArgument("unknown command \"" + std::string(arg) + " " +
                                         std::string(args[i + 1]) + "\"");
        }
        cmd.kind = kind->second;
        cmd.name += " " + std::string(args[++i]);
        continue;
      }
      if (cmd.kind == Kind::kServe) {
        return Status::InvalidArgument("unexpected " + std::string(arg));
      }
      cmd.files.emplace_back(arg);
      continue;
    }
    if (arg == "--") {
      only_positional = true;
      continue;
    }
    if (arg == "-h" || arg == "--help") {
      cmd.kind = Kind::kHelp;
      return cmd;
    }
    if (arg == "--version") {
      cmd.kind = Kind::kVersion;
      return cmd;
    }
    if (!arg.starts_with("--")) {
      return Status::InvalidArgument("unknown short flag '" + std::string(arg) + "'");
    }
    std::string_view name = arg.substr(2);
    std::string_view value;
    const size_t eq = name.find('=');
    if (eq != std::string_view::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    } else {
      if (i + 1 >= args.size()) {
        // An unknown flag is the better message than a missing value.
        if (Status s = SetFlag(name, "", &cmd); !s.ok() && s.message().starts_with("unknown")) {
          return s;
        }
        return Status::InvalidArgument("expected argument for flag '--" + std::string(name) + "'");
      }
      value = args[++i];
    }
    if (Status s = SetFlag(name, value, &cmd); !s.ok()) return s;
  }
  if (cmd.kind == Kind::kCheckConfig && cmd.files.empty()) {
    return Status::InvalidArgument("check config: expected at least one config file");
  }
  if (cmd.kind == Kind::kTestPromql && cmd.files.empty()) {
    return Status::InvalidArgument("test promql: expected at least one .test file");
  }
  if ((cmd.kind == Kind::kCheckRules || cmd.kind == Kind::kTestRules) && cmd.files.empty()) {
    return Status::InvalidArgument(cmd.name + ": expected at least one file");
  }
  if (cmd.kind == Kind::kEval && cmd.files.size() != 1) {
    return Status::InvalidArgument("eval: expected one expression");
  }
  if (cmd.kind == Kind::kBacktest && !cmd.files.empty()) {
    return Status::InvalidArgument("backtest: unexpected " + cmd.files[0] +
                                   " (the samples come with --source=FILE|URL)");
  }
  if (cmd.kind == Kind::kCheckMetrics && cmd.files.size() > 1) {
    return Status::InvalidArgument("check metrics: expected at most one file (or - for stdin)");
  }
  return cmd;
}

std::string Usage() {
  return R"(usage: amas-scaler [<flags>] [<command> [<args> ...]]

amas-scaler watches Prometheus metrics, decides how many replicas each part of
the AMAS platform should have, explains why, and (when allowed) scales it.

Flags:
  -h, --help                     Show this help.
      --version                  Show the version.
      --config.file="amas-scaler.yml"
                                 Configuration file (prometheus.yml shape).
      --web.listen-address=":9105"
                                 Address to listen on: host:port, or :port for
                                 every interface.
      --web.external-url=""      URL under which amas-scaler is reached from
                                 outside (default http://<hostname>:<port>/).
      --storage.path="data/"     Folder for persisted state.
      --log.level=info           debug, info, warn or error.

Commands (without one, amas-scaler serves):
  check config FILE...           Check config files; exit 1 on the first error.
  check metrics [FILE|-]         Parse an exposition (default stdin); --format=text
                                 or openmetrics, else sniffed from "# EOF".
  check rules FILE...            Check rule files.
  test promql FILE...            Run promqltest scripts (*.test); exit 1 if a case fails.
  test rules FILE...             Run rule unit tests.
  eval EXPR [--source URL|FILE] [--time T]
                                 Evaluate PromQL over one scrape of URL or FILE.
  backtest --source=FILE|URL [--start=T] [--end=T] [--step=D] [--target=NAME]
           [--output=text|json]
                                 Replay recorded samples (FILE: exposition
                                 lines with timestamps, e.g. /federate output;
                                 URL: a Prometheus API) through --config.file's
                                 rules and scale targets, acting on nothing;
                                 print each change of a recommendation and a
                                 summary per target. --step overrides every
                                 group's interval. See docs/backtest.md.
)";
}

}  // namespace amas::app
