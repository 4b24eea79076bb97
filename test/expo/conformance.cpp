// expo_conformance: runs every exposition corpus in ../shared/conformance/
// exposition through expo::Check and prints one count per set. An input is
// "accepted" when Check succeeds (every line, label and value validated) and
// "rejected" when it fails with a "line:col: " message. The few inputs where
// two reference parsers contradict each other are listed in kConflicts with
// the outcome we chose; a conflict whose outcome changes fails the run too.
#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <regex>
#include <string>
#include <vector>

#include <rapidjson/document.h>

#include "expo/expo.h"
#include "testing/testing.h"

namespace {

namespace fs = std::filesystem;
using amas::expo::Format;
using amas::expo::NameValidation;
using amas::expo::ParseOptions;

// Inputs of an "accept" set that we reject on purpose (docs/exposition.md,
// "Conflicts between the corpora"). `error` must occur in our message;
// `accepted_with_newline`: the input is accepted once "\n" is appended.
struct Conflict {
  std::string set;
  std::string id;
  std::string error;
  bool accepted_with_newline;
  std::string why;
};

const std::vector<Conflict> kConflicts = {
    {"go_test_inputs", "TestPromParse.prom.txt", "26:43: expected ',' or '}'", false,
     "PromParser accepts a missing comma and no final newline; expfmt rejects both "
     "(invalid_cases 99/100 demand the newline), we take the stricter"},
    {"go_test_inputs", "TestUTF8PromParse.prom.txt", "the last line has no newline", true,
     "no final newline: PromParser accepts, expfmt rejects (invalid_cases 99/100)"},
    {"accepted_edge_cases", "0", "the last line has no newline", true,
     "no final newline: PromParser accepts, expfmt rejects (invalid_cases 99/100)"},
};

// `set` may carry a reference in parentheses: "accepted_edge_cases (PromParser)".
// Invalid cases that upstream rejects for a reason we do not share, and that
// only fail here because the input also lacks its final newline or "# EOF".
struct EndOnly {
  std::string id;
  std::string why;
};
const std::vector<EndOnly> kEndOnly = {
    {"98",
     "NUL inside an exemplar label value: OpenMetricsParser rejects it, we accept it as in "
     "series label values (OpenMetrics: NUL MUST be supported); the input lacks # EOF"},
};

const Conflict* FindConflict(const std::string& set, const std::string& id) {
  const std::string base = set.substr(0, set.find(" ("));
  for (const Conflict& c : kConflicts) {
    if (c.set == base && c.id == id) return &c;
  }
  return nullptr;
}

struct Tally {
  int total = 0;
  int ok = 0;
  int conflicts = 0;
  std::vector<std::string> failures;
};

std::map<std::string, Tally> g_sets;
std::vector<std::string> g_set_order;
std::map<std::string, std::string> g_set_verb;

Tally& SetTally(const std::string& set, const std::string& verb) {
  if (!g_sets.contains(set)) {
    g_set_order.push_back(set);
    g_set_verb[set] = verb;
  }
  return g_sets[set];
}

const std::regex kPosition(R"(^\d+:\d+: )");

std::string Describe(const std::string& input) {
  std::string out;
  for (char c : input.substr(0, 80)) {
    if (c == '\n') {
      out += "\\n";
    } else if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned char>(c));
      out += buf;
    } else {
      out.push_back(c);
    }
  }
  if (input.size() > 80) out += "...";
  return out;
}

enum class Outcome { kOk, kConflict, kFail };

// One input that must be accepted (expect_accept) or rejected.
Outcome Run(const std::string& set, const std::string& id, const std::string& input, Format format,
            ParseOptions options, bool expect_accept) {
  Tally& t = SetTally(set, expect_accept ? "accepted" : "rejected");
  ++t.total;
  const auto result = amas::expo::Check(input, format, options);
  const std::string message = result.ok() ? "" : result.status().message();
  if (!result.ok() && !std::regex_search(message, kPosition)) {
    t.failures.push_back(id + ": error lacks line:col: " + message);
    return Outcome::kFail;
  }
  if (result.ok() == expect_accept) {
    ++t.ok;
    return Outcome::kOk;
  }
  if (const Conflict* c = FindConflict(set, id); c != nullptr && expect_accept) {
    bool holds = message.find(c->error) != std::string::npos;
    if (holds && c->accepted_with_newline) {
      holds = amas::expo::Check(input + "\n", format, options).ok();
    }
    if (holds) {
      ++t.conflicts;
      std::printf("  documented conflict %s/%s: %s\n    -> %s\n", set.c_str(), id.c_str(),
                  message.c_str(), c->why.c_str());
      return Outcome::kConflict;
    }
    t.failures.push_back(id + ": documented conflict no longer holds: " + message);
    return Outcome::kFail;
  }
  t.failures.push_back(id + (expect_accept ? ": rejected: " + message : ": accepted") + "  [" +
                       Describe(input) + "]");
  return Outcome::kFail;
}

std::string ReadOrDie(const fs::path& path) {
  bool ok = false;
  std::string s = amas::testing::ReadFile(path.string(), &ok);
  if (!ok) {
    std::fprintf(stderr, "cannot read %s\n", path.c_str());
    std::exit(2);
  }
  return s;
}

std::string Gunzip(const std::string& in) {
  z_stream z{};
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) return "";
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  std::string out;
  char buf[16384];
  int rc;
  do {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof buf;
    rc = inflate(&z, Z_NO_FLUSH);
    out.append(buf, sizeof buf - z.avail_out);
  } while (rc == Z_OK);
  inflateEnd(&z);
  return rc == Z_STREAM_END ? out : "";
}

std::string FromHex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return out;
}

ParseOptions Prometheus() { return ParseOptions{}; }
ParseOptions Spec() { return ParseOptions{.openmetrics_spec = true}; }
ParseOptions Names(const std::string& scheme) {
  ParseOptions o;
  o.names = scheme == "legacy" ? NameValidation::kLegacy : NameValidation::kUtf8;
  return o;
}

bool LoadJson(const fs::path& path, rapidjson::Document* doc) {
  const std::string text = ReadOrDie(path);
  doc->Parse(text.c_str(), text.size());
  return !doc->HasParseError() && doc->HasMember("cases") && (*doc)["cases"].IsArray();
}

std::string Str(const rapidjson::Value& v, const char* key) {
  if (!v.HasMember(key) || !v[key].IsString()) return "";
  return v[key].GetString();
}

// Totals per JSON file, over the verdicts of RunCase's main run.
std::map<std::string, Tally> g_files;

// The reference a case records decides the options it runs with.
void RunCase(const std::string& set, const std::string& id, const rapidjson::Value& c,
             bool expect_accept) {
  const std::string input = FromHex(Str(c, "input_hex"));
  const std::string format = Str(c, "format");
  const std::string ref = Str(c, "reference_parser");
  Outcome outcome;
  if (format == "prometheus-text") {
    const std::string scheme = Str(c, "name_validation");
    outcome =
        Run(set + " (" +
                (ref.find("expfmt") != std::string::npos ? "expfmt " + scheme : "PromParser") + ")",
            id, input, Format::kPrometheusText, Names(scheme), expect_accept);
  } else if (ref.find("conformance suite") != std::string::npos) {
    outcome = Run(set + " (OpenMetrics suite, spec rules)", id, input, Format::kOpenMetrics, Spec(),
                  expect_accept);
  } else {
    // Prometheus's OpenMetrics parser: its rejections must hold with the
    // spec rules too, which only ever reject more.
    outcome = Run(set + " (OpenMetricsParser)", id, input, Format::kOpenMetrics, Prometheus(),
                  expect_accept);
    if (!expect_accept) {
      Run(set + " (OpenMetricsParser, spec rules)", id, input, Format::kOpenMetrics, Spec(), false);
    }
  }
  Tally& file = g_files[set];
  ++file.total;
  if (outcome == Outcome::kOk) ++file.ok;
  if (outcome == Outcome::kConflict) ++file.conflicts;
}

// An invalid input must fail for its own fault: completed with the final
// newline (text) or "# EOF" (OpenMetrics) it must still be rejected, unless
// upstream's complaint is exactly that missing end.
void CheckOwnReason(const std::string& id, const rapidjson::Value& c) {
  const std::string input = FromHex(Str(c, "input_hex"));
  const bool om = Str(c, "format") == "openmetrics";
  std::string completed = input;
  if (om && input.find("# EOF") == std::string::npos) {
    if (!completed.empty() && completed.back() != '\n') completed += "\n";
    completed += "# EOF\n";
  } else if (!om && !input.empty() && input.back() != '\n') {
    completed += "\n";
  }
  if (completed == input) return;
  Tally& t = SetTally("invalid_cases completed with their end", "still rejected or end-only");
  ++t.total;
  ParseOptions o = Names(Str(c, "name_validation"));
  if (Str(c, "reference_parser").find("conformance suite") != std::string::npos) o = Spec();
  if (!amas::expo::Check(completed, om ? Format::kOpenMetrics : Format::kPrometheusText, o).ok()) {
    ++t.ok;
    return;
  }
  const std::string upstream = Str(c, "error_substring");
  const bool about_end = upstream.find("EOF") != std::string::npos ||
                         upstream.find("end of input") != std::string::npos ||
                         Str(c, "source").find("bad_no_eof") != std::string::npos;
  if (about_end) {
    ++t.ok;
    return;
  }
  for (const EndOnly& e : kEndOnly) {
    if (e.id == id) {
      ++t.conflicts;
      std::printf("  documented divergence invalid_cases/%s: %s\n", id.c_str(), e.why.c_str());
      return;
    }
  }
  t.failures.push_back(id + ": rejected only for its missing end, upstream says: " + upstream +
                       "  [" + Describe(input) + "]");
}

}  // namespace

int main() {
  const std::string root = amas::testing::SharedPath("conformance/exposition");
  if (root.empty() || !fs::is_directory(root)) {
    return amas::testing::SkipMissingShared("expo_conformance");
  }
  const fs::path dir(root);

  // Whole valid expositions.
  const std::vector<std::string> text_files = {
      "prometheus_textparse_testdata/alltypes.237mfs.prom.txt",
      "prometheus_textparse_testdata/alltypes.237mfs.nometa.prom.txt",
      "prometheus_textparse_testdata_historical/promtestdata.txt",
      "prometheus_textparse_testdata_historical/promtestdata.nometa.txt",
      "prometheus_promtool_testdata/metrics-test.prom",
      "common_expfmt_testdata/text",
  };
  for (const std::string& f : text_files) {
    Run("valid text expositions", f, ReadOrDie(dir / f), Format::kPrometheusText, Prometheus(),
        true);
  }
  const std::string gz = Gunzip(ReadOrDie(dir / "common_expfmt_testdata/text.gz"));
  Run("valid text expositions", "common_expfmt_testdata/text.gz", gz, Format::kPrometheusText,
      Prometheus(), true);
  const std::vector<std::string> om_files = {
      "prometheus_textparse_testdata/alltypes.5mfs.om.txt",
      "prometheus_textparse_testdata/1histogram.om.txt",
      "prometheus_promtool_testdata/dump-openmetrics-test.prom",
      "prometheus_promtool_testdata/dump-openmetrics-roundtrip-test.prom",
  };
  for (const std::string& f : om_files) {
    Run("valid OpenMetrics expositions", f, ReadOrDie(dir / f), Format::kOpenMetrics, Prometheus(),
        true);
  }
  // The family counts the corpus README states ("237 metric families", "5 families").
  const struct {
    const char* file;
    Format format;
    size_t families;
  } kFamilies[] = {
      {"prometheus_textparse_testdata/alltypes.237mfs.prom.txt", Format::kPrometheusText, 237},
      {"prometheus_textparse_testdata/alltypes.5mfs.om.txt", Format::kOpenMetrics, 5},
  };
  for (const auto& k : kFamilies) {
    Tally& t = SetTally("family counts", "as stated");
    ++t.total;
    const auto r = amas::expo::Check(ReadOrDie(dir / k.file), k.format, Prometheus());
    if (r.ok() && r->families == k.families) {
      ++t.ok;
    } else {
      t.failures.push_back(
          std::string(k.file) + ": " +
          (r.ok() ? std::to_string(r->families) + " families" : r.status().message()));
    }
  }
  // For information: which of them also meet the OpenMetrics spec rules.
  for (const std::string& f : om_files) {
    const auto r = amas::expo::Check(ReadOrDie(dir / f), Format::kOpenMetrics, Spec());
    std::printf("  (info) %s under spec rules: %s\n", f.c_str(),
                r.ok() ? "accepted" : r.status().message().c_str());
  }

  // The upstream unit tests' large inputs.
  for (const auto& e : fs::directory_iterator(dir / "go_test_inputs")) {
    const std::string name = e.path().filename().string();
    const Format format =
        name.ends_with(".om.txt") ? Format::kOpenMetrics : Format::kPrometheusText;
    Run("go_test_inputs", name, ReadOrDie(e.path()), format, Prometheus(), true);
    if (format == Format::kOpenMetrics) {
      const auto r = amas::expo::Check(ReadOrDie(e.path()), format, Spec());
      std::printf("  (info) go_test_inputs/%s under spec rules: %s\n", name.c_str(),
                  r.ok() ? "accepted" : r.status().message().c_str());
    }
  }

  // expfmt's fuzz seeds: from_test_parse_error_* are invalid, the rest valid.
  std::vector<fs::path> seeds;
  for (const auto& e : fs::directory_iterator(dir / "common_expfmt_fuzz_corpus")) {
    seeds.push_back(e.path());
  }
  std::sort(seeds.begin(), seeds.end());
  for (const fs::path& s : seeds) {
    const std::string name = s.filename().string();
    const bool invalid = name.starts_with("from_test_parse_error_");
    const std::string input = ReadOrDie(s);
    Run(invalid ? "fuzz corpus invalid seeds" : "fuzz corpus valid seeds", name, input,
        Format::kPrometheusText, Prometheus(), !invalid);
    // Rejected for their own fault, not just the missing final newline;
    // error_0 is the twin of invalid_cases 99, which is about exactly that.
    if (invalid && name != "from_test_parse_error_0" && !input.ends_with('\n')) {
      Run("fuzz corpus invalid seeds, newline appended", name, input + "\n",
          Format::kPrometheusText, Prometheus(), false);
    }
  }

  rapidjson::Document invalid, accepted;
  if (!LoadJson(dir / "invalid_cases.json", &invalid) ||
      !LoadJson(dir / "accepted_edge_cases.json", &accepted)) {
    std::fprintf(stderr, "cannot parse the JSON case files\n");
    return 2;
  }
  int index = 0;
  for (const auto& c : invalid["cases"].GetArray()) {
    RunCase("invalid_cases", std::to_string(index), c, false);
    CheckOwnReason(std::to_string(index), c);
    ++index;
  }
  index = 0;
  for (const auto& c : accepted["cases"].GetArray()) {
    RunCase("accepted_edge_cases", std::to_string(index++), c, true);
  }

  // The OpenMetrics conformance suite, case by case.
  std::vector<fs::path> cases;
  int suite_rejected_without_spec = 0;
  for (const auto& e : fs::directory_iterator(dir / "openmetrics_conformance/parsers")) {
    cases.push_back(e.path());
  }
  std::sort(cases.begin(), cases.end());
  for (const fs::path& c : cases) {
    rapidjson::Document meta;
    const std::string json = ReadOrDie(c / "test.json");
    meta.Parse(json.c_str(), json.size());
    if (meta.HasParseError() || !meta.HasMember("shouldParse")) {
      std::fprintf(stderr, "bad test.json in %s\n", c.c_str());
      return 2;
    }
    const bool should = meta["shouldParse"].GetBool();
    const std::string input = ReadOrDie(c / "metrics");
    const std::string name = c.filename().string();
    Run(std::string("OpenMetrics suite shouldParse=") + (should ? "true" : "false"), name, input,
        Format::kOpenMetrics, Spec(), should);
    if (should) {
      Run("OpenMetrics suite shouldParse=true, Prometheus rules", name, input, Format::kOpenMetrics,
          Prometheus(), true);
    } else if (!amas::expo::Check(input, Format::kOpenMetrics, Prometheus()).ok()) {
      ++suite_rejected_without_spec;
    }
  }

  std::printf(
      "  (info) OpenMetrics suite shouldParse=false rejected even without spec rules: "
      "%d\n",
      suite_rejected_without_spec);
  for (const char* file : {"invalid_cases", "accepted_edge_cases"}) {
    const Tally& t = g_files[file];
    std::printf("%s: %d/%d %s", file, t.ok, t.total,
                std::string(file) == "invalid_cases" ? "rejected" : "accepted");
    if (t.conflicts > 0) std::printf(", %d documented conflict(s)", t.conflicts);
    std::printf("\n");
  }
  int failures = 0;
  for (const std::string& set : g_set_order) {
    const Tally& t = g_sets[set];
    std::printf("%s: %d/%d %s", set.c_str(), t.ok, t.total, g_set_verb[set].c_str());
    if (t.conflicts > 0) std::printf(", %d documented conflict(s)", t.conflicts);
    std::printf("%s\n", t.failures.empty() ? "" : "  <-- FAILURES");
    for (const std::string& f : t.failures) std::printf("    FAIL %s\n", f.c_str());
    failures += static_cast<int>(t.failures.size());
  }
  std::printf("%s: %d failure(s)\n", failures == 0 ? "PASS" : "FAIL", failures);
  return failures == 0 ? 0 : 1;
}
