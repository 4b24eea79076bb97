#include "app/commands.h"

#include <fstream>
#include <iostream>
#include <sstream>

#include "app/config.h"
#include "app/log.h"
#include "app/ruletest.h"
#include "expo/expo.h"
#include "promql/promqltest.h"
#include "rules/rules.h"
#include "sources/sources.h"
#include "store/store.h"

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

int CheckRules(const std::vector<std::string>& files, std::ostream& out, std::ostream& err) {
  int code = 0;
  for (const std::string& file : files) {
    out << "Checking " << file << "\n";
    core::Result<rules::RuleSet> set = rules::LoadFile(file);
    if (!set.ok()) {
      err << "  FAILED:\n" << set.status().message() << "\n";
      code = 1;
      continue;
    }
    size_t n = 0;
    for (const rules::Group& g : set->groups) n += g.rules.size();
    out << "  SUCCESS: " << n << " rules found\n";
  }
  return code;
}

int TestRules(const std::vector<std::string>& files, std::ostream& out) {
  return RunRuleTests(files, out).failed == 0 ? 0 : 1;
}

namespace {

// Loads one exposition file into the store; samples without a timestamp get `at`.
core::Status LoadExposition(const std::string& path, core::Time at, store::Store* store) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return core::Status::NotFound(path + ": cannot read the file");
  std::ostringstream body;
  body << file.rdbuf();
  const std::string text = body.str();
  const expo::Format format =
      EndsWithEof(text) ? expo::Format::kOpenMetrics : expo::Format::kPrometheusText;
  expo::Parser parser(text, format);
  store::Appender app = store->NewAppender();
  core::LabelsBuilder b;
  for (;;) {
    const expo::Entry e = parser.Next();
    if (e == expo::Entry::kEof) break;
    if (e == expo::Entry::kError) return parser.error().WithContext(path);
    if (e != expo::Entry::kSeries) continue;
    if (core::Status s = parser.Labels(&b); !s.ok()) return s.WithContext(path);
    app.Append(app.GetOrCreate(b.Build()), parser.timestamp_ms().value_or(at.unix_millis()),
               parser.value());
  }
  app.Commit();
  return core::Status();
}

// Scrapes a URL once, as a scrape job of its own would.
core::Status ScrapeUrl(const std::string& url, store::Store* store, const core::Clock* clock) {
  sources::ScrapeConfig sc;
  sc.job_name = "eval";
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return core::Status::InvalidArgument("not a URL: " + url);
  sc.scheme = url.substr(0, scheme_end);
  const size_t path_start = url.find('/', scheme_end + 3);
  const std::string host = url.substr(scheme_end + 3, path_start == std::string::npos
                                                           ? std::string::npos
                                                           : path_start - scheme_end - 3);
  if (path_start != std::string::npos) sc.metrics_path = url.substr(path_start);
  sc.static_configs.push_back({{host}, {}});
  sc.scrape_interval = core::Duration::Seconds(15);
  sc.scrape_timeout = core::Duration::Seconds(10);
  auto manager = sources::ScrapeManager::Create({sc}, store, clock);
  if (!manager.ok()) return manager.status();
  (*manager)->ScrapeOnce();
  for (const sources::TargetHealth& t : (*manager)->Targets()) {
    if (t.health != "up") return core::Status::Unavailable("scrape " + url + ": " + t.last_error);
  }
  return core::Status();
}

}  // namespace

int Eval(const std::string& expr, const std::string& source, const std::string& time,
         std::ostream& out, std::ostream& err) {
  core::Result<promql::ExprPtr> parsed = promql::Parse(expr);
  if (!parsed.ok()) {
    err << parsed.status().message() << "\n";
    return 1;
  }
  SystemClock clock;
  core::Time at = clock.Now();
  if (!time.empty()) {
    core::Result<core::Time> t = core::Time::Parse(time);
    if (!t.ok()) {
      err << "--time: " << t.status().message() << "\n";
      return 2;
    }
    at = *t;
  }
  store::Store store(store::StoreOptions{core::Duration()});
  if (!source.empty()) {
    const bool url = source.rfind("http://", 0) == 0 || source.rfind("https://", 0) == 0;
    core::Status s = url ? ScrapeUrl(source, &store, &clock) : LoadExposition(source, at, &store);
    if (!s.ok()) {
      err << s.message() << "\n";
      return 1;
    }
  }
  promql::Engine engine;
  store::View view = store.NewView();
  core::Result<promql::Value> value = engine.Instant(**parsed, view, at);
  if (!value.ok()) {
    err << value.status().message() << "\n";
    return 1;
  }
  out << promql::FormatValue(*value) << "\n";
  return 0;
}

}  // namespace amas::app
