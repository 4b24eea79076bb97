#include <catch2/catch.hpp>

#include "app/flags.h"
#include "app/log.h"

namespace amas::app {
namespace {

using Kind = Command::Kind;

core::Result<Command> Parse(std::vector<std::string_view> args) { return ParseArgs(args); }

TEST_CASE("serving flags parse in both --flag=value and --flag value forms") {
  auto cmd = Parse({"--config.file=deploy/demo.yaml", "--web.listen-address", "127.0.0.1:9105",
                    "--web.external-url=http://scaler.example:80/", "--storage.path=/tmp/x",
                    "--log.level=debug"});
  REQUIRE(cmd.ok());
  CHECK(cmd->kind == Kind::kServe);
  CHECK(cmd->options.config_file == "deploy/demo.yaml");
  CHECK(cmd->options.listen_address == "127.0.0.1:9105");
  CHECK(cmd->options.external_url == "http://scaler.example:80/");
  CHECK(cmd->options.storage_path == "/tmp/x");
  CHECK(cmd->options.log_level == LogLevel::kDebug);

  auto defaults = Parse({});
  REQUIRE(defaults.ok());
  CHECK(defaults->options.config_file == "amas-scaler.yml");
  CHECK(defaults->options.listen_address == ":9105");
  CHECK(defaults->options.log_level == LogLevel::kInfo);
  CHECK(Parse({"--web.listen-address=:9105"}).ok());
}

TEST_CASE("unknown or malformed flags are errors") {
  CHECK(Parse({"--config.fil=x"}).status().message() == "unknown long flag '--config.fil'");
  CHECK(Parse({"--nope"}).status().message() == "unknown long flag '--nope'");
  CHECK(Parse({"-x"}).status().message() == "unknown short flag '-x'");
  CHECK(Parse({"--config.file"}).status().message() ==
        "expected argument for flag '--config.file'");
  CHECK(Parse({"--log.level=loud"}).status().message() ==
        "unrecognized log level \"loud\" (want debug, info, warn or error)");
  CHECK(Parse({"--web.listen-address=9105"}).status().message() ==
        "--web.listen-address wants host:port or :port, got \"9105\"");
  CHECK(Parse({"--web.external-url=scaler:9105"}).status().message() ==
        "--web.external-url must start with http:// or https://");
  CHECK(Parse({"serve"}).status().message() ==
        "unexpected serve (commands: check, test, eval, backtest)");
  CHECK(Parse({"check"}).status().message() == "expected command after check");
  CHECK(Parse({"check", "everything"}).status().message() ==
        "unknown command \"check everything\"");
  CHECK(Parse({"--format=text"}).status().message() == "unknown long flag '--format'");
}

TEST_CASE("help and version win over everything else") {
  CHECK(Parse({"-h"})->kind == Kind::kHelp);
  CHECK(Parse({"--config.file=x", "--help"})->kind == Kind::kHelp);
  CHECK(Parse({"--version"})->kind == Kind::kVersion);
  CHECK(Usage().find("--config.file") != std::string::npos);
}

TEST_CASE("subcommands take their files and flags") {
  auto config = Parse({"check", "config", "a.yml", "b.yml"});
  REQUIRE(config.ok());
  CHECK(config->kind == Kind::kCheckConfig);
  CHECK(config->files == std::vector<std::string>{"a.yml", "b.yml"});
  CHECK(Parse({"check", "config"}).status().message() ==
        "check config: expected at least one config file");

  auto metrics = Parse({"check", "metrics", "--format=openmetrics", "-"});
  REQUIRE(metrics.ok());
  CHECK(metrics->kind == Kind::kCheckMetrics);
  CHECK(metrics->format == "openmetrics");
  CHECK(metrics->files == std::vector<std::string>{"-"});
  CHECK(Parse({"check", "metrics"})->files.empty());
  CHECK(Parse({"check", "metrics", "--format=json"}).status().message() ==
        "--format wants text or openmetrics, got \"json\"");
  CHECK(Parse({"check", "metrics", "a", "b"}).status().message() ==
        "check metrics: expected at most one file (or - for stdin)");

  CHECK(Parse({"check", "rules", "r.yml"})->kind == Kind::kCheckRules);
  CHECK(Parse({"test", "promql", "a.test"})->kind == Kind::kTestPromql);
  CHECK(Parse({"test", "rules", "t.yml"})->kind == Kind::kTestRules);
  auto eval = Parse({"eval", "sum(up)"});
  REQUIRE(eval.ok());
  CHECK(eval->kind == Kind::kEval);
  CHECK(eval->name == "eval");
  CHECK(eval->files == std::vector<std::string>{"sum(up)"});
  CHECK(Parse({"backtest"})->kind == Kind::kBacktest);
  CHECK(Parse({"test", "promql"}).status().message() ==
        "test promql: expected at least one .test file");
  CHECK(Parse({"test", "promql", "--", "-odd.test"})->files ==
        std::vector<std::string>{"-odd.test"});
}

TEST_CASE("log lines are logfmt with Prometheus's keys") {
  const core::Time t = core::Time::FromUnixMillis(1764268200123);
  CHECK(Logger::Format(t, LogLevel::kInfo, "Server is ready", {{"port", "9105"}}) ==
        "ts=2025-11-27T18:30:00.123Z level=info msg=\"Server is ready\" port=9105");
  CHECK(Logger::Format(t, LogLevel::kError, "x", {{"err", "a \"b\"\nc"}, {"empty", ""}}) ==
        "ts=2025-11-27T18:30:00.123Z level=error msg=x err=\"a \\\"b\\\"\\nc\" empty=\"\"");
}

}  // namespace
}  // namespace amas::app
