#include "promql/go_strconv.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>

namespace amas::promql {
namespace {

bool IsDigitIn(char c, int base) {
  if (c >= '0' && c <= '9') return c - '0' < base;
  const char l = static_cast<char>(c | 0x20);
  if (l >= 'a' && l <= 'z') return l - 'a' + 10 < base;
  return false;
}

char Lower(char c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c | 0x20 : c); }

// Go's underscoreOK: '_' only between digits, or after a base prefix.
bool UnderscoreOK(std::string_view s) {
  char saw = '^';
  size_t i = 0;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) s = s.substr(1);
  bool hex = false;
  if (s.size() >= 2 && s[0] == '0' &&
      (Lower(s[1]) == 'b' || Lower(s[1]) == 'o' || Lower(s[1]) == 'x')) {
    i = 2;
    saw = '0';
    hex = Lower(s[1]) == 'x';
  }
  for (; i < s.size(); ++i) {
    const char c = s[i];
    if ((c >= '0' && c <= '9') || (hex && Lower(c) >= 'a' && Lower(c) <= 'f')) {
      saw = '0';
      continue;
    }
    if (c == '_') {
      if (saw != '0') return false;
      saw = '_';
      continue;
    }
    if (saw == '_') return false;
    saw = '!';
  }
  return saw != '_';
}

std::string StripUnderscores(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c != '_') out.push_back(c);
  }
  return out;
}

// strconv.ParseInt(s, 0, 64). nullopt on syntax or range errors.
std::optional<int64_t> ParseInt0(std::string_view s) {
  if (s.empty()) return std::nullopt;
  bool neg = false;
  if (s[0] == '+' || s[0] == '-') {
    neg = s[0] == '-';
    s = s.substr(1);
  }
  if (s.empty()) return std::nullopt;
  int base = 10;
  std::string_view digits = s;
  bool underscores_allowed = true;
  if (s[0] == '0') {
    if (s.size() >= 2 && Lower(s[1]) == 'x') {
      base = 16;
      digits = s.substr(2);
    } else if (s.size() >= 2 && Lower(s[1]) == 'o') {
      base = 8;
      digits = s.substr(2);
    } else if (s.size() >= 2 && Lower(s[1]) == 'b') {
      base = 2;
      digits = s.substr(2);
    } else {
      base = 8;
      digits = s.substr(1);
      if (digits.empty()) return 0;
    }
  }
  bool has_underscore = false;
  uint64_t v = 0;
  bool any = false;
  for (char c : digits) {
    if (c == '_' && underscores_allowed) {
      has_underscore = true;
      continue;
    }
    if (!IsDigitIn(c, base)) return std::nullopt;
    const int d = (c >= '0' && c <= '9') ? c - '0' : Lower(c) - 'a' + 10;
    if (v > (std::numeric_limits<uint64_t>::max() - static_cast<uint64_t>(d)) /
                static_cast<uint64_t>(base)) {
      return std::nullopt;
    }
    v = v * static_cast<uint64_t>(base) + static_cast<uint64_t>(d);
    any = true;
  }
  if (!any) return std::nullopt;
  if (has_underscore && !UnderscoreOK(s)) return std::nullopt;
  const uint64_t limit = neg ? uint64_t{1} << 63 : (uint64_t{1} << 63) - 1;
  if (v > limit) return std::nullopt;
  if (neg) return static_cast<int64_t>(0 - v);
  return static_cast<int64_t>(v);
}

bool EqualFold(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

enum class FloatStatus { kOk, kSyntax, kRange };

FloatStatus ParseFloatImpl(std::string_view s, double* out) {
  if (s.empty()) return FloatStatus::kSyntax;
  std::string_view body = s;
  bool neg = false;
  if (body[0] == '+' || body[0] == '-') {
    neg = body[0] == '-';
    body = body.substr(1);
  }
  if (EqualFold(body, "inf") || EqualFold(body, "infinity")) {
    *out = neg ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
    return FloatStatus::kOk;
  }
  if (EqualFold(body, "nan") && s[0] != '+' && s[0] != '-') {
    *out = std::numeric_limits<double>::quiet_NaN();
    return FloatStatus::kOk;
  }
  if (body.empty()) return FloatStatus::kSyntax;
  // Validate the Go float grammar before handing digits to strtod.
  const bool hex = body.size() >= 2 && body[0] == '0' && Lower(body[1]) == 'x';
  size_t i = hex ? 2 : 0;
  bool digits = false, dot = false, exp = false, underscore = false;
  for (; i < body.size(); ++i) {
    const char c = body[i];
    if (c == '_') {
      underscore = true;
      continue;
    }
    if (hex ? IsDigitIn(c, 16) : (c >= '0' && c <= '9')) {
      digits = true;
      continue;
    }
    if (c == '.' && !dot) {
      dot = true;
      continue;
    }
    break;
  }
  if (!digits) return FloatStatus::kSyntax;
  if (i < body.size()) {
    const char e = Lower(body[i]);
    if ((hex && e == 'p') || (!hex && e == 'e')) {
      exp = true;
      ++i;
      if (i < body.size() && (body[i] == '+' || body[i] == '-')) ++i;
      bool exp_digits = false;
      for (; i < body.size(); ++i) {
        if (body[i] == '_') {
          underscore = true;
          continue;
        }
        if (body[i] < '0' || body[i] > '9') break;
        exp_digits = true;
      }
      if (!exp_digits) return FloatStatus::kSyntax;
    }
  }
  if (i != body.size()) return FloatStatus::kSyntax;
  if (hex && !exp) return FloatStatus::kSyntax;  // Go: hex mantissa needs a 'p' exponent
  if (underscore && !UnderscoreOK(s)) return FloatStatus::kSyntax;
  const std::string clean = StripUnderscores(s);
  errno = 0;
  char* end = nullptr;
  const double v = std::strtod(clean.c_str(), &end);
  if (end != clean.c_str() + clean.size()) return FloatStatus::kSyntax;
  *out = v;
  if (errno == ERANGE && std::isinf(v)) return FloatStatus::kRange;
  return FloatStatus::kOk;
}

void AppendUTF8(std::string* out, uint32_t r) {
  if (r < 0x80) {
    out->push_back(static_cast<char>(r));
  } else if (r < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (r >> 6)));
    out->push_back(static_cast<char>(0x80 | (r & 0x3F)));
  } else if (r < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (r >> 12)));
    out->push_back(static_cast<char>(0x80 | ((r >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (r & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (r >> 18)));
    out->push_back(static_cast<char>(0x80 | ((r >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((r >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (r & 0x3F)));
  }
}

const char kHex[] = "0123456789abcdef";

void AppendEscapedRune(std::string* out, int r, char quote) {
  switch (r) {
    case '\a': out->append("\\a"); return;
    case '\b': out->append("\\b"); return;
    case '\f': out->append("\\f"); return;
    case '\n': out->append("\\n"); return;
    case '\r': out->append("\\r"); return;
    case '\t': out->append("\\t"); return;
    case '\v': out->append("\\v"); return;
    case '\\': out->append("\\\\"); return;
    default: break;
  }
  if (r == quote) {
    out->push_back('\\');
    out->push_back(quote);
    return;
  }
  if (r >= 0x20 && r < 0x7F) {
    out->push_back(static_cast<char>(r));
    return;
  }
  if (r < 0x20 || r == 0x7F) {
    out->append("\\x");
    out->push_back(kHex[(r >> 4) & 0xF]);
    out->push_back(kHex[r & 0xF]);
    return;
  }
  // Non-ASCII code points: Go prints the printable ones as they are; we
  // treat every valid non-control code point as printable.
  if ((r >= 0x80 && r < 0xA0) || r == 0xAD) {
    out->append("\\u00");
    out->push_back(kHex[(r >> 4) & 0xF]);
    out->push_back(kHex[r & 0xF]);
    return;
  }
  AppendUTF8(out, static_cast<uint32_t>(r));
}

}  // namespace

int DecodeRune(std::string_view s, size_t i, int* width) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  *width = 1;
  if (b0 < 0x80) return b0;
  auto cont = [&](size_t k) -> int {
    if (i + k >= s.size()) return -1;
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return -1;
    return b & 0x3F;
  };
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    const int c1 = cont(1);
    if (c1 < 0) return -1;
    *width = 2;
    return ((b0 & 0x1F) << 6) | c1;
  }
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    const int c1 = cont(1), c2 = cont(2);
    if (c1 < 0 || c2 < 0) return -1;
    const int r = ((b0 & 0x0F) << 12) | (c1 << 6) | c2;
    if (r < 0x800 || (r >= 0xD800 && r <= 0xDFFF)) return -1;
    *width = 3;
    return r;
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    const int c1 = cont(1), c2 = cont(2), c3 = cont(3);
    if (c1 < 0 || c2 < 0 || c3 < 0) return -1;
    const int r = ((b0 & 0x07) << 18) | (c1 << 12) | (c2 << 6) | c3;
    if (r < 0x10000 || r > 0x10FFFF) return -1;
    *width = 4;
    return r;
  }
  return -1;
}

bool IsValidUTF8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    int w;
    if (DecodeRune(s, i, &w) < 0) return false;
    i += static_cast<size_t>(w);
  }
  return true;
}

std::string FormatFloat(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[400];
  auto [ptr, ec] = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::fixed);
  if (ec != std::errc()) return "NaN";  // cannot happen: 400 bytes hold any double
  return std::string(buf, ptr);
}

std::string FormatFloatG(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == 0) return std::signbit(v) ? "-0" : "0";
  // Shortest round-trip digits in scientific form tell us the exponent.
  char sci[64];
  auto [p, ec] = std::to_chars(sci, sci + sizeof(sci), v, std::chars_format::scientific);
  if (ec != std::errc()) return "NaN";
  const std::string s(sci, p);
  const size_t e = s.find('e');
  const int exp = std::atoi(s.c_str() + e + 1);
  // Go's shortest %g switches to %e when exp < -4 || exp >= 6; to_chars
  // writes the same "1.5e+06" shape (sign and two exponent digits).
  if (exp < -4 || exp >= 6) return s;
  return FormatFloat(v);
}

std::string GoQuote(std::string_view s) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size();) {
    int w;
    const int r = DecodeRune(s, i, &w);
    if (r < 0) {
      out.append("\\x");
      const auto b = static_cast<unsigned char>(s[i]);
      out.push_back(kHex[b >> 4]);
      out.push_back(kHex[b & 0xF]);
      i += 1;
      continue;
    }
    AppendEscapedRune(&out, r, '"');
    i += static_cast<size_t>(w);
  }
  out.push_back('"');
  return out;
}

std::string GoQuoteRune(int rune) {
  std::string out = "'";
  if (rune < 0) {
    AppendUTF8(&out, 0xFFFD);  // utf8.RuneError prints as itself
  } else {
    AppendEscapedRune(&out, rune, '\'');
  }
  out.push_back('\'');
  return out;
}

std::string GoUnicodeFormat(int rune) {
  if (rune < 0) rune = 0xFFFD;
  char buf[16];
  std::snprintf(buf, sizeof(buf), "U+%04X", static_cast<unsigned>(rune));
  std::string out = buf;
  if (rune >= 0x20 && rune != 0x7F) {
    out += " '";
    AppendUTF8(&out, static_cast<uint32_t>(rune));
    out += "'";
  }
  return out;
}

core::Result<double> ParseGoNumber(std::string_view s) {
  if (auto i = ParseInt0(s)) return static_cast<double>(*i);
  double v = 0;
  switch (ParseFloatImpl(s, &v)) {
    case FloatStatus::kOk:
      return v;
    case FloatStatus::kRange:
      return core::Status::InvalidArgument("strconv.ParseFloat: parsing " + GoQuote(s) +
                                           ": value out of range");
    case FloatStatus::kSyntax:
      break;
  }
  return core::Status::InvalidArgument("strconv.ParseFloat: parsing " + GoQuote(s) +
                                       ": invalid syntax");
}

std::optional<double> ParseGoFloat(std::string_view s) {
  double v = 0;
  switch (ParseFloatImpl(s, &v)) {
    case FloatStatus::kOk:
      return v;
    case FloatStatus::kRange:  // Go returns ±Inf together with ErrRange; callers treat it as bad
    case FloatStatus::kSyntax:
      break;
  }
  return std::nullopt;
}

core::Result<std::string> Unquote(std::string_view in) {
  auto syntax = [] { return core::Status::InvalidArgument("invalid syntax"); };
  if (in.size() < 2) return syntax();
  const char quote = in[0];
  if (quote != in.back()) return syntax();
  std::string_view s = in.substr(1, in.size() - 2);
  if (quote == '`') {
    if (s.find('`') != std::string_view::npos) return syntax();
    return std::string(s);
  }
  if (quote != '"' && quote != '\'') return syntax();
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const char c = s[i];
    if (c == quote || c == '\n') return syntax();
    if (c != '\\') {
      out.push_back(c);
      ++i;
      continue;
    }
    if (i + 1 >= s.size()) return syntax();
    const char e = s[i + 1];
    i += 2;
    switch (e) {
      case 'a': out.push_back('\a'); break;
      case 'b': out.push_back('\b'); break;
      case 'f': out.push_back('\f'); break;
      case 'n': out.push_back('\n'); break;
      case 'r': out.push_back('\r'); break;
      case 't': out.push_back('\t'); break;
      case 'v': out.push_back('\v'); break;
      case '\\': out.push_back('\\'); break;
      case '\'':
      case '"':
        if (e != quote) return syntax();
        out.push_back(e);
        break;
      case 'x':
      case 'u':
      case 'U': {
        const size_t n = e == 'x' ? 2 : (e == 'u' ? 4 : 8);
        if (i + n > s.size()) return syntax();
        uint32_t v = 0;
        for (size_t k = 0; k < n; ++k) {
          const char h = s[i + k];
          if (!IsDigitIn(h, 16)) return syntax();
          v = v * 16 + static_cast<uint32_t>((h >= '0' && h <= '9') ? h - '0' : Lower(h) - 'a' + 10);
        }
        i += n;
        if (e == 'x') {
          out.push_back(static_cast<char>(v));
        } else {
          if (v > 0x10FFFF || (v >= 0xD800 && v < 0xE000)) return syntax();
          AppendUTF8(&out, v);
        }
        break;
      }
      case '0': case '1': case '2': case '3':
      case '4': case '5': case '6': case '7': {
        if (i + 2 > s.size()) return syntax();
        uint32_t v = static_cast<uint32_t>(e - '0');
        for (size_t k = 0; k < 2; ++k) {
          const char o = s[i + k];
          if (o < '0' || o > '7') return syntax();
          v = v * 8 + static_cast<uint32_t>(o - '0');
        }
        if (v > 255) return syntax();
        i += 2;
        out.push_back(static_cast<char>(v));
        break;
      }
      default:
        return syntax();
    }
  }
  return out;
}

}  // namespace amas::promql
