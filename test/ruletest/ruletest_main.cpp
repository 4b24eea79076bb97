// ruletest_run FILE...: `amas-scaler test rules` without the rest of the
// service, so the shipped policy's tests run as soon as rules/ and decide/ build.
#include <iostream>
#include <string>
#include <vector>

#include "app/ruletest.h"

int main(int argc, char** argv) {
  const std::vector<std::string> files(argv + 1, argv + argc);
  if (files.empty()) {
    std::cerr << "usage: ruletest_run FILE...\n";
    return 2;
  }
  const amas::app::RuleTestCounts counts = amas::app::RunRuleTests(files, std::cout);
  return counts.failed == 0 && counts.passed > 0 ? 0 : 1;
}
