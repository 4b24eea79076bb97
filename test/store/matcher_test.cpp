// Matchers as Prometheus defines them: regexes fully anchored, "" matching
// absent labels, errors naming the regex, printing as PromQL prints.
#include <catch2/catch.hpp>

#include <re2/re2.h>

#include <string>
#include <vector>

#include "store/pattern.h"
#include "store/store.h"

using amas::store::Matcher;
using Type = amas::store::Matcher::Type;

namespace {

Matcher Make(Type type, std::string value) {
  auto m = Matcher::Make(type, "l", std::move(value));
  REQUIRE(m.ok());
  return std::move(m).value();
}

}  // namespace

TEST_CASE("Matcher: every type against values with full anchoring") {
  struct Case {
    Type type;
    std::string value;
    std::string input;
    bool want;
  };
  const std::vector<Case> cases = {
      {Type::kEqual, "a", "a", true},
      {Type::kEqual, "a", "ab", false},
      {Type::kEqual, "a", "", false},
      {Type::kEqual, "", "", true},
      {Type::kNotEqual, "a", "a", false},
      {Type::kNotEqual, "a", "b", true},
      {Type::kNotEqual, "a", "", true},
      {Type::kRegexMatch, "a", "a", true},
      {Type::kRegexMatch, "a", "ab", false},  // anchored at the end
      {Type::kRegexMatch, "a", "ba", false},  // and at the start
      {Type::kRegexMatch, "b", "abc", false},
      {Type::kRegexMatch, "a|b|c", "b", true},
      {Type::kRegexMatch, "a|b|c", "ab", false},
      {Type::kRegexMatch, "a|b|c", "", false},
      {Type::kRegexMatch, "a|", "", true},
      {Type::kRegexMatch, "5..", "500", true},
      {Type::kRegexMatch, "5..", "503", true},
      {Type::kRegexMatch, "5..", "50", false},
      {Type::kRegexMatch, "5..", "5000", false},
      {Type::kRegexMatch, "5..", "404", false},
      {Type::kRegexMatch, "foo.*", "foo", true},
      {Type::kRegexMatch, "foo.*", "foobar", true},
      {Type::kRegexMatch, "foo.*", "xfoo", false},
      {Type::kRegexMatch, "foo.*", "foo\nbar", false},  // "." never matches "\n"
      {Type::kRegexMatch, "foo.+", "foo", false},
      {Type::kRegexMatch, ".*bar", "foobar", true},
      {Type::kRegexMatch, ".*o.*", "foo", true},
      {Type::kRegexMatch, ".*", "", true},
      {Type::kRegexMatch, ".*", "anything", true},
      {Type::kRegexMatch, ".+", "", false},
      {Type::kRegexMatch, ".+", "x", true},
      {Type::kRegexMatch, "a.c",
       "a\xc3\xa9"
       "c",
       true},  // one UTF-8 character
      {Type::kRegexMatch, "a..c",
       "a\xc3\xa9"
       "c",
       false},
      {Type::kRegexMatch, "/api/v1/.*", "/api/v1/users", true},
      {Type::kRegexMatch, "a\\.b", "a.b", true},
      {Type::kRegexMatch, "a\\.b", "axb", false},
      {Type::kRegexMatch, "ab*", "abbb", true},
      {Type::kRegexMatch, "ab*", "abab", false},
      {Type::kRegexMatch, "(a|b)c", "bc", true},
      {Type::kRegexMatch, "[0-9]+", "123", true},
      {Type::kRegexMatch, "[0-9]+", "12a", false},
      {Type::kRegexMatch, "(?i)get", "GET", true},
      {Type::kRegexMatch, "", "", true},
      {Type::kRegexMatch, "", "a", false},
      {Type::kRegexNoMatch, "a", "a", false},
      {Type::kRegexNoMatch, "a", "ab", true},
      {Type::kRegexNoMatch, "a", "", true},
      {Type::kRegexNoMatch, ".+", "", true},
      {Type::kRegexNoMatch, ".*", "", false},
      {Type::kRegexNoMatch, "2..|3..", "200", false},
      {Type::kRegexNoMatch, "2..|3..", "500", true},
  };
  for (const Case& c : cases) {
    INFO("l" << Make(c.type, c.value).ToString().substr(1) << " on \"" << c.input << "\"");
    CHECK(Make(c.type, c.value).Matches(c.input) == c.want);
  }
}

TEST_CASE("Matcher: matches_empty decides who also matches absent labels") {
  struct Case {
    Type type;
    std::string value;
    bool matches_empty;
  };
  const std::vector<Case> cases = {
      {Type::kEqual, "", true},           {Type::kEqual, "x", false},
      {Type::kNotEqual, "", false},       {Type::kNotEqual, "x", true},
      {Type::kRegexMatch, ".*", true},    {Type::kRegexMatch, ".+", false},
      {Type::kRegexMatch, "x|", true},    {Type::kRegexMatch, "x", false},
      {Type::kRegexNoMatch, ".*", false}, {Type::kRegexNoMatch, "x", true},
      {Type::kRegexNoMatch, ".+", true},  {Type::kRegexMatch, "(x)?", true},
  };
  for (const Case& c : cases) {
    INFO(Make(c.type, c.value).ToString());
    CHECK(Make(c.type, c.value).matches_empty() == c.matches_empty);
  }
}

TEST_CASE("Matcher: a bad regex is InvalidArgument naming it") {
  for (const char* bad : {"(", "a)", "[a-", "*", "a{1001}", "\\"}) {
    auto m = Matcher::Make(Type::kRegexMatch, "job", bad);
    INFO(bad);
    REQUIRE_FALSE(m.ok());
    CHECK(m.status().IsInvalidArgument());
    CHECK_THAT(m.status().message(), Catch::Contains(std::string("\"") + bad + "\""));
  }
  CHECK_FALSE(Matcher::Make(Type::kRegexNoMatch, "job", "(").ok());
  CHECK(Matcher::Make(Type::kEqual, "job", "(").ok());  // not a regex
}

TEST_CASE("Matcher: prints as PromQL with the value quoted like Go's strconv.Quote") {
  CHECK(Make(Type::kEqual, "a").ToString() == "l=\"a\"");
  CHECK(Make(Type::kNotEqual, "a").ToString() == "l!=\"a\"");
  CHECK(Make(Type::kRegexMatch, "a.*").ToString() == "l=~\"a.*\"");
  CHECK(Make(Type::kRegexNoMatch, "5..").ToString() == "l!~\"5..\"");
  CHECK(Make(Type::kEqual, "q\"\\\n\t").ToString() == "l=\"q\\\"\\\\\\n\\t\"");
  CHECK(Make(Type::kRegexMatch, "a\\.b").ToString() == "l=~\"a\\\\.b\"");
  CHECK(Make(Type::kEqual, "\xc3\xa9\x01").ToString() == "l=\"\xc3\xa9\\x01\"");
}

TEST_CASE("Pattern: fast paths agree with RE2 on every probe") {
  const std::vector<std::string> patterns = {
      "a",     "a|b|c", "5..",      "foo.*",   ".*foo",     ".*o.*",    ".+",
      ".*",    "a.+b",  "",         "a|",      "x.y.z",     "GET|POST", "/api/v1/.*",
      "a\\.b", "a\\|b", ".*a.*b.*", "a.*a.*a", "\xc3\xa9.", ".",
  };
  const std::vector<std::string> probes = {
      "",
      "a",
      "b",
      "ab",
      "abc",
      "500",
      "5000",
      "50",
      "foo",
      "foobar",
      "xfoo",
      "foo\n",
      "\n",
      "a.b",
      "a|b",
      "axb",
      "a\nb",
      "x.y.z",
      "xayaz",
      "GET",
      "POST",
      "PUT",
      "/api/v1/",
      "/api/v1/x",
      "aab",
      "aaa",
      "a\xc3\xa9"
      "b",
      "\xc3\xa9",
      "\xc3\xa9x",
      "\xff",
      "a\xff"
      "b",
  };
  re2::RE2::Options options;
  options.set_log_errors(false);
  for (const std::string& p : patterns) {
    auto compiled = amas::store::internal::Pattern::Compile(p);
    REQUIRE(compiled.ok());
    re2::RE2 re("^(?:" + p + ")$", options);
    REQUIRE(re.ok());
    for (const std::string& s : probes) {
      INFO("pattern \"" << p << "\" on \"" << s << "\"");
      CHECK((*compiled)->Matches(s) == re2::RE2::FullMatch(s, re));
    }
  }
}

TEST_CASE("Pattern: literal alternations expose their strings") {
  auto set = amas::store::internal::Pattern::Compile("b|a|b|c\\.d");
  REQUIRE(set.ok());
  REQUIRE((*set)->literals() != nullptr);
  CHECK(*(*set)->literals() == std::vector<std::string>{"a", "b", "c.d"});
  CHECK_FALSE((*set)->needs_re2());
  auto glob = amas::store::internal::Pattern::Compile("a.*");
  CHECK((*glob)->literals() == nullptr);
  CHECK_FALSE((*glob)->needs_re2());
  auto re = amas::store::internal::Pattern::Compile("[ab]+");
  CHECK((*re)->literals() == nullptr);
  CHECK((*re)->needs_re2());
}
