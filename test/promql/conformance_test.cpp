// Runs the promqltest subset of upstream Prometheus (../shared/conformance/
// promql/subset/*.test) and prints pass counts per file and in total.
// Fails unless at least 95% of the 620 subset cases pass.
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "promql/promqltest.h"
#include "testing/testing.h"

int main() {
  const std::string dir = amas::testing::SharedPath("conformance/promql/subset");
  if (dir.empty()) return amas::testing::SkipMissingShared("promql conformance");
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() == ".test") files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());
  constexpr int kSubsetCases = 620;
  amas::promql::TestCounts total;
  std::vector<std::string> summary;
  for (const std::string& path : files) {
    const std::string name = std::filesystem::path(path).filename().string();
    const amas::promql::TestCounts c =
        amas::promql::RunTestScript(name, amas::testing::ReadFile(path), std::cout);
    total.passed += c.passed;
    total.failed += c.failed;
    summary.push_back(name + ": " + std::to_string(c.passed) + " passed, " +
                      std::to_string(c.failed) + " failed");
  }
  for (const auto& line : summary) std::cout << line << "\n";
  const int cases = total.passed + total.failed;
  std::cout << "promql conformance: " << total.passed << " passed, " << total.failed
            << " failed (" << cases << " cases; subset has " << kSubsetCases << ")\n";
  const bool ok = total.passed * 100 >= 95 * kSubsetCases;
  if (!ok) std::cout << "FAIL: fewer than 95% of the " << kSubsetCases << " subset cases pass\n";
  return ok ? 0 : 1;
}
