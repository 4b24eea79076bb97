#include "expo/label_block.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstring>

#include "expo/lex.h"

namespace amas::expo::internal {
namespace {

bool Fail(SyntaxError* err, const char* pos, std::string message) {
  err->pos = pos;
  err->message = std::move(message);
  return false;
}

}  // namespace

std::string Quote(std::string_view s) {
  constexpr size_t kMax = 60;
  std::string out = "\"";
  for (size_t i = 0; i < s.size() && i < kMax; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\x%02x", c);
          out += buf;
        } else {
          out.push_back(static_cast<char>(c));  // UTF-8 passes through
        }
    }
  }
  if (s.size() > kMax) out += "...";
  out.push_back('"');
  return out;
}

namespace {

// One byte of the block scan that matters: quotes, backslashes, braces and
// line ends. Returns the closing brace, nullptr to go on, or fails.
enum class Step { kGoOn, kClose, kSkipNext, kError };

inline Step Examine(char c, bool* in_quote) {
  if (*in_quote) {
    if (c == '"')
      *in_quote = false;
    else if (c == '\\')
      return Step::kSkipNext;
    else if (c == '\n')
      return Step::kError;
    return Step::kGoOn;  // '}' inside quotes is text
  }
  if (c == '"')
    *in_quote = true;
  else if (c == '}')
    return Step::kClose;
  else if (c == '\n')
    return Step::kError;
  return Step::kGoOn;  // a stray backslash is the decoder's to report
}

}  // namespace

const char* FindBlockEnd(const char* open, const char* end, SyntaxError* err) {
  bool in_quote = false;
  const char* quote = nullptr;  // the last opening quote, for messages
  const char* p = open + 1;
  auto fail = [&](const char* at) -> const char* {
    if (at == end) {
      Fail(err, in_quote ? quote : at,
           in_quote ? "unterminated quoted string" : "unexpected end of input in label set");
    } else if (*at == '\\') {
      Fail(err, at, "invalid escape sequence at end of line");
    } else if (in_quote) {
      Fail(err, at, "quoted string contains an unescaped new-line");
    } else {
      Fail(err, at, "unexpected end of line in label set");
    }
    return nullptr;
  };
#if AMAS_EXPO_SSE2
  // Sixteen bytes at a time; only the few bytes that matter are examined.
  const __m128i kq = _mm_set1_epi8('"');
  const __m128i kb = _mm_set1_epi8('\\');
  const __m128i kc = _mm_set1_epi8('}');
  const __m128i kn = _mm_set1_epi8('\n');
  while (end - p >= 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, kq), _mm_cmpeq_epi8(v, kb)),
                                     _mm_or_si128(_mm_cmpeq_epi8(v, kc), _mm_cmpeq_epi8(v, kn)));
    unsigned m = static_cast<unsigned>(_mm_movemask_epi8(hit));
    int advance = 16;
    while (m != 0) {
      const int i = __builtin_ctz(m);
      m &= m - 1;
      if (p[i] == '"' && !in_quote) quote = p + i;
      switch (Examine(p[i], &in_quote)) {
        case Step::kGoOn:
          break;
        case Step::kClose:
          return p + i;
        case Step::kError:
          return fail(p + i);
        case Step::kSkipNext:
          if (p + i + 1 == end || p[i + 1] == '\n') return fail(p + i);
          if (i == 15) advance = 17;  // the escaped byte opens the next chunk
          m &= ~(1u << (i + 1));
          break;
      }
    }
    p += advance;
  }
#endif
  while (p < end) {
    const char c = *p;
    if (c == '"' && !in_quote) quote = p;
    switch (Examine(c, &in_quote)) {
      case Step::kGoOn:
        ++p;
        break;
      case Step::kClose:
        return p;
      case Step::kError:
        return fail(p);
      case Step::kSkipNext:
        if (p + 1 == end || p[1] == '\n') return fail(p);
        p += 2;
        break;
    }
  }
  return fail(end);
}

bool DecodeQuotedString(const char* open, const char* limit, Dialect dialect, const char* what,
                        std::string* arena, std::string_view* out, const char** after,
                        SyntaxError* err) {
  const char* const begin = open + 1;
  bool non_ascii = false;
  const char* q = ScanQuotedRun(begin, limit, &non_ascii);
  if (q < limit && *q == '"') {  // no escapes: a view into the body
    if (non_ascii) {
      if (const char* bad = FindInvalidUtf8(begin, q); bad != nullptr) {
        return Fail(err, bad, std::string("invalid UTF-8 in ") + what);
      }
    }
    *out = std::string_view(begin, static_cast<size_t>(q - begin));
    *after = q + 1;
    return true;
  }
  const size_t start = arena->size();
  arena->append(begin, q);
  while (true) {
    if (q >= limit) return Fail(err, open, std::string("unterminated ") + what);
    const char c = *q;
    if (c == '"') break;
    if (c == '\n') {
      return Fail(err, q, std::string(what) + " contains an unescaped new-line");
    }
    if (c != '\\') {
      const char* run = q;
      q = ScanQuotedRun(q, limit, &non_ascii);
      arena->append(run, q);
      continue;
    }
    if (q + 1 >= limit) return Fail(err, q, std::string("unterminated ") + what);
    const char e = q[1];
    switch (e) {
      case '\\':
        arena->push_back('\\');
        break;
      case '"':
        arena->push_back('"');
        break;
      case 'n':
        arena->push_back('\n');
        break;
      default:
        if (dialect == Dialect::kText || e == '\n') {
          return Fail(err, q,
                      "invalid escape sequence " + Quote(std::string_view(q, 2)) + " in " + what);
        }
        // OpenMetrics: a backslash before any other character stands for
        // itself, as in Prometheus's parser.
        arena->push_back('\\');
        arena->push_back(e);
        if (static_cast<unsigned char>(e) >= 0x80) non_ascii = true;
    }
    q += 2;
  }
  if (non_ascii) {
    if (const char* bad = FindInvalidUtf8(begin, q); bad != nullptr) {
      return Fail(err, bad, std::string("invalid UTF-8 in ") + what);
    }
  }
  *out = std::string_view(arena->data() + start, arena->size() - start);
  *after = q + 1;
  return true;
}

bool UnescapeHelp(const char* begin, const char* end, Dialect dialect, std::string* scratch,
                  std::string_view* out, SyntaxError* err) {
  if (const char* bad = FindInvalidUtf8(begin, end); bad != nullptr) {
    return Fail(err, bad, "HELP text is not valid UTF-8");
  }
  const char* q =
      static_cast<const char*>(std::memchr(begin, '\\', static_cast<size_t>(end - begin)));
  if (q == nullptr) {
    *out = std::string_view(begin, static_cast<size_t>(end - begin));
    return true;
  }
  scratch->assign(begin, q);
  while (q < end) {
    if (*q != '\\') {
      scratch->push_back(*q++);
      continue;
    }
    if (q + 1 == end) {
      if (dialect == Dialect::kText) return Fail(err, q, "invalid escape sequence at end of HELP");
      scratch->push_back('\\');
      break;
    }
    const char e = q[1];
    switch (e) {
      case '\\':
        scratch->push_back('\\');
        break;
      case '"':
        scratch->push_back('"');
        break;
      case 'n':
        scratch->push_back('\n');
        break;
      default:
        if (dialect == Dialect::kText) {
          return Fail(err, q,
                      "invalid escape sequence " + Quote(std::string_view(q, 2)) + " in HELP");
        }
        scratch->push_back('\\');
        scratch->push_back(e);
    }
    q += 2;
  }
  *out = *scratch;
  return true;
}

namespace {

// How many bytes [a, a + n) and [b, b + n) share at the front.
size_t CommonPrefix(const char* a, const char* b, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t x, y;
    std::memcpy(&x, a + i, 8);
    std::memcpy(&y, b + i, 8);
    if (x != y) return i + static_cast<size_t>(__builtin_ctzll(x ^ y) >> 3);  // little-endian
  }
  while (i < n && a[i] == b[i]) ++i;
  return i;
}

}  // namespace

size_t LabelBlock::KeepRepeated(const char* open, const char* close, Dialect dialect,
                                NameValidation names, const char** resume) {
  if (last_open_ == nullptr || dialect != last_dialect_ || names != last_names_) return 0;
  const size_t n =
      std::min(static_cast<size_t>(close - open), static_cast<size_t>(last_close_ - last_open_));
  const size_t same = CommonPrefix(open, last_open_, n);
  // A label whose text (through its closing quote) lies in the shared bytes
  // decodes the same: everything before it is the same text too.
  size_t kept = 0;
  while (kept < labels_.size() && static_cast<size_t>(labels_[kept].end - last_open_) <= same) {
    ++kept;
  }
  labels_.resize(kept);
  const auto rebase = [&](const char* p) { return open + (p - last_open_); };
  for (DecodedLabel& l : labels_) {
    l.name = std::string_view(rebase(l.name.data()), l.name.size());
    l.value = std::string_view(rebase(l.value.data()), l.value.size());
    l.name_pos = rebase(l.name_pos);
    l.value_pos = rebase(l.value_pos);
    l.end = rebase(l.end);
  }
  if (kept > 0) *resume = labels_.back().end;
  return kept;
}

bool LabelBlock::Decode(const char* open, const char* close, Dialect dialect, NameValidation names,
                        SyntaxError* err) {
  const char* resume = nullptr;
  const size_t kept = KeepRepeated(open, close, dialect, names, &resume);
  last_open_ = nullptr;  // set again only on success
  if (kept == 0) labels_.clear();
  has_metric_name_ = false;
  metric_name_ = {};
  metric_name_pos_ = nullptr;
  arena_.clear();
  // Decoded text never outgrows the raw block, so views into arena_ stay put.
  arena_.reserve(static_cast<size_t>(close - open));

  const bool text = dialect == Dialect::kText;
  auto skip = [&](const char* p) { return text ? SkipBlanks(p, close) : p; };
  const char* p = skip(open + 1);
  if (kept > 0) {
    p = resume;
  } else if (p == close) {
    Remember(open, close, dialect, names);
    return true;
  }
  // With labels kept, decoding goes on at the separator after the last one.
  bool at_separator = kept > 0;
  while (true) {
    if (!at_separator) {
      // One element: name="value", or a quoted metric name.
      const char* name_pos = p;
      std::string_view name;
      bool quoted = false;
      if (*p == '"') {
        quoted = true;
        if (!DecodeQuotedString(p, close, dialect, "name", &arena_, &name, &p, err)) return false;
      } else if (Is(*p, kLabelStart)) {
        const char* e = ScanWhile(p + 1, close, kLabelChar);
        name = std::string_view(p, static_cast<size_t>(e - p));
        p = e;
      } else {
        return Fail(err, p, "expected label name, got " + Quote(std::string_view(p, 1)));
      }
      p = skip(p);
      if (p < close && *p == '=') {
        if (quoted &&
            (names == NameValidation::kLegacy ? !IsLegacyLabelName(name) : name.empty())) {
          return Fail(err, name_pos, "invalid label name " + Quote(name));
        }
        if (name == "__name__") return Fail(err, name_pos, "label name \"__name__\" is reserved");
        p = skip(p + 1);
        if (p == close || *p != '"') {
          return Fail(err, p, "expected '\"' at start of label value for " + Quote(name));
        }
        const char* value_pos = p;
        std::string_view value;
        if (!DecodeQuotedString(p, close, dialect, "label value", &arena_, &value, &p, err)) {
          return false;
        }
        labels_.push_back({name, value, name_pos, value_pos, p});
      } else if (quoted && (p == close || *p == ',')) {
        if (has_metric_name_) return Fail(err, name_pos, "multiple metric names");
        if (names == NameValidation::kLegacy ? !IsLegacyMetricName(name) : name.empty()) {
          return Fail(err, name_pos, "invalid metric name " + Quote(name));
        }
        has_metric_name_ = true;
        metric_name_ = name;
        metric_name_pos_ = name_pos;
      } else {
        return Fail(err, p, "expected '=' after label name " + Quote(name));
      }
    }
    at_separator = false;
    p = skip(p);
    if (p == close) break;
    if (*p != ',') return Fail(err, p, "expected ',' or '}' after label value");
    p = skip(p + 1);
    if (p == close) {
      if (text) break;  // text 0.0.4 allows a trailing comma
      return Fail(err, p, "expected label name after ','");
    }
  }
  if (!CheckDuplicates(kept, err)) return false;
  Remember(open, close, dialect, names);
  return true;
}

void LabelBlock::Remember(const char* open, const char* close, Dialect dialect,
                          NameValidation names) {
  // Labels that view arena_ or follow a quoted metric name cannot be kept.
  if (has_metric_name_ || !arena_.empty()) return;
  last_open_ = open;
  last_close_ = close;
  last_dialect_ = dialect;
  last_names_ = names;
}

bool LabelBlock::CheckDuplicates(size_t known_distinct, SyntaxError* err) {
  const size_t n = labels_.size();
  if (n < 2) return true;
  if (n <= 16) {
    // The first known_distinct labels were checked against each other already.
    for (size_t i = std::max<size_t>(1, known_distinct); i < n; ++i) {
      const std::string_view name = labels_[i].name;
      for (size_t j = 0; j < i; ++j) {
        // Sizes and first bytes rule out nearly every pair without a memcmp call.
        const std::string_view other = labels_[j].name;
        if (name.size() == other.size() && (name.empty() || name[0] == other[0]) && name == other) {
          return Fail(err, labels_[i].name_pos, "duplicate label name " + Quote(labels_[i].name));
        }
      }
    }
    return true;
  }
  // Many labels (hostile input): sort instead of comparing all pairs.
  sorted_.clear();
  for (const DecodedLabel& l : labels_) sorted_.push_back(&l);
  std::stable_sort(sorted_.begin(), sorted_.end(),
                   [](const DecodedLabel* a, const DecodedLabel* b) { return a->name < b->name; });
  // Stable: of two equal names the later one comes second. Report the
  // repetition that comes first in the line, as the pairwise loop does.
  const DecodedLabel* dup = nullptr;
  for (size_t i = 1; i < n; ++i) {
    if (sorted_[i]->name == sorted_[i - 1]->name &&
        (dup == nullptr || sorted_[i]->name_pos < dup->name_pos)) {
      dup = sorted_[i];
    }
  }
  if (dup == nullptr) return true;
  return Fail(err, dup->name_pos, "duplicate label name " + Quote(dup->name));
}

}  // namespace amas::expo::internal
