// number.h: the numbers of the exposition formats, parsed and printed the way
// Prometheus's Go code does, without its locale or allocation costs.
#ifndef AMAS_EXPO_NUMBER_H_
#define AMAS_EXPO_NUMBER_H_

#include <cstdint>
#include <string_view>

namespace amas::expo::internal {

// Go strconv.ParseFloat's decimal syntax, which is also OpenMetrics' `number`:
// [+-]digits[.digits][(e|E)[+-]digits] (".5" and "5." too), [+-]Inf or
// [+-]Infinity, NaN (case-insensitive). No hex, no underscores (Prometheus
// rejects both). Overflow is an error, as in Go; underflow gives 0.
bool ParseFloat(std::string_view s, double* out);

// Text 0.0.4 timestamp: [-]digits, in int64 milliseconds.
bool ParseTextTimestamp(std::string_view s, int64_t* ms);

// OpenMetrics timestamp: a realnumber (no Inf/NaN) in seconds. *ms is the
// exact decimal value times 1000, truncated toward zero and saturated to the
// int64 range; *seconds is the nearest double, for ordering checks.
bool ParseOpenMetricsTimestamp(std::string_view s, int64_t* ms, double* seconds);

// Prometheus's FormatOpenMetricsFloat: Go's shortest %g plus ".0" when the
// result has neither '.' nor 'e' ("1" → "1.0", 1e6 → "1e+06", "+Inf", "NaN").
// Writes at most kCanonicalMax bytes into buf and returns them.
inline constexpr size_t kCanonicalMax = 32;
std::string_view FormatCanonical(double v, char (&buf)[kCanonicalMax]);

}  // namespace amas::expo::internal

#endif  // AMAS_EXPO_NUMBER_H_
