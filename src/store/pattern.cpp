#include "store/pattern.h"

#include <re2/re2.h>

#include <algorithm>

namespace amas::store::internal {
namespace {

constexpr int16_t kAnyChar = -1;  // "."  : one character other than "\n"
constexpr int16_t kAnyRun = -2;   // ".*" : any run of such characters

bool IsQuantifier(char c) { return c == '*' || c == '+' || c == '?' || c == '{'; }

// Escapes RE2 reads as the literal character (it rejects unknown ones).
bool IsLiteralEscape(char c) {
  return std::string_view(".+*?()|[]{}^$\\/-").find(c) != std::string_view::npos && c != '\0';
}

// Splits re into alternatives of literal bytes, ".", ".*" and ".+"; false when
// it uses anything else (groups, classes, other quantifiers, flags, anchors).
bool ParseSimple(std::string_view re, std::vector<std::vector<int16_t>>* alts) {
  alts->assign(1, {});
  for (size_t i = 0; i < re.size(); ++i) {
    const char c = re[i];
    const char next = i + 1 < re.size() ? re[i + 1] : '\0';
    std::vector<int16_t>& alt = alts->back();
    char literal;
    switch (c) {
      case '|':
        alts->emplace_back();
        continue;
      case '.':
        if (next == '*') {
          alt.push_back(kAnyRun);
          ++i;
        } else if (next == '+') {
          alt.push_back(kAnyChar);
          alt.push_back(kAnyRun);
          ++i;
        } else {
          alt.push_back(kAnyChar);
        }
        if (i + 1 < re.size() && IsQuantifier(re[i + 1])) return false;  // ".*?", ".{2}"
        continue;
      case '\\':
        if (!IsLiteralEscape(next)) return false;
        literal = next;
        ++i;
        break;
      case '(':
      case ')':
      case '[':
      case ']':
      case '{':
      case '}':
      case '?':
      case '*':
      case '+':
      case '^':
      case '$':
        return false;
      default:
        literal = c;
    }
    if (i + 1 < re.size() && IsQuantifier(re[i + 1])) return false;  // "ab*" repeats "b" only
    alt.push_back(static_cast<int16_t>(static_cast<unsigned char>(literal)));
  }
  return true;
}

// Glob matching with backtracking to the last run; linear for one run.
bool GlobMatch(const std::vector<int16_t>& p, std::string_view s) {
  size_t pi = 0, si = 0;
  size_t run = SIZE_MAX, mark = 0;
  while (si < s.size()) {
    if (pi < p.size() &&
        (p[pi] == kAnyChar || p[pi] == static_cast<int16_t>(static_cast<unsigned char>(s[si])))) {
      ++pi;
      ++si;
    } else if (pi < p.size() && p[pi] == kAnyRun) {
      run = pi++;
      mark = si;
    } else if (run != SIZE_MAX) {
      pi = run + 1;
      si = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == kAnyRun) ++pi;
  return pi == p.size();
}

// "." is one UTF-8 character and never "\n" in RE2: bytes equal characters
// only for ASCII without newlines.
bool IsPlainAscii(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80 || c == '\n') return false;
  }
  return true;
}

}  // namespace

Pattern::~Pattern() = default;

core::Result<std::shared_ptr<const Pattern>> Pattern::Compile(std::string_view regex) {
  RE2::Options options;
  options.set_log_errors(false);
  std::string anchored = "^(?:";
  anchored.append(regex).append(")$");
  auto re = std::make_unique<RE2>(anchored, options);
  if (!re->ok()) {
    return core::Status::InvalidArgument("invalid regular expression \"" + std::string(regex) +
                                         "\": " + re->error());
  }
  std::shared_ptr<Pattern> p(new Pattern());
  p->re_ = std::move(re);
  std::vector<std::vector<int16_t>> alts;
  if (ParseSimple(regex, &alts)) {
    const bool literal_only = std::all_of(alts.begin(), alts.end(), [](const auto& alt) {
      return std::all_of(alt.begin(), alt.end(), [](int16_t c) { return c >= 0; });
    });
    if (literal_only) {
      p->kind_ = Kind::kLiterals;
      for (const auto& alt : alts) {
        std::string s;
        for (int16_t c : alt) s.push_back(static_cast<char>(c));
        p->literals_.push_back(std::move(s));
      }
      std::sort(p->literals_.begin(), p->literals_.end());
      p->literals_.erase(std::unique(p->literals_.begin(), p->literals_.end()), p->literals_.end());
    } else {
      p->kind_ = Kind::kGlob;
      p->globs_ = std::move(alts);
    }
  }
  return std::shared_ptr<const Pattern>(std::move(p));
}

bool Pattern::MatchesRe2(std::string_view value) const {
  return RE2::FullMatch(re2::StringPiece(value.data(), value.size()), *re_);
}

bool Pattern::Matches(std::string_view value) const {
  switch (kind_) {
    case Kind::kLiterals:
      if (literals_.size() <= 8) {
        return std::find(literals_.begin(), literals_.end(), value) != literals_.end();
      }
      return std::binary_search(literals_.begin(), literals_.end(), value);
    case Kind::kGlob:
      if (!IsPlainAscii(value)) return MatchesRe2(value);
      for (const auto& glob : globs_) {
        if (GlobMatch(glob, value)) return true;
      }
      return false;
    case Kind::kRegex:
      break;
  }
  return MatchesRe2(value);
}

}  // namespace amas::store::internal
