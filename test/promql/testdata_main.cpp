// Runs our own promqltest files (test/promql/testdata/*.test): behaviour as
// data for what the upstream subset does not cover. Exit 1 on any failure.
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "promql/promqltest.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: promql_testdata DIR\n";
    return 2;
  }
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(argv[1])) {
    if (e.path().extension() == ".test") files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  const amas::promql::TestCounts c = amas::promql::RunTestFiles(files, std::cout);
  return c.failed == 0 && c.passed > 0 ? 0 : 1;
}
