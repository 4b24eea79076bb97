#include "promql/lexer.h"

#include <array>
#include <utility>

#include "promql/go_strconv.h"

namespace amas::promql {
namespace {

constexpr int kEOFRune = -2;  // distinct from DecodeRune's -1 (bad byte)

bool IsSpace(int r) { return r == ' ' || r == '\t' || r == '\n' || r == '\r'; }
bool IsDigit(int r) { return r >= '0' && r <= '9'; }
bool IsAlpha(int r) { return r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z'); }
bool IsAlphaNumeric(int r) { return IsAlpha(r) || IsDigit(r); }

std::string ToLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c | 0x20);
  }
  return out;
}

struct Keyword {
  std::string_view word;
  Tok type;
};

constexpr std::array kKeywords = {
    Keyword{"and", Tok::kLand},
    Keyword{"or", Tok::kLor},
    Keyword{"unless", Tok::kLunless},
    Keyword{"atan2", Tok::kAtan2},
    Keyword{"sum", Tok::kSum},
    Keyword{"avg", Tok::kAvg},
    Keyword{"count", Tok::kCount},
    Keyword{"min", Tok::kMin},
    Keyword{"max", Tok::kMax},
    Keyword{"group", Tok::kGroup},
    Keyword{"stddev", Tok::kStddev},
    Keyword{"stdvar", Tok::kStdvar},
    Keyword{"topk", Tok::kTopk},
    Keyword{"bottomk", Tok::kBottomk},
    Keyword{"count_values", Tok::kCountValues},
    Keyword{"quantile", Tok::kQuantile},
    Keyword{"limitk", Tok::kLimitk},
    Keyword{"limit_ratio", Tok::kLimitRatio},
    Keyword{"offset", Tok::kOffset},
    Keyword{"smoothed", Tok::kSmoothed},
    Keyword{"anchored", Tok::kAnchored},
    Keyword{"by", Tok::kBy},
    Keyword{"without", Tok::kWithout},
    Keyword{"on", Tok::kOn},
    Keyword{"ignoring", Tok::kIgnoring},
    Keyword{"group_left", Tok::kGroupLeft},
    Keyword{"group_right", Tok::kGroupRight},
    Keyword{"fill", Tok::kFill},
    Keyword{"fill_left", Tok::kFillLeft},
    Keyword{"fill_right", Tok::kFillRight},
    Keyword{"bool", Tok::kBool},
    Keyword{"start", Tok::kStart},
    Keyword{"end", Tok::kEnd},
    Keyword{"step", Tok::kStep},
    Keyword{"range", Tok::kRange},
    // Special numbers.
    Keyword{"inf", Tok::kNumber},
    Keyword{"nan", Tok::kNumber},
};

bool LookupKeyword(std::string_view lower, Tok* out) {
  for (const Keyword& k : kKeywords) {
    if (k.word == lower) {
      *out = k.type;
      return true;
    }
  }
  return false;
}

// The fixed spelling Prometheus's ItemTypeStr gives punctuation.
std::string_view PunctuationString(Tok t) {
  switch (t) {
    case Tok::kLeftParen: return "(";
    case Tok::kRightParen: return ")";
    case Tok::kLeftBrace: return "{";
    case Tok::kRightBrace: return "}";
    case Tok::kLeftBracket: return "[";
    case Tok::kRightBracket: return "]";
    case Tok::kComma: return ",";
    case Tok::kEql: return "=";
    case Tok::kColon: return ":";
    case Tok::kDoubleColon: return "::";
    default: return {};
  }
}

// A zero-length kComment means "nothing emitted, keep scanning".
Token Nothing() {
  Token t;
  t.type = Tok::kComment;
  return t;
}

}  // namespace

bool IsOperator(Tok t) { return t >= Tok::kAdd && t <= Tok::kAtan2; }
bool IsAggregator(Tok t) { return t >= Tok::kAvg && t <= Tok::kLimitRatio; }
bool IsKeyword(Tok t) { return t >= Tok::kBool && t <= Tok::kFillRight; }

std::string Token::Describe() const {
  switch (type) {
    case Tok::kEOF: return "end of input";
    case Tok::kError: return message;
    case Tok::kIdentifier: return "identifier " + GoQuote(text);
    case Tok::kMetricIdentifier: return "metric identifier " + GoQuote(text);
    case Tok::kNumber: return "number " + GoQuote(text);
    case Tok::kDuration: return "duration " + GoQuote(text);
    case Tok::kString: return "string " + GoQuote(text);
    case Tok::kComment: return "comment " + GoQuote(text);
    default: break;
  }
  if (IsKeyword(type)) return "<" + std::string(text) + ">";
  if (IsOperator(type)) return "<op:" + std::string(text) + ">";
  if (IsAggregator(type)) return "<aggr:" + std::string(text) + ">";
  const std::string_view p = PunctuationString(type);
  if (!p.empty()) return GoQuote(p);
  return GoQuote(text);  // start/end/step/range
}

int Lexer::Peek() const {
  if (static_cast<size_t>(pos_) >= input_.size()) return kEOFRune;
  int w;
  return DecodeRune(input_, static_cast<size_t>(pos_), &w);
}

int Lexer::NextRune() {
  if (static_cast<size_t>(pos_) >= input_.size()) {
    width_ = 0;
    return kEOFRune;
  }
  int w;
  const int r = DecodeRune(input_, static_cast<size_t>(pos_), &w);
  width_ = w;
  pos_ += w;
  return r;
}

bool Lexer::Accept(std::string_view valid) {
  const int r = NextRune();
  if (r >= 0 && r < 0x80 && valid.find(static_cast<char>(r)) != std::string_view::npos) {
    return true;
  }
  Backup();
  return false;
}

void Lexer::AcceptRun(std::string_view valid) {
  while (Accept(valid)) {
  }
}

Token Lexer::Emit(Tok type) {
  Token t;
  t.type = type;
  t.pos = start_;
  t.text = input_.substr(static_cast<size_t>(start_), static_cast<size_t>(pos_ - start_));
  start_ = pos_;
  return t;
}

Token Lexer::Error(std::string message) {
  Token t;
  t.type = Tok::kError;
  t.pos = start_;
  t.message = std::move(message);
  state_ = State::kDone;
  return t;
}

void Lexer::SkipSpaces() {
  while (IsSpace(Peek())) NextRune();
  start_ = pos_;
}

Token Lexer::Next() {
  while (true) {
    switch (state_) {
      case State::kDone: {
        Token t;
        t.type = Tok::kEOF;
        t.pos = pos_;
        return t;
      }
      case State::kInsideBraces: {
        Token t = LexInsideBraces();
        if (t.type == Tok::kComment && t.text.empty()) continue;  // skipped space
        return t;
      }
      case State::kDurationExpr: {
        Token t = LexDurationExpr();
        if (t.type == Tok::kComment && t.text.empty()) continue;
        return t;
      }
      case State::kStatements: {
        Token t = LexStatements();
        if (t.type == Tok::kComment && t.text.empty()) continue;
        return t;
      }
    }
  }
}

Token Lexer::LexLineComment() {
  pos_ += 1;  // '#'
  while (true) {
    const int r = NextRune();
    if (r == '\r' || r == '\n' || r == kEOFRune) break;
  }
  Backup();
  return Emit(Tok::kComment);
}

Token Lexer::LexStatements() {
  if (brace_open_) {
    state_ = State::kInsideBraces;
    return Nothing();
  }
  if (input_.substr(static_cast<size_t>(pos_)).starts_with("#")) return LexLineComment();

  const int r = NextRune();
  if (r == kEOFRune) {
    if (paren_depth_ != 0) return Error("unclosed left parenthesis");
    if (bracket_open_) return Error("unclosed left bracket");
    state_ = State::kDone;
    return Emit(Tok::kEOF);
  }
  if (IsSpace(r)) {
    SkipSpaces();
    return Nothing();
  }
  switch (r) {
    case ',': return Emit(Tok::kComma);
    case '*': return Emit(Tok::kMul);
    case '/': return Emit(Tok::kDiv);
    case '%': return Emit(Tok::kMod);
    case '+': return Emit(Tok::kAdd);
    case '-': return Emit(Tok::kSub);
    case '^': return Emit(Tok::kPow);
    case '@': return Emit(Tok::kAt);
    case '=': {
      const int t = Peek();
      if (t == '=') {
        NextRune();
        return Emit(Tok::kEqlc);
      }
      if (t == '~') return Error("unexpected character after '=': " + GoQuoteRune(t));
      return Emit(Tok::kEql);
    }
    case '!': {
      const int t = NextRune();
      if (t != '=') return Error("unexpected character after '!': " + GoQuoteRune(t == kEOFRune ? -1 : t));
      return Emit(Tok::kNeq);
    }
    case '<':
      if (Peek() == '=') {
        NextRune();
        return Emit(Tok::kLte);
      }
      return Emit(Tok::kLss);
    case '>':
      if (Peek() == '=') {
        NextRune();
        return Emit(Tok::kGte);
      }
      return Emit(Tok::kGtr);
    case '"':
    case '\'':
      return LexString(static_cast<char>(r));
    case '`':
      return LexRawString();
    case '(':
      ++paren_depth_;
      return Emit(Tok::kLeftParen);
    case ')': {
      Token t = Emit(Tok::kRightParen);
      --paren_depth_;
      if (paren_depth_ < 0) return Error("unexpected right parenthesis " + GoQuoteRune(r));
      return t;
    }
    case '{':
      brace_open_ = true;
      state_ = State::kInsideBraces;
      return Emit(Tok::kLeftBrace);
    case '[': {
      if (bracket_open_) return Error("unexpected left bracket " + GoQuoteRune(r));
      got_colon_ = false;
      Token t = Emit(Tok::kLeftBracket);
      if (IsSpace(Peek())) SkipSpaces();
      bracket_open_ = true;
      state_ = State::kDurationExpr;
      return t;
    }
    case ']':
      if (!bracket_open_) return Error("unexpected right bracket " + GoQuoteRune(r));
      bracket_open_ = false;
      return Emit(Tok::kRightBracket);
    default:
      break;
  }
  if (IsDigit(r) || (r == '.' && IsDigit(Peek()))) {
    Backup();
    return LexNumberOrDuration();
  }
  if (IsAlpha(r) || r == ':') {
    if (!bracket_open_) {
      Backup();
      return LexKeywordOrIdentifier();
    }
    if (r == ':') {
      if (got_colon_) return Error("unexpected colon " + GoQuoteRune(r));
      Token t;
      if (Peek() == ':') {
        NextRune();
        t = Emit(Tok::kDoubleColon);
      } else {
        t = Emit(Tok::kColon);
      }
      got_colon_ = true;
      return t;
    }
    if (r == 's' || r == 'S' || r == 'm' || r == 'M') {
      Token t;
      if (ScanDurationKeyword(&t)) return t;
    }
    return Error("unexpected character: " + GoQuoteRune(r) + ", expected " + GoQuoteRune(':'));
  }
  return Error("unexpected character: " + GoQuoteRune(r));
}

Token Lexer::LexInsideBraces() {
  if (input_.substr(static_cast<size_t>(pos_)).starts_with("#")) return LexLineComment();
  const int r = NextRune();
  if (r == kEOFRune) return Error("unexpected end of input inside braces");
  if (IsSpace(r)) {
    SkipSpaces();
    return Nothing();
  }
  if (IsAlpha(r)) {
    Backup();
    return LexIdentifier();
  }
  switch (r) {
    case ',': return Emit(Tok::kComma);
    case '"':
    case '\'':
      return LexString(static_cast<char>(r));
    case '`':
      return LexRawString();
    case '=':
      if (NextRune() == '~') return Emit(Tok::kEqlRegex);
      Backup();
      return Emit(Tok::kEql);
    case '!': {
      const int nr = NextRune();
      if (nr == '~') return Emit(Tok::kNeqRegex);
      if (nr == '=') return Emit(Tok::kNeq);
      return Error("unexpected character after '!' inside braces: " +
                   GoQuoteRune(nr == kEOFRune ? -1 : nr));
    }
    case '{':
      return Error("unexpected left brace " + GoQuoteRune(r));
    case '}':
      brace_open_ = false;
      state_ = State::kStatements;
      return Emit(Tok::kRightBrace);
    default:
      return Error("unexpected character inside braces: " + GoQuoteRune(r));
  }
}

Token Lexer::LexDurationExpr() {
  const int r = NextRune();
  if (r == kEOFRune) return Error("unexpected end of input in duration expression");
  switch (r) {
    case ']': {
      bracket_open_ = false;
      got_colon_ = false;
      state_ = State::kStatements;
      return Emit(Tok::kRightBracket);
    }
    case ':': {
      if (!got_duration_) {
        start_ = pos_;
        return Error("unexpected colon before duration in duration expression");
      }
      if (got_colon_) {
        start_ = pos_;
        return Error("unexpected repeated colon in duration expression");
      }
      got_colon_ = true;
      return Emit(Tok::kColon);
    }
    case '(':
      ++paren_depth_;
      return Emit(Tok::kLeftParen);
    case ')': {
      Token t = Emit(Tok::kRightParen);
      --paren_depth_;
      if (paren_depth_ < 0) return Error("unexpected right parenthesis " + GoQuoteRune(r));
      return t;
    }
    case '+': return Emit(Tok::kAdd);
    case '-': return Emit(Tok::kSub);
    case '*': return Emit(Tok::kMul);
    case '/': return Emit(Tok::kDiv);
    case '%': return Emit(Tok::kMod);
    case '^': return Emit(Tok::kPow);
    case ',': return Emit(Tok::kComma);
    default:
      break;
  }
  if (IsSpace(r)) {
    SkipSpaces();
    return Nothing();
  }
  if (r == 's' || r == 'S' || r == 'm' || r == 'M' || r == 'r' || r == 'R') {
    Token t;
    if (ScanDurationKeyword(&t)) return t;
    return Error("unexpected character in duration expression: " + GoQuoteRune(r));
  }
  if (IsDigit(r) || (r == '.' && IsDigit(Peek()))) {
    Backup();
    got_duration_ = true;
    state_ = State::kStatements;
    return LexNumberOrDuration();
  }
  return Error("unexpected character in duration expression: " + GoQuoteRune(r));
}

bool Lexer::ScanDurationKeyword(Token* out) {
  while (IsAlpha(Peek())) NextRune();
  const std::string kw =
      ToLower(input_.substr(static_cast<size_t>(start_), static_cast<size_t>(pos_ - start_)));
  Tok t;
  if (kw == "step") {
    t = Tok::kStep;
  } else if (kw == "range") {
    t = Tok::kRange;
  } else if (kw == "min") {
    t = Tok::kMin;
  } else if (kw == "max") {
    t = Tok::kMax;
  } else {
    return false;
  }
  *out = Emit(t);
  return true;
}

Token Lexer::LexString(char quote) {
  while (true) {
    const int r = NextRune();
    if (r == '\\') {
      // Escapes, as Go's scanner validates them.
      int ch = NextRune();
      if (ch == 'a' || ch == 'b' || ch == 'f' || ch == 'n' || ch == 'r' || ch == 't' ||
          ch == 'v' || ch == '\\' || ch == quote) {
        continue;
      }
      int n = 0;
      uint32_t base = 0, max_val = 0;
      if (ch >= '0' && ch <= '7') {
        n = 3, base = 8, max_val = 255;
      } else if (ch == 'x') {
        ch = NextRune();
        n = 2, base = 16, max_val = 255;
      } else if (ch == 'u') {
        ch = NextRune();
        n = 4, base = 16, max_val = 0x10FFFF;
      } else if (ch == 'U') {
        ch = NextRune();
        n = 8, base = 16, max_val = 0x10FFFF;
      } else if (ch == kEOFRune) {
        return Error("escape sequence not terminated");
      } else {
        return Error("unknown escape sequence " + GoUnicodeFormat(ch));
      }
      uint32_t x = 0;
      while (n > 0) {
        uint32_t d = 16;
        if (ch >= '0' && ch <= '9') d = static_cast<uint32_t>(ch - '0');
        if (ch >= 'a' && ch <= 'f') d = static_cast<uint32_t>(ch - 'a' + 10);
        if (ch >= 'A' && ch <= 'F') d = static_cast<uint32_t>(ch - 'A' + 10);
        if (d >= base) {
          if (ch == kEOFRune) return Error("escape sequence not terminated");
          return Error("illegal character " + GoUnicodeFormat(ch) + " in escape sequence");
        }
        x = x * base + d;
        --n;
        if (n > 0) ch = NextRune();
      }
      if (x > max_val || (x >= 0xD800 && x < 0xE000)) {
        return Error("escape sequence is an invalid Unicode code point");
      }
      continue;
    }
    if (r == -1) return Error("invalid UTF-8 rune");
    if (r == kEOFRune || r == '\n') return Error("unterminated quoted string");
    if (r == quote) break;
  }
  return Emit(Tok::kString);
}

Token Lexer::LexRawString() {
  while (true) {
    const int r = NextRune();
    if (r == -1) return Error("invalid UTF-8 rune");
    if (r == kEOFRune) return Error("unterminated raw string");
    if (r == '`') break;
  }
  return Emit(Tok::kString);
}

// Prometheus's scanNumber: [0x][.][d][d._eE]* with its anti-patterns. The
// scanned text is not necessarily a valid number; the parser checks that.
bool Lexer::ScanNumber() {
  const int32_t initial = pos_;
  std::string digits = "0123456789";
  if (Accept("0") && Accept("xX")) {
    Accept("_");  // 0X_1FFFP-16
    digits = "0123456789abcdefABCDEF";
  }
  auto is = [&](std::string_view set) {
    const int r = Peek();
    return r >= 0 && r < 0x80 && set.find(static_cast<char>(r)) != std::string_view::npos;
  };
  Accept(".");
  Accept(digits);
  bool dot = false, exponent = false;
  const std::string all = digits + "._eE";
  while (is(all)) {
    if (is(".") && dot) {
      Accept(".");
      return false;
    }
    if (is("eE") && exponent) {
      Accept("eE");
      return false;
    }
    if (Accept(".")) {
      dot = true;
      if (Accept("_.")) return false;
      if (digits.size() > 10) return false;  // no fractional hex literals
      continue;
    }
    if (Accept("eE")) {
      exponent = true;
      Accept("+-");
      if (Accept("._eE") || Peek() == kEOFRune) return false;
      continue;
    }
    if (Accept("_")) {
      if (Accept("._eE") || Peek() == kEOFRune) return false;
      continue;
    }
    AcceptRun(digits);
  }
  if (pos_ == initial) return false;
  return !IsAlphaNumeric(Peek());
}

bool Lexer::AcceptRemainingDuration() {
  if (!Accept("smhdwy")) return false;
  Accept("s");  // "ms"; bad units are caught when the duration is parsed
  while (Accept("0123456789")) {
    while (Accept("0123456789")) {
    }
    if (!Accept("smhdw")) return false;
    Accept("s");
  }
  const int r = NextRune();
  return !IsAlphaNumeric(r);
}

Token Lexer::LexNumberOrDuration() {
  state_ = State::kStatements;
  if (ScanNumber()) return Emit(Tok::kNumber);
  if (AcceptRemainingDuration()) {
    Backup();
    return Emit(Tok::kDuration);
  }
  return Error("bad number or duration syntax: " +
               GoQuote(input_.substr(static_cast<size_t>(start_),
                                     static_cast<size_t>(pos_ - start_))));
}

Token Lexer::LexKeywordOrIdentifier() {
  while (true) {
    const int r = NextRune();
    if (IsAlphaNumeric(r) || r == ':') continue;
    Backup();
    break;
  }
  const std::string_view word =
      input_.substr(static_cast<size_t>(start_), static_cast<size_t>(pos_ - start_));
  Tok kw;
  if (LookupKeyword(ToLower(word), &kw)) {
    if (kw == Tok::kFill || kw == Tok::kFillLeft || kw == Tok::kFillRight) {
      // Keywords only when a '(' follows, so "fill" stays a metric name.
      size_t p = static_cast<size_t>(pos_);
      while (p < input_.size() && IsSpace(input_[p])) ++p;
      if (p >= input_.size() || input_[p] != '(') return Emit(Tok::kIdentifier);
    }
    return Emit(kw);
  }
  if (word.find(':') == std::string_view::npos) return Emit(Tok::kIdentifier);
  return Emit(Tok::kMetricIdentifier);
}

Token Lexer::LexIdentifier() {
  while (IsAlphaNumeric(NextRune())) {
  }
  Backup();
  return Emit(Tok::kIdentifier);
}

}  // namespace amas::promql
