#include "app/commands.h"

#include <fstream>
#include <iostream>
#include <sstream>

#include "app/config.h"
#include "expo/expo.h"
#include "promql/promqltest.h"

namespace amas::app {
namespace {

// True iff the last non-empty line is exactly "# EOF".
bool EndsWithEof(std::string_view body) {
  while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.remove_suffix(1);
  const size_t nl = body.rfind('\n');
  return body.substr(nl == std::string_view::npos ? 0 : nl + 1) == "# EOF";
}

}  // namespace

int CheckConfig(const std::vector<std::string>& files, std::ostream& out, std::ostream& err) {
  int code = 0;
  for (const std::string& file : files) {
    out << "Checking " << file << "\n";
    core::Result<Config> cfg = LoadConfigFile(file);
    if (!cfg.ok()) {
      err << "  FAILED: " << cfg.status().message() << "\n";
      code = 1;
      continue;
    }
    out << "  SUCCESS: " << file << " is valid amas-scaler config file syntax ("
        << cfg->scrape_configs.size() << " scrape configs)\n";
  }
  return code;
}

int CheckMetrics(const std::string& path, std::string_view format, std::istream& in,
                 std::ostream& out, std::ostream& err) {
  std::ostringstream body;
  if (path.empty() || path == "-") {
    body << in.rdbuf();
  } else {
    std::ifstream file(path, std::ios::binary);
    if (!file) {
      err << path << ": cannot read the file\n";
      return 2;
    }
    body << file.rdbuf();
  }
  const std::string text = body.str();
  expo::Format f = expo::Format::kPrometheusText;
  if (format == "openmetrics" || (format.empty() && EndsWithEof(text))) {
    f = expo::Format::kOpenMetrics;
  }
  core::Result<expo::CheckResult> result = expo::Check(text, f);
  if (!result.ok()) {
    err << (path.empty() || path == "-" ? "" : path + ":") << result.status().message() << "\n";
    return 1;
  }
  out << "families: " << result->families << ", series: " << result->series << " ("
      << (f == expo::Format::kOpenMetrics ? "OpenMetrics" : "text format 0.0.4") << ")\n";
  return 0;
}

int TestPromql(const std::vector<std::string>& files, std::ostream& out) {
  const promql::TestCounts counts = promql::RunTestFiles(files, out);
  return counts.failed == 0 ? 0 : 1;
}

int NotImplemented(std::string_view command, std::ostream& err) {
  err << "amas-scaler: error: \"" << command << "\" is not implemented yet\n";
  return 2;
}

}  // namespace amas::app
