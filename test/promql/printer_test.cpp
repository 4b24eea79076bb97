#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "promql/parser.h"
#include "testing/testing.h"
#include "corpus.h"

namespace amas::promql {
namespace {

using testing::Dump;

void CheckRoundTrip(const std::string& input) {
  INFO(input);
  auto e = ParseExpr(input);
  REQUIRE(e.ok());
  const std::string printed = Print(**e);
  INFO(printed);
  auto again = ParseExpr(printed);
  REQUIRE(again.ok());
  CHECK(Dump(**again) == Dump(**e));
  CHECK(Print(**again) == printed);
}

TEST_CASE("Print writes Prometheus's canonical forms") {
  auto p = [](std::string_view in) { return Print(**ParseExpr(in)); };
  CHECK(p("sum(foo) by (job)") == "sum by (job) (foo)");
  CHECK(p("foo{b=\"2\", a=~\"1\"}") == "foo{a=~\"1\",b=\"2\"}");
  CHECK(p("foo[90s] offset 1h30m") == "foo[1m30s] offset 1h30m");
  CHECK(p("foo @ 100 offset -5m") == "foo @ 100.000 offset -5m");
  CHECK(p("rate(foo[5m])[30m:]") == "rate(foo[5m])[30m:]");
  CHECK(p("a / on(x) group_left b") == "a / on (x) group_left () b");
  CHECK(p("a and b") == "a and b");
  CHECK(p("1 < bool 2") == "1 < bool 2");
  CHECK(p("'it\\'s'") == "\"it's\"");
  CHECK(p("1e3") == "1000");
  CHECK(p("-Inf") == "-Inf");
  CHECK(p("count_values(\"v\", x)") == "count_values(\"v\", x)");
  CHECK(p("{__name__=\"foo\"}") == "{__name__=\"foo\"}");
  CHECK(p("foo @ start()") == "foo @ start()");
}

TEST_CASE("Parse(Print(e)) rebuilds e for the corpus") {
  for (const auto& q : testing::Corpus()) CheckRoundTrip(q);
}

TEST_CASE("Parse(Print(e)) rebuilds e for every upstream promqltest expression") {
  const std::string dir = amas::testing::SharedPath("conformance/promql/upstream");
  if (dir.empty()) return;  // ../shared absent: the corpus above still runs
  int checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".test") continue;
    std::istringstream in(amas::testing::ReadFile(entry.path().string()));
    std::string line;
    while (std::getline(in, line)) {
      const size_t p = line.find("eval");
      if (p != 0) continue;
      // The expression follows "at <t> " or "step <s> ".
      size_t start = std::string::npos;
      if (line.find(" instant ") != std::string::npos) {
        const size_t at = line.find(" at ");
        if (at == std::string::npos) continue;
        start = line.find(' ', at + 4);
      } else {
        const size_t step = line.find(" step ");
        if (step == std::string::npos) continue;
        start = line.find(' ', step + 6);
      }
      if (start == std::string::npos) continue;
      const std::string expr = line.substr(start + 1);
      auto e = ParseExpr(expr);
      if (!e.ok()) continue;  // Unimplemented syntax
      CheckRoundTrip(expr);
      ++checked;
    }
  }
  CHECK(checked > 1000);
}

}  // namespace
}  // namespace amas::promql
