#include "promql/lexer.h"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

namespace amas::promql {
namespace {

// "type:text" of every token up to and including EOF or an error.
std::vector<std::string> Lex(std::string_view input) {
  Lexer lexer(input);
  std::vector<std::string> out;
  while (true) {
    const Token t = lexer.Next();
    if (t.type == Tok::kError) {
      out.push_back("ERR@" + std::to_string(t.pos) + ":" + t.message);
      break;
    }
    if (t.type == Tok::kEOF) break;
    out.push_back(std::string(t.text));
  }
  return out;
}

Tok FirstType(std::string_view input) {
  Lexer lexer(input);
  return lexer.Next().type;
}

TEST_CASE("lexer splits operators, selectors and durations") {
  CHECK(Lex("rate(http_requests_total{job=~\"api.*\"}[5m]) > 0.5") ==
        std::vector<std::string>{"rate", "(", "http_requests_total", "{", "job", "=~",
                                 "\"api.*\"", "}", "[", "5m", "]", ")", ">", "0.5"});
  CHECK(Lex("a==b != c <= d >= e < f") ==
        std::vector<std::string>{"a", "==", "b", "!=", "c", "<=", "d", ">=", "e", "<", "f"});
  CHECK(Lex("foo[5m:1m] offset -1h30m @ 100") ==
        std::vector<std::string>{"foo", "[", "5m", ":", "1m", "]", "offset", "-", "1h30m", "@",
                                 "100"});
  CHECK(Lex("x # a comment\n+ 1") == std::vector<std::string>{"x", "# a comment", "+", "1"});
}

TEST_CASE("lexer types keywords, numbers and identifiers") {
  CHECK(FirstType("sum") == Tok::kSum);
  CHECK(FirstType("SUM") == Tok::kSum);
  CHECK(FirstType("by") == Tok::kBy);
  CHECK(FirstType("Inf") == Tok::kNumber);
  CHECK(FirstType("nan") == Tok::kNumber);
  CHECK(FirstType("0x1F") == Tok::kNumber);
  CHECK(FirstType("1e-3") == Tok::kNumber);
  CHECK(FirstType("1_000") == Tok::kNumber);
  CHECK(FirstType("5m") == Tok::kDuration);
  CHECK(FirstType("1h30m") == Tok::kDuration);
  CHECK(FirstType("foo:bar") == Tok::kMetricIdentifier);
  CHECK(FirstType("fill") == Tok::kIdentifier);  // a keyword only before '('
  CHECK(FirstType("fill(") == Tok::kFill);
  // Inside braces keywords are plain label names.
  Lexer lexer("{by=\"x\"}");
  lexer.Next();
  CHECK(lexer.Next().type == Tok::kIdentifier);
}

TEST_CASE("lexer strings honour Go escapes and quote styles") {
  CHECK(Lex(R"("a\"b")") == std::vector<std::string>{R"("a\"b")"});
  CHECK(Lex(R"('it''s')") == std::vector<std::string>{"'it'", "'s'"});
  CHECK(Lex("`raw\\n`") == std::vector<std::string>{"`raw\\n`"});
  CHECK(Lex(R"("\u00e9\x41\101")") == std::vector<std::string>{R"("\u00e9\x41\101")"});
}

TEST_CASE("lexer errors read and sit like Prometheus's") {
  CHECK(Lex("1 !~ 1").back() == "ERR@2:unexpected character after '!': '~'");
  CHECK(Lex("1 =~ 1").back() == "ERR@2:unexpected character after '=': '~'");
  CHECK(Lex(".").back() == "ERR@0:unexpected character: '.'");
  CHECK(Lex("2.5.").back() == "ERR@0:bad number or duration syntax: \"2.5.\"");
  CHECK(Lex("0deadbeef").back() == "ERR@0:bad number or duration syntax: \"0de\"");
  CHECK(Lex("(1))").back() == "ERR@4:unexpected right parenthesis ')'");
  CHECK(Lex("((1)").back() == "ERR@4:unclosed left parenthesis");
  CHECK(Lex("foo[5m").back() == "ERR@6:unclosed left bracket");
  CHECK(Lex("{a=\"b\"").back() == "ERR@6:unexpected end of input inside braces");
  CHECK(Lex("\"abc").back() == "ERR@0:unterminated quoted string");
  CHECK(Lex("`abc").back() == "ERR@0:unterminated raw string");
  CHECK(Lex(R"("\q")").back() == "ERR@0:unknown escape sequence U+0071 'q'");
  CHECK(Lex("{a!b}").back() == "ERR@2:unexpected character after '!' inside braces: 'b'");
  CHECK(Lex("]").back() == "ERR@0:unexpected right bracket ']'");
}

TEST_CASE("token descriptions match Prometheus's Item.desc") {
  Lexer lexer("* sum by foo \"s\" 1 5m ,");
  CHECK(lexer.Next().Describe() == "<op:*>");
  CHECK(lexer.Next().Describe() == "<aggr:sum>");
  CHECK(lexer.Next().Describe() == "<by>");
  CHECK(lexer.Next().Describe() == "identifier \"foo\"");
  CHECK(lexer.Next().Describe() == "string \"\\\"s\\\"\"");
  CHECK(lexer.Next().Describe() == "number \"1\"");
  CHECK(lexer.Next().Describe() == "duration \"5m\"");
  CHECK(lexer.Next().Describe() == "\",\"");
  CHECK(lexer.Next().Describe() == "end of input");
}

}  // namespace
}  // namespace amas::promql
