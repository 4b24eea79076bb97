#include "core/time.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>

namespace amas::core {
namespace {

struct Unit {
  std::string_view suffix;
  int64_t millis;
  bool only_if_exact;  // years and weeks print only when nothing is left over
};

// Largest first; the order Parse requires and ToString prints.
constexpr Unit kUnits[] = {
    {"y", 365LL * 24 * 3600 * 1000, true}, {"w", 7LL * 24 * 3600 * 1000, true},
    {"d", 24LL * 3600 * 1000, false},      {"h", 3600LL * 1000, false},
    {"m", 60LL * 1000, false},             {"s", 1000, false},
    {"ms", 1, false},
};

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void CivilFromDays(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int64_t>(yoe) + era * 400 + (*m <= 2);
}

bool ParseDigits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

Result<Time> ParseRFC3339(std::string_view s) {
  auto bad = [&] { return Status::InvalidArgument("invalid RFC 3339 time \"" + std::string(s) + "\""); };
  int year, month, day, hour, minute, second;
  if (!ParseDigits(s, 0, 4, &year) || s.size() < 20 || s[4] != '-' ||
      !ParseDigits(s, 5, 2, &month) || s[7] != '-' || !ParseDigits(s, 8, 2, &day) ||
      (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || !ParseDigits(s, 11, 2, &hour) ||
      s[13] != ':' || !ParseDigits(s, 14, 2, &minute) || s[16] != ':' ||
      !ParseDigits(s, 17, 2, &second)) {
    return bad();
  }
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) {
    return bad();
  }
  size_t pos = 19;
  int64_t frac_ms = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int digits = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (digits < 3) frac_ms = frac_ms * 10 + (s[pos] - '0');
      ++digits;
      ++pos;
    }
    if (digits == 0) return bad();
    for (int i = digits; i < 3; ++i) frac_ms *= 10;
  }
  int64_t offset_s = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh, om;
    if (!ParseDigits(s, pos + 1, 2, &oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !ParseDigits(s, pos + 4, 2, &om)) {
      return bad();
    }
    offset_s = (oh * 3600 + om * 60) * (s[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return bad();
  }
  if (pos != s.size()) return bad();
  const int64_t days = DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  const int64_t secs = days * 86400 + hour * 3600 + minute * 60 + second - offset_s;
  return Time::FromUnixMillis(secs * 1000 + frac_ms);
}

}  // namespace

Result<Duration> Duration::Parse(std::string_view text) {
  if (text.empty()) return Status::InvalidArgument("empty duration string");
  if (text == "0") return Duration();
  auto bad = [&] {
    return Status::InvalidArgument("not a valid duration string: \"" + std::string(text) + "\"");
  };
  int64_t total = 0;
  size_t pos = 0;
  size_t next_unit = 0;  // units must appear largest first, each once
  while (pos < text.size()) {
    const size_t start = pos;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') ++pos;
    if (pos == start) return bad();
    int64_t n = 0;
    auto [ptr, ec] = std::from_chars(text.data() + start, text.data() + pos, n);
    if (ec != std::errc() || ptr != text.data() + pos) return bad();
    const size_t unit_start = pos;
    while (pos < text.size() && (text[pos] < '0' || text[pos] > '9')) ++pos;
    std::string_view suffix = text.substr(unit_start, pos - unit_start);
    size_t u = next_unit;
    while (u < std::size(kUnits) && kUnits[u].suffix != suffix) ++u;
    if (u == std::size(kUnits)) return bad();
    next_unit = u + 1;
    if (n > std::numeric_limits<int64_t>::max() / kUnits[u].millis ||
        total > std::numeric_limits<int64_t>::max() - n * kUnits[u].millis) {
      return Status::InvalidArgument("duration out of range: \"" + std::string(text) + "\"");
    }
    total += n * kUnits[u].millis;
  }
  return Duration(total);
}

std::string Duration::ToString() const {
  if (ms_ == 0) return "0s";
  std::string out;
  uint64_t left = ms_ < 0 ? 0 - static_cast<uint64_t>(ms_) : static_cast<uint64_t>(ms_);
  if (ms_ < 0) out.push_back('-');
  for (const Unit& unit : kUnits) {
    const uint64_t mult = static_cast<uint64_t>(unit.millis);
    if (unit.only_if_exact && left % mult != 0) continue;
    if (const uint64_t v = left / mult; v > 0) {
      out.append(std::to_string(v)).append(unit.suffix);
      left -= v * mult;
    }
  }
  return out;
}

Result<Time> Time::Parse(std::string_view text) {
  double seconds = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
  if (ec == std::errc() && ptr == text.data() + text.size() && std::isfinite(seconds)) {
    return Time(static_cast<int64_t>(std::llround(seconds * 1000.0)));
  }
  return ParseRFC3339(text);
}

std::string Time::ToRFC3339() const {
  int64_t secs = ms_ / 1000;
  int64_t ms = ms_ % 1000;
  if (ms < 0) {
    ms += 1000;
    secs -= 1;
  }
  int64_t days = secs / 86400;
  int64_t rem = secs % 86400;
  if (rem < 0) {
    rem += 86400;
    days -= 1;
  }
  int64_t y;
  unsigned m, d;
  CivilFromDays(days, &y, &m, &d);
  char buf[48];
  if (ms == 0) {
    std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lldZ",
                  static_cast<long long>(y), m, d, static_cast<long long>(rem / 3600),
                  static_cast<long long>(rem / 60 % 60), static_cast<long long>(rem % 60));
  } else {
    std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%03lldZ",
                  static_cast<long long>(y), m, d, static_cast<long long>(rem / 3600),
                  static_cast<long long>(rem / 60 % 60), static_cast<long long>(rem % 60),
                  static_cast<long long>(ms));
  }
  return buf;
}

}  // namespace amas::core
