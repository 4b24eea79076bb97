// promqltest.h: runs Prometheus's promqltest scripts (*.test; format in
// ../shared/conformance/promql/FORMAT.md) against this engine, each file on a
// fresh store::Store with retention 0. One eval command is one case; like
// upstream, an instant case is also re-checked in range mode and with `@`
// added, and warn/info expectations are checked against our annotations.
// Prints one line per failing case ("file:line: why") to `out`.
// The only module code that reads files; the engine itself does no I/O.
#ifndef AMAS_PROMQL_PROMQLTEST_H_
#define AMAS_PROMQL_PROMQLTEST_H_

#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "promql/promql.h"

namespace amas::promql {

struct TestCounts {
  int passed = 0;
  int failed = 0;
};

// Runs one script; `name` prefixes the failure lines.
TestCounts RunTestScript(std::string_view name, std::string_view script, std::ostream& out,
                         const EngineOptions& options = {});
// Runs every file, then prints "N passed, N failed". An unreadable file
// counts as one failed case.
TestCounts RunTestFiles(const std::vector<std::string>& paths, std::ostream& out,
                        const EngineOptions& options = {});

}  // namespace amas::promql

#endif  // AMAS_PROMQL_PROMQLTEST_H_
