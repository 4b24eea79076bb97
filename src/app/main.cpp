// amas-scaler: parses the command line and hands over to Run() or a subcommand.
#include <iostream>
#include <string_view>
#include <vector>

#include "app/app.h"
#include "app/backtest.h"
#include "app/commands.h"
#include "app/flags.h"
#include "app/log.h"

#ifndef AMAS_VERSION
#define AMAS_VERSION "unknown"
#endif
#ifndef AMAS_REVISION
#define AMAS_REVISION "unknown"
#endif

int main(int argc, char** argv) {
  using amas::app::Command;
  std::vector<std::string_view> args(argv + 1, argv + argc);
  amas::core::Result<Command> cmd = amas::app::ParseArgs(args);
  if (!cmd.ok()) {
    std::cerr << "amas-scaler: error: " << cmd.status().message() << ", try --help\n";
    return 2;
  }
  switch (cmd->kind) {
    case Command::Kind::kHelp:
      std::cout << amas::app::Usage();
      return 0;
    case Command::Kind::kVersion:
      std::cout << "amas-scaler, version " << AMAS_VERSION << " (revision " << AMAS_REVISION
                << ")\n";
      return 0;
    case Command::Kind::kCheckConfig:
      return amas::app::CheckConfig(cmd->files, std::cout, std::cerr);
    case Command::Kind::kCheckMetrics:
      return amas::app::CheckMetrics(cmd->files.empty() ? "" : cmd->files[0], cmd->format, std::cin,
                                     std::cout, std::cerr);
    case Command::Kind::kTestPromql:
      return amas::app::TestPromql(cmd->files, std::cout);
    case Command::Kind::kCheckRules:
      return amas::app::CheckRules(cmd->files, std::cout, std::cerr);
    case Command::Kind::kTestRules:
      return amas::app::TestRules(cmd->files, std::cout);
    case Command::Kind::kEval:
      return amas::app::Eval(cmd->files[0], cmd->source, cmd->time, std::cout, std::cerr);
    case Command::Kind::kBacktest:
      return amas::app::Backtest({cmd->options.config_file, cmd->source, cmd->start, cmd->end,
                                  cmd->step, cmd->output, cmd->targets},
                                 std::cout, std::cerr);
    case Command::Kind::kServe:
      break;
  }
  amas::app::SystemClock clock;
  amas::app::Logger log(&clock, cmd->options.log_level);
  return amas::app::Run(cmd->options, log);
}
