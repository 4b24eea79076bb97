// Config validation: HPA API rules, each error naming the offending field.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "decide/decide.h"

using namespace amas::decide;  // NOLINT: test-local
using amas::core::Duration;

namespace {

Target Valid() {
  Target t;
  t.name = "backend";
  t.min_replicas = 3;
  t.max_replicas = 20;
  Behavior b;
  b.scale_up = ScalingRules{
      60, SelectPolicy::kMax, std::vector<ScalingPolicy>{{PolicyType::kPercent, 50, 60}}, {}};
  b.scale_down = ScalingRules{300, SelectPolicy::kMax,
                              std::vector<ScalingPolicy>{{PolicyType::kPercent, 10, 60}}, 0.2};
  t.behavior = b;
  return t;
}

std::string Error(const Target& t) {
  const amas::core::Status s = ValidateTarget(t);
  if (s.ok()) return "";
  CHECK(s.IsInvalidArgument());
  return s.message();
}

}  // namespace

TEST_CASE("validate: the AMAS backend target is valid, so is a minimal one") {
  CHECK(ValidateTarget(Valid()).ok());
  Target minimal;
  minimal.name = "x";
  CHECK(ValidateTarget(minimal).ok());
  Target empty_behavior = minimal;
  empty_behavior.behavior = Behavior{};  // every field defaulted
  CHECK(ValidateTarget(empty_behavior).ok());
}

TEST_CASE("validate: table of bad targets and the field each error names") {
  struct Case {
    const char* what;
    void (*mutate)(Target&);
    const char* error;
  };
  const Case cases[] = {
      {"empty name", [](Target& t) { t.name.clear(); }, "name: must not be empty"},
      {"min 0 without opt-in", [](Target& t) { t.min_replicas = 0; },
       "min_replicas: must be at least 1 (0 needs scale_to_zero: true), got 0"},
      {"negative min", [](Target& t) { t.min_replicas = -1; },
       "min_replicas: must be >= 0, got -1"},
      {"max 0",
       [](Target& t) {
         t.min_replicas = 1;
         t.max_replicas = 0;
       },
       "max_replicas: must be at least 1, got 0"},
      {"min above max", [](Target& t) { t.max_replicas = 2; },
       "max_replicas: must be greater than or equal to min_replicas (3), got 2"},
      {"window above 3600",
       [](Target& t) { t.behavior->scale_up->stabilization_window_seconds = 3601; },
       "behavior.scaleUp.stabilizationWindowSeconds: must be in [0, 3600], got 3601"},
      {"negative window",
       [](Target& t) { t.behavior->scale_down->stabilization_window_seconds = -1; },
       "behavior.scaleDown.stabilizationWindowSeconds: must be in [0, 3600], got -1"},
      {"no policies", [](Target& t) { t.behavior->scale_down->policies->clear(); },
       "behavior.scaleDown.policies: must specify at least one policy"},
      {"policy value 0", [](Target& t) { (*t.behavior->scale_up->policies)[0].value = 0; },
       "behavior.scaleUp.policies[0].value: must be greater than 0, got 0"},
      {"period 0",
       [](Target& t) {
         t.behavior->scale_up->policies->push_back({PolicyType::kPods, 4, 0});
       },
       "behavior.scaleUp.policies[1].periodSeconds: must be in [1, 1800], got 0"},
      {"period above 1800",
       [](Target& t) { (*t.behavior->scale_down->policies)[0].period_seconds = 1801; },
       "behavior.scaleDown.policies[0].periodSeconds: must be in [1, 1800], got 1801"},
      {"negative behavior tolerance", [](Target& t) { t.behavior->scale_down->tolerance = -0.1; },
       "behavior.scaleDown.tolerance: must be a number >= 0, got -0.1"},
      {"negative flag tolerance", [](Target& t) { t.flags.tolerance.scale_up = -1; },
       "tolerance.scale_up: must be a number >= 0, got -1"},
      {"negative cooldown", [](Target& t) { t.cooldown = Duration::Seconds(-5); },
       "cooldown: must not be negative, got -5s"},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    Target t = Valid();
    c.mutate(t);
    CHECK(Error(t) == c.error);
  }
}

TEST_CASE("validate: min 0 is allowed with the opt-in") {
  Target t = Valid();
  t.min_replicas = 0;
  t.scale_to_zero = true;
  CHECK(ValidateTarget(t).ok());
}

TEST_CASE("validate: window and period ends are inclusive") {
  Target t = Valid();
  t.behavior->scale_up->stabilization_window_seconds = 3600;
  (*t.behavior->scale_up->policies)[0].period_seconds = 1800;
  t.behavior->scale_down->stabilization_window_seconds = 0;
  (*t.behavior->scale_down->policies)[0].period_seconds = 1;
  CHECK(ValidateTarget(t).ok());
}

TEST_CASE("parse: select policy and policy type spell as the API does") {
  CHECK(*ParseSelectPolicy("Max") == SelectPolicy::kMax);
  CHECK(*ParseSelectPolicy("Min") == SelectPolicy::kMin);
  CHECK(*ParseSelectPolicy("Disabled") == SelectPolicy::kDisabled);
  CHECK(ParseSelectPolicy("max").status().message() ==
        "selectPolicy: unsupported value \"max\": must be one of Max, Min, Disabled");
  CHECK(*ParsePolicyType("Pods") == PolicyType::kPods);
  CHECK(*ParsePolicyType("Percent") == PolicyType::kPercent);
  CHECK(ParsePolicyType("percent").status().message() ==
        "type: unsupported value \"percent\": must be one of Pods, Percent");
}
