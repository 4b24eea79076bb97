// The runner as data: every testdata/NAME.yml is run and must print exactly
// testdata/NAME.out (paths shown relative to testdata/). Passing fixtures
// prove the checks pass when they should; failing ones pin every message.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <sstream>

#include "app/ruletest.h"
#include "testing/testing.h"

namespace fs = std::filesystem;

namespace {
const std::string kTestdata = std::string(AMAS_SOURCE_DIR) + "/test/ruletest/testdata";

std::string Relative(std::string text) {
  const std::string prefix = kTestdata + "/";
  for (size_t at; (at = text.find(prefix)) != std::string::npos;) text.erase(at, prefix.size());
  return text;
}
}  // namespace

TEST_CASE("ruletest: every fixture prints its golden output") {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(kTestdata)) {
    if (e.path().extension() == ".yml" &&
        fs::exists(fs::path(e.path()).replace_extension(".out"))) {
      names.push_back(e.path().stem().string());
    }
  }
  std::sort(names.begin(), names.end());
  REQUIRE(names.size() >= 5);
  for (const std::string& name : names) {
    INFO(name);
    std::ostringstream out;
    const amas::app::RuleTestCounts counts =
        amas::app::RunRuleTests({kTestdata + "/" + name + ".yml"}, out);
    const std::string want = amas::testing::ReadFile(kTestdata + "/" + name + ".out");
    CHECK(Relative(out.str()) == want);
    CHECK(counts.passed + counts.failed > 0);
  }
}

TEST_CASE("ruletest: a file that cannot be read is one failure") {
  std::ostringstream out;
  const amas::app::RuleTestCounts counts =
      amas::app::RunRuleTests({kTestdata + "/no-such-file.yml"}, out);
  CHECK(counts.passed == 0);
  CHECK(counts.failed == 1);
  CHECK(Relative(out.str()) == "no-such-file.yml: cannot open file\n0 passed, 1 failed\n");
}

TEST_CASE("ruletest: VerdictFromVote maps a vote as the service does") {
  using amas::rules::OnMissing;
  using amas::rules::Rule;
  using amas::rules::ScaleVote;
  Rule rule;
  rule.kind = Rule::Kind::kScale;
  rule.name = "cpu";
  rule.step = amas::rules::Step{amas::rules::Step::Type::kPercent, 50};
  rule.on_missing = OnMissing{OnMissing::Kind::kScaleTo, 7};
  ScaleVote vote;
  vote.kind = ScaleVote::Kind::kUp;
  vote.value = 0.8;

  amas::decide::Verdict v = amas::app::VerdictFromVote(rule, vote);
  CHECK(v.rule == "cpu");
  CHECK(v.vote == amas::decide::Vote::kUp);
  REQUIRE(v.value.has_value());
  CHECK(*v.value == 0.8);
  REQUIRE(v.step.has_value());
  CHECK(v.step->type == amas::decide::PolicyType::kPercent);
  CHECK(v.step->value == 50);
  CHECK(v.on_missing == amas::decide::OnMissing::kScaleTo);
  CHECK(v.scale_to == 7);

  vote.kind = ScaleVote::Kind::kDown;
  CHECK(amas::app::VerdictFromVote(rule, vote).vote == amas::decide::Vote::kDown);
  vote.kind = ScaleVote::Kind::kHold;
  CHECK(amas::app::VerdictFromVote(rule, vote).vote == amas::decide::Vote::kHold);

  // No data: no value at all (never a 0), so decide applies on_missing.
  vote.kind = ScaleVote::Kind::kNoData;
  v = amas::app::VerdictFromVote(rule, vote);
  CHECK_FALSE(v.value.has_value());
  CHECK(v.vote == amas::decide::Vote::kHold);

  // A proportional rule passes its target through and votes nothing itself.
  Rule prop;
  prop.name = "queue";
  prop.target_average_value = 5;
  vote.kind = ScaleVote::Kind::kProportional;
  vote.value = 70;
  v = amas::app::VerdictFromVote(prop, vote);
  CHECK(v.vote == amas::decide::Vote::kHold);
  REQUIRE(v.target_average_value.has_value());
  CHECK(*v.target_average_value == 5);
  CHECK_FALSE(v.target_value.has_value());
  CHECK(v.on_missing == amas::decide::OnMissing::kBlockScaleDown);
}
