#include "promql/parser.h"

#include <cmath>
#include <deque>
#include <optional>
#include <utility>

#include "promql/go_strconv.h"
#include "promql/lexer.h"

namespace amas::promql {

core::Result<ExprPtr> Parse(std::string_view input) { return ParseExpr(input); }

namespace {

constexpr int kMaxDepth = 400;  // nesting guard: deeper input is rejected, not a stack overflow

struct Error {
  PosRange pos;
  std::string message;
  bool unimplemented = false;
};

int BinaryPrecedence(Tok t) {
  switch (t) {
    case Tok::kLor: return 1;
    case Tok::kLand:
    case Tok::kLunless: return 2;
    case Tok::kEqlc:
    case Tok::kNeq:
    case Tok::kLss:
    case Tok::kLte:
    case Tok::kGtr:
    case Tok::kGte: return 3;
    case Tok::kAdd:
    case Tok::kSub: return 4;
    case Tok::kMul:
    case Tok::kDiv:
    case Tok::kMod:
    case Tok::kAtan2: return 5;
    case Tok::kPow: return 6;
    default: return 0;
  }
}
constexpr int kPowPrecedence = 6;

BinOp ToBinOp(Tok t) {
  switch (t) {
    case Tok::kAdd: return BinOp::kAdd;
    case Tok::kSub: return BinOp::kSub;
    case Tok::kMul: return BinOp::kMul;
    case Tok::kDiv: return BinOp::kDiv;
    case Tok::kMod: return BinOp::kMod;
    case Tok::kPow: return BinOp::kPow;
    case Tok::kAtan2: return BinOp::kAtan2;
    case Tok::kEqlc: return BinOp::kEqlc;
    case Tok::kNeq: return BinOp::kNeq;
    case Tok::kGtr: return BinOp::kGtr;
    case Tok::kLss: return BinOp::kLss;
    case Tok::kGte: return BinOp::kGte;
    case Tok::kLte: return BinOp::kLte;
    case Tok::kLand: return BinOp::kAnd;
    case Tok::kLor: return BinOp::kOr;
    default: return BinOp::kUnless;
  }
}

std::optional<AggOp> ToAggOp(Tok t) {
  switch (t) {
    case Tok::kSum: return AggOp::kSum;
    case Tok::kAvg: return AggOp::kAvg;
    case Tok::kCount: return AggOp::kCount;
    case Tok::kMin: return AggOp::kMin;
    case Tok::kMax: return AggOp::kMax;
    case Tok::kGroup: return AggOp::kGroup;
    case Tok::kStddev: return AggOp::kStddev;
    case Tok::kStdvar: return AggOp::kStdvar;
    case Tok::kTopk: return AggOp::kTopk;
    case Tok::kBottomk: return AggOp::kBottomk;
    case Tok::kCountValues: return AggOp::kCountValues;
    case Tok::kQuantile: return AggOp::kQuantile;
    case Tok::kLimitk: return AggOp::kLimitk;
    case Tok::kLimitRatio: return AggOp::kLimitRatio;
    default: return std::nullopt;
  }
}

// Tokens the grammar accepts as a metric name (metric_identifier).
bool IsMetricIdentifier(Tok t) {
  switch (t) {
    case Tok::kIdentifier:
    case Tok::kMetricIdentifier:
    case Tok::kBy:
    case Tok::kWithout:
    case Tok::kOffset:
    case Tok::kLand:
    case Tok::kLor:
    case Tok::kLunless:
    case Tok::kStart:
    case Tok::kEnd:
      return true;
    default:
      return IsAggregator(t);
  }
}

// Tokens usable as a label name in grouping lists (maybe_label).
bool IsMaybeLabel(Tok t) {
  switch (t) {
    case Tok::kIdentifier:
    case Tok::kMetricIdentifier:
    case Tok::kBool:
    case Tok::kBy:
    case Tok::kGroupLeft:
    case Tok::kGroupRight:
    case Tok::kIgnoring:
    case Tok::kLand:
    case Tok::kLor:
    case Tok::kLunless:
    case Tok::kOffset:
    case Tok::kOn:
    case Tok::kWithout:
    case Tok::kStart:
    case Tok::kEnd:
    case Tok::kAtan2:
    case Tok::kSmoothed:
    case Tok::kAnchored:
    case Tok::kStep:
    case Tok::kRange:
      return true;
    default:
      return IsAggregator(t);
  }
}

bool IsLegacyLabelName(std::string_view s) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool ok = c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

// The parser keeps nodes mutable until Parse() returns them; after that the
// tree is shared as const. Only the final type check writes through this.
Expr* Mutable(const ExprPtr& e) { return const_cast<Expr*>(e.get()); }

std::string_view RawTypeName(ValueType t) {
  switch (t) {
    case ValueType::kScalar: return "scalar";
    case ValueType::kVector: return "vector";
    case ValueType::kMatrix: return "matrix";
    case ValueType::kString: return "string";
    case ValueType::kNone: break;
  }
  return "none";
}

class Parser {
 public:
  explicit Parser(std::string_view input)
      : source_(std::make_shared<const std::string>(input)), lexer_(*source_) {}

  core::Result<ExprPtr> Run() {
    ExprPtr root;
    if (PeekType() == Tok::kEOF && !error_) {
      Fail(PosRange{0, 0}, "no expression found in input");
    } else {
      root = ParseBinary(0);
      if (!error_) {
        const Token& t = Peek();
        if (t.type != Tok::kEOF) Unexpected(t, "", "");
      }
    }
    if (!error_ && root) {
      CheckAST(root);
      if (check_error_) error_ = std::move(check_error_);
    }
    if (error_) {
      const std::string where = PositionString(*source_, error_->pos.start);
      if (error_->unimplemented) {
        return core::Status::Unimplemented(where + ": not supported: " + error_->message);
      }
      return core::Status::InvalidArgument(where + ": parse error: " + error_->message);
    }
    return root;
  }

 private:
  // ---- tokens -------------------------------------------------------------

  const Token& Peek(size_t k = 0) {
    while (lookahead_.size() <= k) {
      Token t = lexer_.Next();
      while (t.type == Tok::kComment) t = lexer_.Next();
      if (t.type == Tok::kError) {
        // Prometheus reports lexer errors first, from the lexer's position to
        // the end of the input, and then sees the end of input.
        if (!error_) {
          error_ = Error{PosRange{t.pos, static_cast<int32_t>(source_->size())}, t.message};
        }
        Token eof;
        eof.type = Tok::kEOF;
        eof.pos = t.pos;
        t = eof;
      }
      lookahead_.push_back(std::move(t));
    }
    return lookahead_[k];
  }
  Tok PeekType(size_t k = 0) { return Peek(k).type; }

  Token Next() {
    Peek();
    Token t = std::move(lookahead_.front());
    lookahead_.pop_front();
    switch (t.type) {
      case Tok::kRightBrace:
      case Tok::kRightParen:
      case Tok::kRightBracket:
      case Tok::kDuration:
      case Tok::kNumber:
        last_closing_ = t.end();
        break;
      default:
        break;
    }
    return t;
  }

  // ---- errors -------------------------------------------------------------

  void Fail(PosRange pos, std::string message) {
    if (!error_) error_ = Error{pos, std::move(message)};
  }
  void Unsupported(PosRange pos, std::string message) {
    if (!error_) error_ = Error{pos, std::move(message), true};
  }
  void Check(PosRange pos, std::string message) {
    if (!check_error_) check_error_ = Error{pos, std::move(message)};
  }
  // "unexpected <what>[ in <context>][, expected <expected>]" at the token.
  void Unexpected(const Token& t, std::string_view context, std::string_view expected) {
    if (error_) return;  // a lexer error already explains it
    std::string msg = "unexpected " + t.Describe();
    if (!context.empty()) msg += " in " + std::string(context);
    if (!expected.empty()) msg += ", expected " + std::string(expected);
    Fail(PosRange{t.pos, t.end()}, std::move(msg));
  }

  std::shared_ptr<Expr> NewExpr(Expr::Node node, PosRange pos) {
    auto e = std::make_shared<Expr>();
    e->node = std::move(node);
    e->pos = pos;
    e->source = source_;
    return e;
  }

  // ---- expressions --------------------------------------------------------

  ExprPtr ParseBinary(int min_prec) {
    if (++depth_ > kMaxDepth) {
      Fail(PosRange{Peek().pos, Peek().pos}, "expression nesting too deep");
      --depth_;
      return nullptr;
    }
    ExprPtr lhs = ParseUnary();
    while (lhs && !error_) {
      const Tok op = PeekType();
      const int prec = BinaryPrecedence(op);
      if (prec == 0 || prec < min_prec) break;
      Next();
      BinaryExpr bin;
      bin.op = ToBinOp(op);
      if (!ParseBinModifiers(&bin)) break;
      ExprPtr rhs = ParseBinary(op == Tok::kPow ? prec : prec + 1);
      if (!rhs) {
        lhs = nullptr;
        break;
      }
      const PosRange pos{lhs->pos.start, rhs->pos.end};
      bin.lhs = std::move(lhs);
      bin.rhs = std::move(rhs);
      lhs = NewExpr(std::move(bin), pos);
    }
    --depth_;
    return error_ ? nullptr : lhs;
  }

  bool ParseBinModifiers(BinaryExpr* bin) {
    if (PeekType() == Tok::kBool) {
      Next();
      bin->return_bool = true;
    }
    const Tok t = PeekType();
    if (t == Tok::kOn || t == Tok::kIgnoring) {
      Next();
      bin->matching.on = t == Tok::kOn;
      if (!ParseGroupingLabels(&bin->matching.matching_labels)) return false;
      const Tok g = PeekType();
      if (g == Tok::kGroupLeft || g == Tok::kGroupRight) {
        Next();
        bin->matching.card = g == Tok::kGroupLeft ? VectorMatching::Card::kManyToOne
                                                  : VectorMatching::Card::kOneToMany;
        if (PeekType() == Tok::kLeftParen) {
          if (!ParseGroupingLabels(&bin->matching.include)) return false;
        }
      }
    }
    const Tok f = PeekType();
    if (f == Tok::kFill || f == Tok::kFillLeft || f == Tok::kFillRight) {
      const Token& tok = Peek();
      Unsupported(PosRange{tok.pos, tok.end()}, "fill modifiers for binary operators");
      return false;
    }
    return !error_;
  }

  ExprPtr ParseUnary() {
    const Tok t = PeekType();
    if (t == Tok::kAdd || t == Tok::kSub) {
      const Token op = Next();
      ExprPtr operand = ParseBinary(kPowPrecedence);
      if (!operand) return nullptr;
      if (const auto* num = operand->as<NumberLiteral>()) {
        // Prometheus folds a sign into a number literal.
        const double v = t == Tok::kSub ? -num->value : num->value;
        return NewExpr(NumberLiteral{v}, PosRange{op.pos, operand->pos.end});
      }
      UnaryExpr u;
      u.negate = t == Tok::kSub;
      const PosRange pos{op.pos, operand->pos.end};
      u.expr = std::move(operand);
      return NewExpr(std::move(u), pos);
    }
    std::shared_ptr<Expr> primary = ParsePrimary();
    if (!primary) return nullptr;
    return ParsePostfix(std::move(primary));
  }

  std::shared_ptr<Expr> ParsePrimary() {
    const Token& t = Peek();
    switch (t.type) {
      case Tok::kNumber: {
        const Token tok = Next();
        auto v = ParseGoNumber(tok.text);
        if (!v.ok()) {
          Fail(PosRange{tok.pos, tok.end()}, "error parsing number: " + v.status().message());
          return nullptr;
        }
        return NewExpr(NumberLiteral{*v}, PosRange{tok.pos, tok.end()});
      }
      case Tok::kDuration: {
        // A duration literal where a number is expected means its seconds.
        const Token tok = Next();
        auto d = core::Duration::Parse(tok.text);
        if (!d.ok()) {
          Fail(PosRange{tok.pos, tok.end()}, d.status().message());
          return nullptr;
        }
        return NewExpr(NumberLiteral{d->seconds()}, PosRange{tok.pos, tok.end()});
      }
      case Tok::kString: {
        const Token tok = Next();
        auto s = Unquote(tok.text);
        if (!s.ok()) {
          Fail(PosRange{tok.pos, tok.end()}, "error unquoting string " + GoQuote(tok.text) +
                                                 ": " + s.status().message());
          return nullptr;
        }
        return NewExpr(StringLiteral{std::move(*s)}, PosRange{tok.pos, tok.end()});
      }
      case Tok::kLeftParen: {
        const Token open = Next();
        ExprPtr inner = ParseBinary(0);
        if (!inner) return nullptr;
        if (PeekType() != Tok::kRightParen) {
          Unexpected(Peek(), "", "");
          return nullptr;
        }
        const Token close = Next();
        return NewExpr(ParenExpr{std::move(inner)}, PosRange{open.pos, close.end()});
      }
      case Tok::kLeftBrace:
        return ParseVectorSelector(nullptr);
      default:
        break;
    }
    if ((t.type == Tok::kStep || t.type == Tok::kRange || t.type == Tok::kStart ||
         t.type == Tok::kEnd) &&
        PeekType(1) == Tok::kLeftParen) {
      Unsupported(PosRange{t.pos, t.end()}, std::string(t.text) + "() outside an @ modifier");
      return nullptr;
    }
    if (auto agg = ToAggOp(t.type)) {
      const Tok next = PeekType(1);
      if (next == Tok::kLeftParen || next == Tok::kBy || next == Tok::kWithout) {
        return ParseAggregate(*agg);
      }
    }
    if (t.type == Tok::kIdentifier && PeekType(1) == Tok::kLeftParen) return ParseCall();
    if (IsMetricIdentifier(t.type)) {
      const Token name = Next();
      return ParseVectorSelector(&name);
    }
    Unexpected(t, "", "");
    return nullptr;
  }

  // ---- selectors ----------------------------------------------------------

  // `name`, `name{...}` or `{...}`; name is the already consumed metric name.
  std::shared_ptr<Expr> ParseVectorSelector(const Token* name) {
    VectorSelector vs;
    PosRange pos;
    if (name) {
      vs.name = std::string(name->text);
      pos = PosRange{name->pos, name->end()};
    }
    if (PeekType() == Tok::kLeftBrace) {
      const Token open = Next();
      if (!name) pos.start = open.pos;
      if (!ParseLabelMatchers(&vs.matchers)) return nullptr;
      pos.end = last_closing_;
    }
    if (name) {
      auto m = store::Matcher::Make(store::Matcher::Type::kEqual, "__name__", vs.name);
      if (!m.ok()) {
        Fail(PosRange{name->pos, name->end()}, m.status().message());
        return nullptr;
      }
      vs.matchers.push_back(std::move(*m));
    }
    return NewExpr(std::move(vs), pos);
  }

  // After '{': matchers up to and including '}'.
  bool ParseLabelMatchers(std::vector<store::Matcher>* out) {
    if (PeekType() == Tok::kRightBrace) {
      Next();
      return true;
    }
    while (true) {
      const Token& t = Peek();
      std::string label;
      Token label_tok = t;
      if (t.type == Tok::kIdentifier) {
        label = std::string(t.text);
        Next();
      } else if (t.type == Tok::kString) {
        auto s = Unquote(t.text);
        if (!s.ok()) {
          Fail(PosRange{t.pos, t.end()},
               "error unquoting string " + GoQuote(t.text) + ": " + s.status().message());
          return false;
        }
        label = std::move(*s);
        Next();
        const Tok after = PeekType();
        if (after == Tok::kComma || after == Tok::kRightBrace) {
          // {"metric_name"}: a quoted metric name on its own.
          auto m = store::Matcher::Make(store::Matcher::Type::kEqual, "__name__", label);
          if (!m.ok()) {
            Fail(PosRange{label_tok.pos, label_tok.end()}, m.status().message());
            return false;
          }
          out->push_back(std::move(*m));
          if (!AfterMatcher()) return false;
          if (closed_) return true;
          continue;
        }
      } else {
        Unexpected(t, "label matching", "identifier or \"}\"");
        return false;
      }
      const Token op = Peek();
      store::Matcher::Type type;
      switch (op.type) {
        case Tok::kEql: type = store::Matcher::Type::kEqual; break;
        case Tok::kNeq: type = store::Matcher::Type::kNotEqual; break;
        case Tok::kEqlRegex: type = store::Matcher::Type::kRegexMatch; break;
        case Tok::kNeqRegex: type = store::Matcher::Type::kRegexNoMatch; break;
        default:
          Unexpected(op, "label matching", "label matching operator");
          return false;
      }
      Next();
      const Token value = Peek();
      if (value.type != Tok::kString) {
        Unexpected(value, "label matching", "string");
        return false;
      }
      Next();
      auto v = Unquote(value.text);
      if (!v.ok()) {
        Fail(PosRange{value.pos, value.end()},
             "error unquoting string " + GoQuote(value.text) + ": " + v.status().message());
        return false;
      }
      auto m = store::Matcher::Make(type, label, std::move(*v));
      if (!m.ok()) {
        Fail(PosRange{label_tok.pos, value.end()}, m.status().message());
        return false;
      }
      out->push_back(std::move(*m));
      if (!AfterMatcher()) return false;
      if (closed_) return true;
    }
  }

  // After one matcher: ',' (and maybe '}') or '}'. Sets closed_ on '}'.
  bool AfterMatcher() {
    closed_ = false;
    const Tok t = PeekType();
    if (t == Tok::kRightBrace) {
      Next();
      closed_ = true;
      return true;
    }
    if (t == Tok::kComma) {
      Next();
      if (PeekType() == Tok::kRightBrace) {
        Next();
        closed_ = true;
      }
      return true;
    }
    Unexpected(Peek(), "label matching", "\",\" or \"}\"");
    return false;
  }

  // Durations in brackets and after offset: a duration or a number of seconds.
  std::optional<int64_t> TakeDuration(const Token& t) {
    if (t.type == Tok::kDuration) {
      auto d = core::Duration::Parse(t.text);
      if (!d.ok()) {
        Fail(PosRange{t.pos, t.end()}, d.status().message());
        return std::nullopt;
      }
      return d->millis();
    }
    auto v = ParseGoNumber(t.text);
    if (!v.ok()) {
      Fail(PosRange{t.pos, t.end()}, "error parsing number: " + v.status().message());
      return std::nullopt;
    }
    const double ms = *v * 1000.0;
    if (!std::isfinite(ms) || std::fabs(ms) > 9.2e15) {
      Fail(PosRange{t.pos, t.end()}, "duration out of range");
      return std::nullopt;
    }
    return static_cast<int64_t>(std::llround(ms));
  }

  bool IsDurationToken(Tok t) { return t == Tok::kDuration || t == Tok::kNumber; }

  void DurationExpressionUnsupported(const Token& t) {
    Unsupported(PosRange{t.pos, t.end()}, "duration expressions");
  }

  // ---- postfix: [range], [range:step], offset, @ --------------------------

  ExprPtr ParsePostfix(std::shared_ptr<Expr> e) {
    while (e && !error_) {
      const Tok t = PeekType();
      if (t == Tok::kLeftBracket) {
        e = ParseRangeOrSubquery(std::move(e));
      } else if (t == Tok::kOffset) {
        e = ParseOffset(std::move(e));
      } else if (t == Tok::kAt) {
        e = ParseAt(std::move(e));
      } else if (t == Tok::kAnchored || t == Tok::kSmoothed) {
        const Token& tok = Peek();
        Unsupported(PosRange{tok.pos, tok.end()}, "the " + std::string(tok.text) + " modifier");
        return nullptr;
      } else {
        break;
      }
    }
    return error_ ? nullptr : e;
  }

  std::shared_ptr<Expr> ParseRangeOrSubquery(std::shared_ptr<Expr> e) {
    const Token open = Next();
    const Token first = Peek();
    if (!IsDurationToken(first.type)) {
      if (first.type == Tok::kSub || first.type == Tok::kAdd || first.type == Tok::kLeftParen ||
          first.type == Tok::kStep || first.type == Tok::kRange || first.type == Tok::kMin ||
          first.type == Tok::kMax) {
        DurationExpressionUnsupported(first);
      } else {
        Unexpected(first, "subquery selector", "duration");
      }
      return nullptr;
    }
    Next();
    auto range = TakeDuration(first);
    if (!range) return nullptr;
    const Token after = Peek();
    if (after.type == Tok::kRightBracket) {
      const Token close = Next();
      std::string err;
      const auto* vs = e->as<VectorSelector>();
      if (!vs) {
        err = "ranges only allowed for vector selectors";
      } else if (vs->offset_ms != 0) {
        err = "no offset modifiers allowed before range";
      } else if (vs->at != AtKind::kNone) {
        err = "no @ modifiers allowed before range";
      }
      if (!err.empty()) {
        Fail(PosRange{open.pos, close.end()}, err);
        return nullptr;
      }
      MatrixSelector ms;
      ms.selector = *vs;
      ms.selector_pos = e->pos;
      ms.range_ms = *range;
      return NewExpr(std::move(ms), PosRange{e->pos.start, last_closing_});
    }
    if (after.type == Tok::kColon || after.type == Tok::kDoubleColon) {
      if (after.type == Tok::kDoubleColon) {
        Unsupported(PosRange{after.pos, after.end()}, "aligned subqueries");
        return nullptr;
      }
      Next();
      SubqueryExpr sq;
      sq.range_ms = *range;
      const Token step = Peek();
      if (IsDurationToken(step.type)) {
        Next();
        auto s = TakeDuration(step);
        if (!s) return nullptr;
        sq.step_ms = *s;
        const Token close = Peek();
        if (close.type != Tok::kRightBracket) {
          if (BinaryPrecedence(close.type) != 0) {
            DurationExpressionUnsupported(close);
          } else {
            Unexpected(close, "subquery selector", "\"]\"");
          }
          return nullptr;
        }
      } else if (step.type != Tok::kRightBracket) {
        if (step.type == Tok::kSub || step.type == Tok::kLeftParen || step.type == Tok::kStep ||
            step.type == Tok::kRange || step.type == Tok::kMin || step.type == Tok::kMax) {
          DurationExpressionUnsupported(step);
        } else {
          Unexpected(step, "subquery selector", "duration or \"]\"");
        }
        return nullptr;
      }
      const Token close = Next();
      const PosRange pos{e->pos.start, close.end()};
      sq.expr = std::move(e);
      return NewExpr(std::move(sq), pos);
    }
    if (BinaryPrecedence(after.type) != 0) {
      DurationExpressionUnsupported(after);
    } else {
      Unexpected(after, "subquery or range", "\":\" or \"]\"");
    }
    return nullptr;
  }

  std::shared_ptr<Expr> ParseOffset(std::shared_ptr<Expr> e) {
    Next();  // offset
    bool negative = false;
    Token t = Peek();
    if (t.type == Tok::kSub || t.type == Tok::kAdd) {
      negative = t.type == Tok::kSub;
      Next();
      t = Peek();
    }
    if (t.type == Tok::kLeftParen) {
      DurationExpressionUnsupported(t);
      return nullptr;
    }
    if (!IsDurationToken(t.type)) {
      Unexpected(t, "offset", "duration");
      return nullptr;
    }
    Next();
    auto d = TakeDuration(t);
    if (!d) return nullptr;
    const int64_t offset = negative ? -*d : *d;
    int64_t* target = nullptr;
    if (auto* vs = std::get_if<VectorSelector>(&e->node)) {
      target = &vs->offset_ms;
    } else if (auto* ms = std::get_if<MatrixSelector>(&e->node)) {
      target = &ms->selector.offset_ms;
    } else if (auto* sq = std::get_if<SubqueryExpr>(&e->node)) {
      target = &sq->offset_ms;
    } else {
      Fail(e->pos,
           "offset modifier must be preceded by an instant vector selector or range vector "
           "selector or a subquery");
      return nullptr;
    }
    if (*target != 0) {
      Fail(e->pos, "offset may not be set multiple times");
      return nullptr;
    }
    *target = offset;
    e->pos.end = last_closing_;
    return e;
  }

  std::shared_ptr<Expr> ParseAt(std::shared_ptr<Expr> e) {
    Next();  // @
    AtKind kind = AtKind::kTimestamp;
    int64_t at_ms = 0;
    Token t = Peek();
    if (t.type == Tok::kStart || t.type == Tok::kEnd) {
      Next();
      if (PeekType() != Tok::kLeftParen) {
        Unexpected(Peek(), "", "");
        return nullptr;
      }
      Next();
      if (PeekType() != Tok::kRightParen) {
        Unexpected(Peek(), "", "");
        return nullptr;
      }
      Next();
      kind = t.type == Tok::kStart ? AtKind::kStart : AtKind::kEnd;
    } else {
      bool negative = false;
      if (t.type == Tok::kSub || t.type == Tok::kAdd) {
        negative = t.type == Tok::kSub;
        Next();
        t = Peek();
      }
      if (t.type != Tok::kNumber && t.type != Tok::kDuration) {
        Unexpected(t, "@", "timestamp");
        return nullptr;
      }
      Next();
      double seconds = 0;
      if (t.type == Tok::kDuration) {  // `@ 100s` reads as seconds since the epoch
        auto d = core::Duration::Parse(t.text);
        if (!d.ok()) {
          Fail(PosRange{t.pos, t.end()}, d.status().message());
          return nullptr;
        }
        seconds = d->seconds();
      } else {
        auto v = ParseGoNumber(t.text);
        if (!v.ok()) {
          Fail(PosRange{t.pos, t.end()}, "error parsing number: " + v.status().message());
          return nullptr;
        }
        seconds = *v;
      }
      const double ts = negative ? -seconds : seconds;
      if (!std::isfinite(ts) || ts >= 9.223372036854775807e18 || ts <= -9.223372036854775808e18 ||
          std::fabs(ts * 1000.0) >= 9.2e18) {
        Fail(e->pos, "timestamp out of bounds for @ modifier: " + FormatFloat(ts));
        return nullptr;
      }
      at_ms = static_cast<int64_t>(std::round(ts * 1000.0));
    }
    AtKind* target_kind = nullptr;
    int64_t* target_ms = nullptr;
    if (auto* vs = std::get_if<VectorSelector>(&e->node)) {
      target_kind = &vs->at, target_ms = &vs->at_ms;
    } else if (auto* ms = std::get_if<MatrixSelector>(&e->node)) {
      target_kind = &ms->selector.at, target_ms = &ms->selector.at_ms;
    } else if (auto* sq = std::get_if<SubqueryExpr>(&e->node)) {
      target_kind = &sq->at, target_ms = &sq->at_ms;
    } else {
      Fail(e->pos,
           "@ modifier must be preceded by an instant vector selector or range vector selector "
           "or a subquery");
      return nullptr;
    }
    if (*target_kind != AtKind::kNone) {
      Fail(e->pos, "@ <timestamp> may not be set multiple times");
      return nullptr;
    }
    *target_kind = kind;
    *target_ms = at_ms;
    e->pos.end = last_closing_;
    return e;
  }

  // ---- calls and aggregations ---------------------------------------------

  // After '(' has been peeked: '(' [expr {',' expr}] ')'.
  bool ParseCallArgs(std::vector<ExprPtr>* args) {
    Next();  // (
    if (PeekType() == Tok::kRightParen) {
      Next();
      return true;
    }
    while (true) {
      ExprPtr arg = ParseBinary(0);
      if (!arg) return false;
      args->push_back(std::move(arg));
      const Token& t = Peek();
      if (t.type == Tok::kComma) {
        const Token comma = Next();
        if (PeekType() == Tok::kRightParen) {
          Fail(PosRange{comma.pos, comma.end()}, "trailing commas not allowed in function call args");
          return false;
        }
        continue;
      }
      if (t.type == Tok::kRightParen) {
        Next();
        return true;
      }
      Unexpected(t, "", "");
      return false;
    }
  }

  std::shared_ptr<Expr> ParseCall() {
    const Token name = Next();
    const FunctionDef* fn = FindFunction(name.text);
    if (!fn) {
      Fail(PosRange{name.pos, name.end()},
           "unknown function with name " + GoQuote(name.text));
      return nullptr;
    }
    if (!fn->supported) {
      Unsupported(PosRange{name.pos, name.end()},
                  "function " + GoQuote(name.text) + " is not implemented");
      return nullptr;
    }
    Call call;
    call.func = fn;
    if (!ParseCallArgs(&call.args)) return nullptr;
    return NewExpr(std::move(call), PosRange{name.pos, last_closing_});
  }

  // '(' label {',' label} [','] ')' with keywords allowed as labels.
  bool ParseGroupingLabels(std::vector<std::string>* out) {
    if (PeekType() != Tok::kLeftParen) {
      Unexpected(Peek(), "grouping opts", "\"(\"");
      return false;
    }
    Next();
    if (PeekType() == Tok::kRightParen) {
      Next();
      return true;
    }
    while (true) {
      const Token& t = Peek();
      if (t.type == Tok::kString) {
        auto s = Unquote(t.text);
        if (!s.ok()) {
          Fail(PosRange{t.pos, t.end()},
               "error unquoting string " + GoQuote(t.text) + ": " + s.status().message());
          return false;
        }
        out->push_back(std::move(*s));
        Next();
      } else if (IsMaybeLabel(t.type) && IsLegacyLabelName(t.text)) {
        out->emplace_back(t.text);
        Next();
      } else {
        Unexpected(t, "grouping opts", "label");
        return false;
      }
      const Token& after = Peek();
      if (after.type == Tok::kComma) {
        Next();
        if (PeekType() == Tok::kRightParen) {
          Next();
          return true;
        }
        continue;
      }
      if (after.type == Tok::kRightParen) {
        Next();
        return true;
      }
      Unexpected(after, "grouping opts", "\",\" or \")\"");
      return false;
    }
  }

  std::shared_ptr<Expr> ParseAggregate(AggOp op) {
    const Token op_tok = Next();
    AggregateExpr agg;
    agg.op = op;
    bool modifier = false;
    auto parse_modifier = [&]() -> bool {
      const Tok t = PeekType();
      if (t != Tok::kBy && t != Tok::kWithout) return true;
      Next();
      agg.without = t == Tok::kWithout;
      modifier = true;
      return ParseGroupingLabels(&agg.grouping);
    };
    if (!parse_modifier()) return nullptr;
    if (PeekType() != Tok::kLeftParen) {
      Unexpected(Peek(), "aggregation", "");
      return nullptr;
    }
    std::vector<ExprPtr> args;
    if (!ParseCallArgs(&args)) return nullptr;
    if (!modifier && !parse_modifier()) return nullptr;
    const PosRange pos{op_tok.pos, last_closing_};
    if (op == AggOp::kLimitk || op == AggOp::kLimitRatio) {
      Unsupported(PosRange{op_tok.pos, op_tok.end()},
                  "aggregation " + std::string(AggOpString(op)) + "()");
      return nullptr;
    }
    if (args.empty()) {
      Fail(pos, "no arguments for aggregate expression provided");
      return nullptr;
    }
    const size_t want = AggTakesParam(op) ? 2 : 1;
    if (args.size() != want) {
      Fail(pos, "wrong number of arguments for aggregate expression provided, expected " +
                    std::to_string(want) + ", got " + std::to_string(args.size()));
      return nullptr;
    }
    if (want == 2) agg.param = args[0];
    agg.expr = args[want - 1];
    return NewExpr(std::move(agg), pos);
  }

  // ---- type checks (Prometheus's checkAST, same order) -----------------------

  PosRange OperatorRange(const Expr& bin) {
    const auto& b = *bin.as<BinaryExpr>();
    PosRange r;
    r.start = b.lhs->pos.end;
    while (static_cast<size_t>(r.start) < source_->size() &&
           std::string_view(" \t\n\r").find((*source_)[r.start]) != std::string_view::npos) {
      ++r.start;
    }
    r.end = b.rhs->pos.start - 1;
    while (r.end > 0 &&
           std::string_view(" \t\n\r").find((*source_)[r.end]) != std::string_view::npos) {
      --r.end;
    }
    return r;
  }

  void ExpectType(const ExprPtr& e, ValueType want, std::string_view context) {
    const ValueType t = CheckAST(e);
    if (t != want) {
      Check(e->pos, "expected type " + std::string(DocumentedType(want)) + " in " +
                        std::string(context) + ", got " + std::string(DocumentedType(t)));
    }
  }

  ValueType CheckAST(const ExprPtr& e) {
    if (!e) return ValueType::kNone;
    Expr* m = Mutable(e);
    if (auto* agg = std::get_if<AggregateExpr>(&m->node)) {
      ExpectType(agg->expr, ValueType::kVector, "aggregation expression");
      if (agg->op == AggOp::kTopk || agg->op == AggOp::kBottomk || agg->op == AggOp::kQuantile) {
        ExpectType(agg->param, ValueType::kScalar, "aggregation parameter");
      }
      if (agg->op == AggOp::kCountValues) {
        ExpectType(agg->param, ValueType::kString, "aggregation parameter");
      }
    } else if (auto* bin = std::get_if<BinaryExpr>(&m->node)) {
      const ValueType lt = CheckAST(bin->lhs);
      const ValueType rt = CheckAST(bin->rhs);
      if (bin->return_bool && !IsComparison(bin->op)) {
        Check(OperatorRange(*m), "bool modifier can only be used on comparison operators");
      }
      if (IsComparison(bin->op) && !bin->return_bool && lt == ValueType::kScalar &&
          rt == ValueType::kScalar) {
        Check(OperatorRange(*m), "comparisons between scalars must use BOOL modifier");
      }
      if (IsSetOperator(bin->op) && bin->matching.card == VectorMatching::Card::kOneToOne) {
        bin->matching.card = VectorMatching::Card::kManyToMany;
      }
      for (const auto& l1 : bin->matching.matching_labels) {
        for (const auto& l2 : bin->matching.include) {
          if (l1 == l2 && bin->matching.on) {
            Check(OperatorRange(*m),
                  "label " + GoQuote(l1) + " must not occur in ON and GROUP clause at once");
          }
        }
      }
      if (lt != ValueType::kScalar && lt != ValueType::kVector) {
        Check(bin->lhs->pos, "binary expression must contain only scalar and instant vector types");
      }
      if (rt != ValueType::kScalar && rt != ValueType::kVector) {
        Check(bin->rhs->pos, "binary expression must contain only scalar and instant vector types");
      }
      if (lt != ValueType::kVector || rt != ValueType::kVector) {
        if (!bin->matching.matching_labels.empty()) {
          Check(m->pos, "vector matching only allowed between instant vectors");
        }
        bin->matching = VectorMatching{};  // no matching between a scalar and anything
      } else if (IsSetOperator(bin->op)) {
        if (bin->matching.card == VectorMatching::Card::kOneToMany ||
            bin->matching.card == VectorMatching::Card::kManyToOne) {
          Check(m->pos, "no grouping allowed for " + GoQuote(BinOpString(bin->op)) + " operation");
        }
        if (bin->matching.card != VectorMatching::Card::kManyToMany) {
          Check(m->pos, "set operations must always be many-to-many");
        }
      }
      if ((lt == ValueType::kScalar || rt == ValueType::kScalar) && IsSetOperator(bin->op)) {
        Check(m->pos, "set operator " + GoQuote(BinOpString(bin->op)) +
                          " not allowed in binary scalar expression");
      }
    } else if (auto* call = std::get_if<Call>(&m->node)) {
      const FunctionDef& f = *call->func;
      const size_t nargs = f.arg_types.size();
      const size_t got = call->args.size();
      const std::string name = GoQuote(f.name);
      if (f.variadic == 0) {
        if (nargs != got) {
          Check(m->pos, "expected " + std::to_string(nargs) + " argument(s) in call to " + name +
                            ", got " + std::to_string(got));
        }
      } else {
        const size_t na = nargs - 1;
        if (na > got) {
          Check(m->pos, "expected at least " + std::to_string(na) + " argument(s) in call to " +
                            name + ", got " + std::to_string(got));
        } else if (f.variadic > 0 && na + static_cast<size_t>(f.variadic) < got) {
          Check(m->pos, "expected at most " + std::to_string(na + f.variadic) +
                            " argument(s) in call to " + name + ", got " + std::to_string(got));
        }
      }
      for (size_t i = 0; i < got; ++i) {
        size_t ti = i;
        if (i >= nargs) {
          if (f.variadic == 0) break;
          ti = nargs - 1;
        }
        const ValueType t = CheckAST(call->args[i]);
        if (t != f.arg_types[ti]) {
          Check(call->args[i]->pos, "expected type " + std::string(DocumentedType(f.arg_types[ti])) +
                                        " in call to function " + name + ", got " +
                                        std::string(DocumentedType(t)));
        }
      }
    } else if (auto* paren = std::get_if<ParenExpr>(&m->node)) {
      CheckAST(paren->expr);
    } else if (auto* unary = std::get_if<UnaryExpr>(&m->node)) {
      const ValueType t = CheckAST(unary->expr);
      if (t != ValueType::kScalar && t != ValueType::kVector) {
        Check(m->pos, "unary expression only allowed on expressions of type scalar or instant "
                      "vector, got " + GoQuote(DocumentedType(t)));
      }
    } else if (auto* sq = std::get_if<SubqueryExpr>(&m->node)) {
      const ValueType t = CheckAST(sq->expr);
      if (t != ValueType::kVector) {
        Check(m->pos, "subquery is only allowed on instant vector, got " +
                          std::string(RawTypeName(t)) + " instead");
      }
    } else if (auto* ms = std::get_if<MatrixSelector>(&m->node)) {
      CheckSelector(ms->selector, ms->selector_pos);
    } else if (auto* vs = std::get_if<VectorSelector>(&m->node)) {
      CheckSelector(*vs, m->pos);
    }
    return e->type();
  }

  void CheckSelector(const VectorSelector& vs, PosRange pos) {
    if (!vs.name.empty()) {
      for (size_t i = 0; i + 1 < vs.matchers.size(); ++i) {
        if (vs.matchers[i].name() == "__name__") {
          Check(pos, "metric name must not be set twice: " + GoQuote(vs.name) + " or " +
                         GoQuote(vs.matchers[i].value()));
        }
      }
      return;  // an explicit name is a non-empty matcher
    }
    for (const auto& m : vs.matchers) {
      if (!m.Matches("")) return;
    }
    Check(pos, "vector selector must contain at least one non-empty matcher");
  }

  std::shared_ptr<const std::string> source_;
  Lexer lexer_;
  std::deque<Token> lookahead_;
  int32_t last_closing_ = 0;
  int depth_ = 0;
  bool closed_ = false;
  std::optional<Error> error_;        // syntax and construction errors: stop parsing
  std::optional<Error> check_error_;  // type errors: reported only without the above
};

}  // namespace

core::Result<ExprPtr> ParseExpr(std::string_view input) {
  Parser p(input);
  return p.Run();
}

}  // namespace amas::promql
