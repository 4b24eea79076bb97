// ruletest.h: `amas-scaler test rules FILE...`, promtool's rule unit tests
// plus scale tests. Each file names rule_files and, for scale tests,
// scale_targets (a config file or an inline list); each test loads its
// input_series into a fresh store, evaluates every group every
// evaluation_interval from 0, decides every target from the votes with a
// dry-run count that follows the decisions, and checks alerts, PromQL results,
// votes, desired counts and limits at their eval_time. Prints one line per
// failing check ("file:line:col: ...") and ends with "N passed, N failed".
// Reads files; otherwise pure (no clock: test time starts at the Unix epoch).
#ifndef AMAS_APP_RULETEST_H_
#define AMAS_APP_RULETEST_H_

#include <ostream>
#include <string>
#include <vector>

#include "app/scale_config.h"
#include "decide/decide.h"
#include "rules/rules.h"

namespace amas::app {

struct RuleTestCounts {
  int passed = 0;
  int failed = 0;  // failed checks, plus one per file or rule that could not run
};

RuleTestCounts RunRuleTests(const std::vector<std::string>& paths, std::ostream& out);


}  // namespace amas::app

#endif  // AMAS_APP_RULETEST_H_
