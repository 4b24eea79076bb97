// Rule-file fixtures as data: every testdata/good/*.yml must load; every
// testdata/bad/*.yml must fail with the message on its first line
// ("# error: <message>").
#include <catch2/catch.hpp>

#include <filesystem>

#include "rules/rules.h"
#include "testing/testing.h"

namespace fs = std::filesystem;
using amas::rules::ParseRuleFile;
using amas::rules::Rule;

namespace {
const std::string kTestdata = std::string(AMAS_SOURCE_DIR) + "/test/rules/testdata";

std::vector<std::string> Fixtures(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(kTestdata + "/" + dir)) {
    out.push_back(dir + "/" + e.path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}
}  // namespace

TEST_CASE("rules load: every bad fixture fails with its stated file:line:col message") {
  const auto files = Fixtures("bad");
  REQUIRE(files.size() >= 10);
  for (const std::string& name : files) {
    const std::string content = amas::testing::ReadFile(kTestdata + "/" + name);
    const std::string first = content.substr(0, content.find('\n'));
    REQUIRE(first.rfind("# error: ", 0) == 0);
    const std::string expected = first.substr(9);
    auto set = ParseRuleFile(content, name);
    INFO(name);
    REQUIRE_FALSE(set.ok());
    CHECK(set.status().message() == expected);
  }
}

TEST_CASE("rules load: good fixtures load with every field") {
  for (const std::string& name : Fixtures("good")) {
    INFO(name);
    auto set = ParseRuleFile(amas::testing::ReadFile(kTestdata + "/" + name), name);
    REQUIRE(set.ok());
  }
  auto set = ParseRuleFile(amas::testing::ReadFile(kTestdata + "/good/scale_rules.yml"),
                           "good/scale_rules.yml");
  REQUIRE(set.ok());
  REQUIRE(set->groups.size() == 1);
  const auto& g = set->groups[0];
  CHECK(g.interval.millis() == 15'000);
  REQUIRE(g.rules.size() == 3);
  const Rule& cpu = g.rules[0];
  CHECK(cpu.kind == Rule::Kind::kScale);
  CHECK(cpu.target == "backend");
  REQUIRE(cpu.scale_up);
  CHECK(cpu.scale_up->value == 0.70);
  CHECK(cpu.scale_up->hold.millis() == 300'000);
  CHECK(cpu.scale_down->hold.millis() == 600'000);
  CHECK(cpu.on_missing.kind == amas::rules::OnMissing::Kind::kBlockScaleDown);
  CHECK(cpu.expr != nullptr);
  const Rule& p95 = g.rules[1];
  REQUIRE(p95.step);
  CHECK(p95.step->type == amas::rules::Step::Type::kPercent);
  CHECK(p95.step->value == 50);
  CHECK(p95.on_missing.kind == amas::rules::OnMissing::Kind::kHold);
  const Rule& queue = g.rules[2];
  CHECK(*queue.target_value == 10);
  CHECK(queue.on_missing.kind == amas::rules::OnMissing::Kind::kScaleTo);
  CHECK(queue.on_missing.scale_to == 10);
}

TEST_CASE("rules load: a bad expression names the rule's position and the parse error") {
  auto set = ParseRuleFile("groups:\n- name: g\n  rules:\n  - record: a\n    expr: sum(\n", "x.yml");
  REQUIRE_FALSE(set.ok());
  CHECK(set.status().message().rfind("x.yml:4:5: groups[0].rules[0]: could not parse expression: ",
                                     0) == 0);
}

TEST_CASE("rules load: remote groups keep expressions as text") {
  auto set = ParseRuleFile(
      "groups:\n- name: g\n  datasource: thanos\n  rules:\n  - record: a\n    expr: "
      "whatever_we_do_not_parse(x)\n",
      "x.yml");
  REQUIRE(set.ok());
  CHECK(set->groups[0].rules[0].expr == nullptr);
  CHECK(set->groups[0].rules[0].expr_text == "whatever_we_do_not_parse(x)");
}

TEST_CASE("rules load: a missing file is NotFound, an empty file has no groups") {
  CHECK(amas::rules::LoadFile("/nonexistent/rules.yml").status().IsNotFound());
  auto empty = ParseRuleFile("", "empty.yml");
  REQUIRE(empty.ok());
  CHECK(empty->groups.empty());
}
