// log.h: logfmt lines on one stream, as Prometheus writes them:
//   ts=2026-11-27T18:30:00.123Z level=info msg="Server is ready" port=9105
// A Logger is an object app/ owns and passes down; there is no global one.
// Lines below the level are dropped. Thread-safe: one write per line.
// SystemClock is the process's one wall clock (core::Clock over the system time).
#ifndef AMAS_APP_LOG_H_
#define AMAS_APP_LOG_H_

#include <cstdio>
#include <initializer_list>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include "core/core.h"

namespace amas::app {

class SystemClock final : public core::Clock {
 public:
  core::Time Now() const override;
};

enum class LogLevel { kDebug, kInfo, kWarn, kError };
// "debug", "info", "warn", "error"; InvalidArgument otherwise.
core::Result<LogLevel> ParseLogLevel(std::string_view name);

class Logger {
 public:
  using Fields = std::initializer_list<std::pair<std::string_view, std::string_view>>;

  // The clock and stream must outlive the Logger.
  Logger(const core::Clock* clock, LogLevel level, std::FILE* out = stderr);

  void Log(LogLevel level, std::string_view msg, Fields fields = {}) const;
  void Debug(std::string_view msg, Fields fields = {}) const { Log(LogLevel::kDebug, msg, fields); }
  void Info(std::string_view msg, Fields fields = {}) const { Log(LogLevel::kInfo, msg, fields); }
  void Warn(std::string_view msg, Fields fields = {}) const { Log(LogLevel::kWarn, msg, fields); }
  void Error(std::string_view msg, Fields fields = {}) const { Log(LogLevel::kError, msg, fields); }

  // One logfmt line without the trailing newline (for tests).
  static std::string Format(core::Time ts, LogLevel level, std::string_view msg, Fields fields);

 private:
  const core::Clock* clock_;
  LogLevel level_;
  std::FILE* out_;
  mutable std::mutex mu_;
};

}  // namespace amas::app

#endif  // AMAS_APP_LOG_H_
