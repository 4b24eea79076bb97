// lexer.h: PromQL tokens, as Prometheus's parser/lex.go produces them.
// The lexer is context sensitive the way Prometheus's is: keywords are plain
// identifiers inside braces, and inside brackets only durations, numbers and
// the subquery colon are tokens. Errors come back as a kError token whose
// text is the message and whose position is where Prometheus reports it.
// The Lexer borrows the input, which must outlive it.
#ifndef AMAS_PROMQL_LEXER_H_
#define AMAS_PROMQL_LEXER_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace amas::promql {

enum class Tok {
  kEOF,
  kError,
  kComment,
  kIdentifier,
  kMetricIdentifier,
  kNumber,
  kDuration,
  kString,
  kLeftParen,
  kRightParen,
  kLeftBrace,
  kRightBrace,
  kLeftBracket,
  kRightBracket,
  kComma,
  kEql,  // "=" inside braces
  kColon,
  kDoubleColon,
  // Operators.
  kAdd,
  kSub,
  kMul,
  kDiv,
  kMod,
  kPow,
  kEqlc,  // "=="
  kNeq,
  kLss,
  kLte,
  kGtr,
  kGte,
  kEqlRegex,
  kNeqRegex,
  kLand,
  kLor,
  kLunless,
  kAt,
  kAtan2,
  // Aggregators.
  kAvg,
  kBottomk,
  kCount,
  kCountValues,
  kGroup,
  kMax,
  kMin,
  kQuantile,
  kStddev,
  kStdvar,
  kSum,
  kTopk,
  kLimitk,
  kLimitRatio,
  // Keywords.
  kBool,
  kBy,
  kGroupLeft,
  kGroupRight,
  kIgnoring,
  kOffset,
  kOn,
  kWithout,
  kSmoothed,
  kAnchored,
  kFill,
  kFillLeft,
  kFillRight,
  // Preprocessors.
  kStart,
  kEnd,
  kStep,
  kRange,
};

bool IsOperator(Tok t);
bool IsAggregator(Tok t);
bool IsKeyword(Tok t);

struct Token {
  Tok type = Tok::kEOF;
  int32_t pos = 0;        // byte offset of the token's first character
  std::string_view text;  // the token as written; borrows the Lexer's input
  std::string message;    // kError only: what went wrong

  // How Prometheus's Item.desc() names it in "unexpected ..." errors:
  // `<op:*>`, `<aggr:sum>`, `<by>`, `identifier "foo"`, `end of input`.
  std::string Describe() const;
  int32_t end() const { return pos + static_cast<int32_t>(text.size()); }
};

class Lexer {
 public:
  explicit Lexer(std::string_view input) : input_(input) {}
  Lexer(const Lexer&) = delete;  // holds scan state; make a new one instead
  Lexer& operator=(const Lexer&) = delete;

  // The next token; after kEOF or kError, returns kEOF forever.
  Token Next();

 private:
  enum class State { kStatements, kInsideBraces, kDurationExpr, kDone };

  int Peek() const;
  int NextRune();
  void Backup() { pos_ -= width_; }
  bool Accept(std::string_view valid);
  void AcceptRun(std::string_view valid);
  Token Emit(Tok type);
  Token Error(std::string message);
  Token LexStatements();
  Token LexInsideBraces();
  Token LexDurationExpr();
  Token LexString(char quote);
  Token LexRawString();
  Token LexNumberOrDuration();
  Token LexKeywordOrIdentifier();
  Token LexIdentifier();
  Token LexLineComment();
  bool ScanNumber();
  bool AcceptRemainingDuration();
  bool ScanDurationKeyword(Token* out);
  void SkipSpaces();

  std::string_view input_;
  State state_ = State::kStatements;
  int32_t pos_ = 0;
  int32_t start_ = 0;
  int32_t width_ = 0;
  int paren_depth_ = 0;
  bool brace_open_ = false;
  bool bracket_open_ = false;
  bool got_colon_ = false;
  bool got_duration_ = false;
};

}  // namespace amas::promql

#endif  // AMAS_PROMQL_LEXER_H_
