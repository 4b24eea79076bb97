#include "expo/number.h"

#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <system_error>

#include "core/value.h"

namespace amas::expo::internal {
namespace {

constexpr double kPow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                             1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

inline bool IsDigit(char c) { return static_cast<unsigned char>(c - '0') < 10; }

// Case-insensitive comparison of [p, e) with a lower-case word.
bool EqualsLower(const char* p, const char* e, std::string_view word) {
  if (static_cast<size_t>(e - p) != word.size()) return false;
  for (char w : word) {
    if ((*p++ | 0x20) != w) return false;
  }
  return true;
}

// The parts of a realnumber: [+-] int-digits [. frac-digits] [e [+-] exp].
struct Decimal {
  bool negative = false;
  const char* int_begin = nullptr;
  const char* int_end = nullptr;
  const char* frac_begin = nullptr;
  const char* frac_end = nullptr;
  int64_t exponent = 0;  // clamped to +-1e6, far beyond any double
};

// Splits a realnumber; false if [p, e) is not one.
bool SplitDecimal(const char* p, const char* e, Decimal* d) {
  if (p < e && (*p == '+' || *p == '-')) d->negative = *p++ == '-';
  d->int_begin = p;
  while (p < e && IsDigit(*p)) ++p;
  d->int_end = p;
  d->frac_begin = d->frac_end = p;
  if (p < e && *p == '.') {
    d->frac_begin = ++p;
    while (p < e && IsDigit(*p)) ++p;
    d->frac_end = p;
  }
  if (d->int_begin == d->int_end && d->frac_begin == d->frac_end) return false;
  if (p < e && (*p | 0x20) == 'e') {
    ++p;
    bool negative = false;
    if (p < e && (*p == '+' || *p == '-')) negative = *p++ == '-';
    if (p == e || !IsDigit(*p)) return false;
    int64_t x = 0;
    for (; p < e && IsDigit(*p); ++p) {
      if (x < 1'000'000) x = x * 10 + (*p - '0');
    }
    d->exponent = negative ? -x : x;
  }
  return p == e;
}

// Everything ParseFloat's fast path leaves: specials, long mantissas, large
// exponents and syntax errors.
bool ParseFloatSlow(std::string_view s, double* out) {
  const char* p = s.data();
  const char* const e = p + s.size();
  if (p == e) return false;
  const bool has_sign = *p == '+' || *p == '-';
  const bool negative = *p == '-';
  const char* body = has_sign ? p + 1 : p;
  if (body == e) return false;
  const char lower = static_cast<char>(*body | 0x20);
  if (lower == 'i') {
    if (!EqualsLower(body, e, "inf") && !EqualsLower(body, e, "infinity")) return false;
    *out = negative ? -std::numeric_limits<double>::infinity()
                    : std::numeric_limits<double>::infinity();
    return true;
  }
  if (lower == 'n') {
    if (has_sign || !EqualsLower(body, e, "nan")) return false;
    *out = core::NormalNaN();
    return true;
  }

  Decimal d;
  if (!SplitDecimal(p, e, &d)) return false;
  // Up to 19 significant digits fit a uint64; the rest only matter to the
  // slow path. exp10 keeps value == mantissa * 10^exp10 for the kept digits.
  uint64_t mantissa = 0;
  int digits = 0;
  int64_t exp10 = d.exponent;
  bool truncated = false;
  for (const char* q = d.int_begin; q < d.int_end; ++q) {
    const int v = *q - '0';
    if (mantissa == 0 && v == 0) continue;
    if (digits < 19) {
      mantissa = mantissa * 10 + static_cast<uint64_t>(v);
      ++digits;
    } else {
      ++exp10;
      truncated = true;
    }
  }
  for (const char* q = d.frac_begin; q < d.frac_end; ++q) {
    const int v = *q - '0';
    if (mantissa == 0 && v == 0) {
      --exp10;
      continue;
    }
    if (digits < 19) {
      mantissa = mantissa * 10 + static_cast<uint64_t>(v);
      ++digits;
      --exp10;
    } else {
      truncated = true;
    }
  }
  if (mantissa == 0) {
    *out = negative ? -0.0 : 0.0;
    return true;
  }
  // Clinger's fast path: both factors exact, so one IEEE operation rounds
  // correctly.
  if (!truncated && mantissa <= (uint64_t{1} << 53) && exp10 >= -22 && exp10 <= 22) {
    double v = static_cast<double>(mantissa);
    v = exp10 < 0 ? v / kPow10[-exp10] : v * kPow10[exp10];
    *out = negative ? -v : v;
    return true;
  }
  // from_chars takes '-' but not '+'.
  const char* first = has_sign && !negative ? p + 1 : p;
  double v = 0;
  const auto [ptr, ec] = std::from_chars(first, e, v, std::chars_format::general);
  if (ec == std::errc::result_out_of_range) {
    // The most significant digit sits at 10^(digits + exp10 - 1): Go reports
    // overflow as an error but quietly rounds underflow to zero.
    if (digits + exp10 > 0) return false;
    *out = negative ? -0.0 : 0.0;
    return true;
  }
  if (ec != std::errc() || ptr != e || std::isinf(v)) return false;
  *out = v;
  return true;
}

}  // namespace

bool ParseFloat(std::string_view s, double* out) {
  // The common shapes ("1027", "0.25", "3.016799e+06") in one pass.
  const char* q = s.data();
  const char* const e = q + s.size();
  bool negative = false;
  if (q < e && (*q == '-' || *q == '+')) negative = *q++ == '-';
  uint64_t mantissa = 0;
  int digits = 0;
  int exp10 = 0;
  bool any = false;
  for (; q < e && IsDigit(*q); ++q) {
    if (digits == 19) return ParseFloatSlow(s, out);
    mantissa = mantissa * 10 + static_cast<uint64_t>(*q - '0');
    digits += mantissa != 0;
    any = true;
  }
  if (q < e && *q == '.') {
    for (++q; q < e && IsDigit(*q); ++q) {
      if (digits == 19) return ParseFloatSlow(s, out);
      mantissa = mantissa * 10 + static_cast<uint64_t>(*q - '0');
      digits += mantissa != 0;
      --exp10;
      any = true;
    }
  }
  if (!any) return ParseFloatSlow(s, out);
  if (q < e && (*q | 0x20) == 'e') {
    ++q;
    bool exp_negative = false;
    if (q < e && (*q == '-' || *q == '+')) exp_negative = *q++ == '-';
    if (q == e || !IsDigit(*q)) return false;
    int x = 0;
    for (; q < e && IsDigit(*q); ++q) {
      if (x > 1000) return ParseFloatSlow(s, out);
      x = x * 10 + (*q - '0');
    }
    exp10 += exp_negative ? -x : x;
  }
  if (q != e) return false;
  if (mantissa == 0) {
    *out = negative ? -0.0 : 0.0;
    return true;
  }
  if (mantissa > (uint64_t{1} << 53) || exp10 < -22 || exp10 > 22) return ParseFloatSlow(s, out);
  double v = static_cast<double>(mantissa);
  v = exp10 < 0 ? v / kPow10[-exp10] : v * kPow10[exp10];
  *out = negative ? -v : v;
  return true;
}

bool ParseTextTimestamp(std::string_view s, int64_t* ms) {
  const char* p = s.data();
  const char* const e = p + s.size();
  const bool negative = p < e && *p == '-';
  if (negative) ++p;
  if (p == e) return false;
  // Accumulate negatively so that INT64_MIN fits.
  int64_t v = 0;
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  for (; p < e; ++p) {
    if (!IsDigit(*p)) return false;
    const int digit = *p - '0';
    if (v < kMin / 10 || v * 10 < kMin + digit) return false;
    v = v * 10 - digit;
  }
  if (!negative) {
    if (v == kMin) return false;
    v = -v;
  }
  *ms = v;
  return true;
}

bool ParseOpenMetricsTimestamp(std::string_view s, int64_t* ms, double* seconds) {
  Decimal d;
  if (!SplitDecimal(s.data(), s.data() + s.size(), &d)) return false;
  if (!ParseFloat(s, seconds)) return false;  // overflow: O rejects it too

  // The digits of int and frac read as one string C, with the decimal point
  // after `point` digits once multiplied by 1000; ms = trunc(C[0:point]).
  const int64_t int_len = d.int_end - d.int_begin;
  const int64_t frac_len = d.frac_end - d.frac_begin;
  const int64_t total = int_len + frac_len;
  const int64_t point = int_len + d.exponent + 3;
  auto digit_at = [&](int64_t k) -> int {
    if (k >= total) return 0;
    return k < int_len ? d.int_begin[k] - '0' : d.frac_begin[k - int_len] - '0';
  };
  const uint64_t limit = d.negative ? uint64_t{1} << 63 : (uint64_t{1} << 63) - 1;
  uint64_t acc = 0;
  bool saturated = false;
  for (int64_t k = 0; k < point; ++k) {
    if (acc == 0 && k >= total) break;  // only zeros left: the value is 0
    const int digit = digit_at(k);
    if (acc > (limit - static_cast<uint64_t>(digit)) / 10) {
      saturated = true;
      break;
    }
    acc = acc * 10 + static_cast<uint64_t>(digit);
  }
  if (saturated) acc = limit;
  if (d.negative) {
    *ms = acc == (uint64_t{1} << 63) ? std::numeric_limits<int64_t>::min()
                                     : -static_cast<int64_t>(acc);
  } else {
    *ms = static_cast<int64_t>(acc);
  }
  return true;
}

std::string_view FormatCanonical(double v, char (&buf)[kCanonicalMax]) {
  auto literal = [&](std::string_view s) {
    std::memcpy(buf, s.data(), s.size());
    return std::string_view(buf, s.size());
  };
  if (std::isnan(v)) return literal("NaN");
  if (std::isinf(v)) return literal(v > 0 ? "+Inf" : "-Inf");
  if (v == 0) return literal("0.0");
  if (v == 1) return literal("1.0");
  if (v == -1) return literal("-1.0");

  // Shortest round-trip digits, as Go's strconv picks them.
  char sci[kCanonicalMax];
  const auto res = std::to_chars(sci, sci + sizeof sci, v, std::chars_format::scientific);
  const char* q = sci;
  const bool negative = *q == '-';
  if (negative) ++q;
  char digits[24];
  int nd = 0;
  for (; q < res.ptr && *q != 'e'; ++q) {
    if (*q != '.') digits[nd++] = *q;
  }
  int exp = 0;
  if (q < res.ptr) {
    ++q;
    const bool exp_negative = *q == '-';
    if (*q == '+' || *q == '-') ++q;
    for (; q < res.ptr; ++q) exp = exp * 10 + (*q - '0');
    if (exp_negative) exp = -exp;
  }

  char* o = buf;
  if (negative) *o++ = '-';
  // Go's 'g' with shortest precision switches to %e below 1e-4 and at 1e6.
  if (exp < -4 || exp >= 6) {
    *o++ = digits[0];
    if (nd > 1) {
      *o++ = '.';
      std::memcpy(o, digits + 1, static_cast<size_t>(nd - 1));
      o += nd - 1;
    }
    *o++ = 'e';
    *o++ = exp < 0 ? '-' : '+';
    const int a = exp < 0 ? -exp : exp;
    if (a >= 100) *o++ = static_cast<char>('0' + a / 100);
    *o++ = static_cast<char>('0' + a / 10 % 10);
    *o++ = static_cast<char>('0' + a % 10);
    return std::string_view(buf, static_cast<size_t>(o - buf));
  }
  const int dp = exp + 1;  // digits before the decimal point
  if (dp <= 0) {
    *o++ = '0';
  } else {
    for (int k = 0; k < dp; ++k) *o++ = k < nd ? digits[k] : '0';
  }
  if (nd > dp) {
    *o++ = '.';
    for (int k = dp; k < 0; ++k) *o++ = '0';
    for (int k = dp < 0 ? 0 : dp; k < nd; ++k) *o++ = digits[k];
  } else {
    *o++ = '.';  // an integer: Prometheus appends ".0"
    *o++ = '0';
  }
  return std::string_view(buf, static_cast<size_t>(o - buf));
}

}  // namespace amas::expo::internal
