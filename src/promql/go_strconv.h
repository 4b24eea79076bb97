// go_strconv.h: the few Go strconv behaviours PromQL text depends on, so that
// numbers, strings and messages read exactly as Prometheus writes them.
// Pure functions; no locale is consulted.
#ifndef AMAS_PROMQL_GO_STRCONV_H_
#define AMAS_PROMQL_GO_STRCONV_H_

#include <optional>
#include <string>
#include <string_view>

#include "core/core.h"

namespace amas::promql {

// strconv.FormatFloat(v, 'f', -1, 64): shortest round-trip digits, never an
// exponent; "+Inf", "-Inf", "NaN".
std::string FormatFloat(double v);
// fmt's %g for a float64 ("1e+06", "0.1", "NaN", "+Inf").
std::string FormatFloatG(double v);
// strconv.Quote: double quotes, Go escapes, invalid UTF-8 as \x escapes.
std::string GoQuote(std::string_view s);
// strconv.QuoteRune for one code point ('a', '\n', '\x00').
std::string GoQuoteRune(int rune);
// fmt's %#U: "U+0078 'x'".
std::string GoUnicodeFormat(int rune);

// strconv.ParseInt(s, 0, 64) then strconv.ParseFloat(s, 64), as PromQL and
// the promqltest format read numbers (hex, octal, underscores, Inf, NaN).
// The error reads like Go's: `strconv.ParseFloat: parsing "x": invalid syntax`.
core::Result<double> ParseGoNumber(std::string_view s);
// strconv.ParseFloat(s, 64) alone (histogram "le" values).
std::optional<double> ParseGoFloat(std::string_view s);

// Prometheus's strutil.Unquote: "...", '...' (Go escapes) or `...` (raw).
core::Result<std::string> Unquote(std::string_view quoted);

// Decodes one UTF-8 code point at s[i]; returns -1 (and *width 1) on a bad
// byte, like Go's utf8.RuneError.
int DecodeRune(std::string_view s, size_t i, int* width);
bool IsValidUTF8(std::string_view s);

}  // namespace amas::promql

#endif  // AMAS_PROMQL_GO_STRCONV_H_
