// time.h: Duration and Time, both whole milliseconds.
//
// Duration::Parse accepts Prometheus's model.Duration syntax: "0", or units in
// decreasing order, each at most once: y w d h m s ms ("1h30m", "90s", "1y").
// ToString() prints the canonical form ("1h30m", "0s"), so Parse(d.ToString())
// == d for every non-negative d. Negative durations print with a leading "-".
//
// Time is a point on the Unix epoch in ms. There is no Now(): only app/ reads
// the clock and passes Time values down (see STYLE.md habit 7).
#ifndef AMAS_CORE_TIME_H_
#define AMAS_CORE_TIME_H_

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace amas::core {

class Duration {
 public:
  constexpr Duration() = default;
  static constexpr Duration Millis(int64_t ms) { return Duration(ms); }
  static constexpr Duration Seconds(int64_t s) { return Duration(s * 1000); }
  static constexpr Duration Minutes(int64_t m) { return Duration(m * 60'000); }
  static constexpr Duration Hours(int64_t h) { return Duration(h * 3'600'000); }

  // Prometheus duration syntax; errors name the offending text.
  static Result<Duration> Parse(std::string_view text);

  constexpr int64_t millis() const { return ms_; }
  constexpr double seconds() const { return static_cast<double>(ms_) / 1000.0; }
  std::string ToString() const;

  constexpr auto operator<=>(const Duration&) const = default;
  constexpr Duration operator+(Duration o) const { return Duration(ms_ + o.ms_); }
  constexpr Duration operator-(Duration o) const { return Duration(ms_ - o.ms_); }
  constexpr Duration operator*(int64_t k) const { return Duration(ms_ * k); }

 private:
  constexpr explicit Duration(int64_t ms) : ms_(ms) {}
  int64_t ms_ = 0;
};

class Time {
 public:
  constexpr Time() = default;
  static constexpr Time FromUnixMillis(int64_t ms) { return Time(ms); }
  static constexpr Time FromUnixSeconds(int64_t s) { return Time(s * 1000); }

  // Accepts RFC 3339 ("2026-11-27T18:30:00Z", "...T18:30:00.123+01:00") or a
  // Unix timestamp in seconds with optional fraction ("1700000000.5"), as
  // Prometheus's HTTP API does.
  static Result<Time> Parse(std::string_view text);

  constexpr int64_t unix_millis() const { return ms_; }
  constexpr double unix_seconds() const { return static_cast<double>(ms_) / 1000.0; }
  // RFC 3339 in UTC with millisecond precision when non-zero:
  // "2026-11-27T18:30:00Z", "2026-11-27T18:30:00.123Z".
  std::string ToRFC3339() const;

  constexpr auto operator<=>(const Time&) const = default;
  constexpr Time operator+(Duration d) const { return Time(ms_ + d.millis()); }
  constexpr Time operator-(Duration d) const { return Time(ms_ - d.millis()); }
  constexpr Duration operator-(Time o) const { return Duration::Millis(ms_ - o.ms_); }

 private:
  constexpr explicit Time(int64_t ms) : ms_(ms) {}
  int64_t ms_ = 0;
};

// The one way code outside app/ learns the time: app/ passes a SystemClock,
// tests pass a clock they move by hand. Implementations are thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual Time Now() const = 0;
};

}  // namespace amas::core

#endif  // AMAS_CORE_TIME_H_
