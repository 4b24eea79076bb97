#include "app/log.h"

#include <chrono>

namespace amas::app {
namespace {

std::string_view LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

// logfmt quotes a value with spaces, quotes, '=' or control bytes.
void AppendValue(std::string* out, std::string_view v) {
  bool quote = v.empty();
  for (char c : v) {
    if (c == ' ' || c == '"' || c == '=' || c == '\\' || static_cast<unsigned char>(c) < 0x20) {
      quote = true;
      break;
    }
  }
  if (!quote) {
    out->append(v);
    return;
  }
  out->push_back('"');
  for (char c : v) {
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\t':
        out->append("\\t");
        break;
      case '\r':
        out->append("\\r");
        break;
      default:
        out->push_back(c);
    }
  }
  out->push_back('"');
}

}  // namespace

core::Time SystemClock::Now() const {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  return core::Time::FromUnixMillis(
      std::chrono::duration_cast<std::chrono::milliseconds>(now).count());
}

core::Result<LogLevel> ParseLogLevel(std::string_view name) {
  for (LogLevel l : {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarn, LogLevel::kError}) {
    if (LevelName(l) == name) return l;
  }
  return core::Status::InvalidArgument("unrecognized log level \"" + std::string(name) +
                                       "\" (want debug, info, warn or error)");
}

Logger::Logger(const core::Clock* clock, LogLevel level, std::FILE* out)
    : clock_(clock), level_(level), out_(out) {}

std::string Logger::Format(core::Time ts, LogLevel level, std::string_view msg, Fields fields) {
  std::string line = "ts=" + ts.ToRFC3339() + " level=" + std::string(LevelName(level)) + " msg=";
  AppendValue(&line, msg);
  for (const auto& [k, v] : fields) {
    line.push_back(' ');
    line.append(k);
    line.push_back('=');
    AppendValue(&line, v);
  }
  return line;
}

void Logger::Log(LogLevel level, std::string_view msg, Fields fields) const {
  if (level < level_) return;
  std::string line = Format(clock_->Now(), level, msg, fields);
  line.push_back('\n');
  std::lock_guard<std::mutex> lock(mu_);
  std::fwrite(line.data(), 1, line.size(), out_);
  std::fflush(out_);
}

}  // namespace amas::app
