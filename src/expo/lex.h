// lex.h: byte classes and small scanners shared by both formats. Every
// scanner takes [p, end) and never reads at or past end.
#ifndef AMAS_EXPO_LEX_H_
#define AMAS_EXPO_LEX_H_

#include <array>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#if defined(__SSE2__)
#include <emmintrin.h>
#define AMAS_EXPO_SSE2 1
#endif

namespace amas::expo::internal {

enum CharClass : uint8_t {
  kMetricStart = 1,  // [a-zA-Z_:]
  kMetricChar = 2,   // [a-zA-Z0-9_:]
  kLabelStart = 4,   // [a-zA-Z_]
  kLabelChar = 8,    // [a-zA-Z0-9_]
  kBlank = 16,       // ' ' '\t' (text format separators)
  kValueEnd = 32,    // ' ' '\t' '\n': ends a value or timestamp token in text
};

constexpr std::array<uint8_t, 256> MakeClasses() {
  std::array<uint8_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    const bool digit = c >= '0' && c <= '9';
    uint8_t v = 0;
    if (alpha || c == '_' || c == ':') v |= kMetricStart;
    if (alpha || digit || c == '_' || c == ':') v |= kMetricChar;
    if (alpha || c == '_') v |= kLabelStart;
    if (alpha || digit || c == '_') v |= kLabelChar;
    if (c == ' ' || c == '\t') v |= kBlank;
    if (c == ' ' || c == '\t' || c == '\n') v |= kValueEnd;
    t[static_cast<size_t>(c)] = v;
  }
  return t;
}
inline constexpr std::array<uint8_t, 256> kClasses = MakeClasses();

inline bool Is(char c, CharClass k) { return (kClasses[static_cast<unsigned char>(c)] & k) != 0; }

inline const char* SkipBlanks(const char* p, const char* end) {
  while (p < end && (*p == ' ' || *p == '\t')) ++p;
  return p;
}

// End of a run of [a-zA-Z0-9_:] (metric) or [a-zA-Z0-9_] (label) characters.
inline const char* ScanWhile(const char* p, const char* end, CharClass k) {
  while (p < end && Is(*p, k)) ++p;
  return p;
}

// ScanWhile(p, end, kMetricChar), sixteen bytes at a time: names are the
// longest token most sample lines start with.
inline const char* ScanMetricChars(const char* p, const char* end) {
#if AMAS_EXPO_SSE2
  const __m128i k20 = _mm_set1_epi8(0x20);
  const __m128i ka = _mm_set1_epi8('a');
  const __m128i k25 = _mm_set1_epi8(25);
  const __m128i k0 = _mm_set1_epi8('0');
  const __m128i k9 = _mm_set1_epi8(9);
  const __m128i kus = _mm_set1_epi8('_');
  const __m128i kcolon = _mm_set1_epi8(':');
  while (end - p >= 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    // Unsigned x <= n as min(x, n) == x, after shifting the range to 0.
    const __m128i a = _mm_sub_epi8(_mm_or_si128(v, k20), ka);
    const __m128i alpha = _mm_cmpeq_epi8(_mm_min_epu8(a, k25), a);
    const __m128i d = _mm_sub_epi8(v, k0);
    const __m128i digit = _mm_cmpeq_epi8(_mm_min_epu8(d, k9), d);
    const __m128i ok =
        _mm_or_si128(_mm_or_si128(alpha, digit),
                     _mm_or_si128(_mm_cmpeq_epi8(v, kus), _mm_cmpeq_epi8(v, kcolon)));
    const unsigned bad = ~static_cast<unsigned>(_mm_movemask_epi8(ok)) & 0xFFFFu;
    if (bad != 0) return p + __builtin_ctz(bad);
    p += 16;
  }
#endif
  return ScanWhile(p, end, kMetricChar);
}

// The first '"', '\\' or '\n' in [p, end), or end: the end of a quoted
// string's plain run. *non_ascii is set if a byte >= 0x80 comes before it,
// so that only those runs need a UTF-8 check.
inline const char* ScanQuotedRun(const char* p, const char* end, bool* non_ascii) {
#if AMAS_EXPO_SSE2
  const __m128i kq = _mm_set1_epi8('"');
  const __m128i kb = _mm_set1_epi8('\\');
  const __m128i kn = _mm_set1_epi8('\n');
  while (end - p >= 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i hit = _mm_or_si128(_mm_cmpeq_epi8(v, kq),
                                     _mm_or_si128(_mm_cmpeq_epi8(v, kb), _mm_cmpeq_epi8(v, kn)));
    const unsigned m = static_cast<unsigned>(_mm_movemask_epi8(hit));
    const unsigned high = static_cast<unsigned>(_mm_movemask_epi8(v));
    if (m != 0) {
      const int i = __builtin_ctz(m);
      if ((high & ((1u << i) - 1)) != 0) *non_ascii = true;
      return p + i;
    }
    if (high != 0) *non_ascii = true;
    p += 16;
  }
#endif
  for (; p < end; ++p) {
    const char c = *p;
    if (c == '"' || c == '\\' || c == '\n') break;
    if (static_cast<unsigned char>(c) >= 0x80) *non_ascii = true;
  }
  return p;
}

inline bool IsLegacyMetricName(std::string_view s) {
  if (s.empty() || !Is(s[0], kMetricStart)) return false;
  for (char c : s) {
    if (!Is(c, kMetricChar)) return false;
  }
  return true;
}

inline bool IsLegacyLabelName(std::string_view s) {
  if (s.empty() || !Is(s[0], kLabelStart)) return false;
  for (char c : s) {
    if (!Is(c, kLabelChar)) return false;
  }
  return true;
}

// Go's utf8.Valid: no overlong forms, no surrogates, nothing above U+10FFFF.
// Returns nullptr when valid, else the first offending byte.
inline const char* FindInvalidUtf8(const char* p, const char* end) {
  while (p < end) {
    // ASCII runs dominate; check eight bytes at a time.
    while (end - p >= 8) {
      uint64_t w;
      std::memcpy(&w, p, 8);
      if ((w & 0x8080808080808080ULL) != 0) break;
      p += 8;
    }
    if (p == end) break;
    const auto c = static_cast<unsigned char>(*p);
    if (c < 0x80) {
      ++p;
      continue;
    }
    int n;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      n = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 2;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 3;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return p;
    }
    if (end - p <= n) return p;
    const auto c1 = static_cast<unsigned char>(p[1]);
    if (c1 < lo || c1 > hi) return p;
    for (int k = 2; k <= n; ++k) {
      const auto ck = static_cast<unsigned char>(p[k]);
      if (ck < 0x80 || ck > 0xBF) return p;
    }
    p += n + 1;
  }
  return nullptr;
}

inline bool IsValidUtf8(std::string_view s) {
  return FindInvalidUtf8(s.data(), s.data() + s.size()) == nullptr;
}

// Code points in valid UTF-8.
inline size_t CountCodePoints(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

}  // namespace amas::expo::internal

#endif  // AMAS_EXPO_LEX_H_
