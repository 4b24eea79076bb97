// store_bench: the AMAS workload (~201k series) appended round after round at
// 15 s, then queried with the selectors of shared/bench/amas_rules.yml.
// Prints memory per series (Stats and RSS), append and commit cost, Collect
// cost, Select and Samples latency, all in thread CPU time. Input comes from
// gen_rounds.py (see README.md).
//
//   store_bench [ROUNDS_FILE] [--retention=10m] [--rounds=N] [--per-round]
#include <malloc.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "core/core.h"
#include "store/store.h"

namespace {

using amas::core::Labels;
using amas::store::Matcher;
using amas::store::SeriesRef;
// Thread CPU time: the bench machine is shared, and time spent descheduled
// is not the store's cost. (Cache contention from neighbours still shows.)
struct Clock {
  using duration = std::chrono::nanoseconds;
  using time_point = std::chrono::time_point<Clock, duration>;
  static time_point now() {
    timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return time_point(duration(int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec));
  }
};
using Type = Matcher::Type;

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }
double Ns(Clock::duration d) { return std::chrono::duration<double, std::nano>(d).count(); }

size_t RssBytes() {
  std::ifstream statm("/proc/self/statm");
  size_t total = 0, resident = 0;
  statm >> total >> resident;
  return resident * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

// name{a="x",b="y\"z"} as written by gen_exposition.py.
bool ParseSeries(std::string_view s, amas::core::LabelsBuilder* b) {
  b->Reset();
  const size_t brace = s.find('{');
  b->Set("__name__", s.substr(0, brace));
  if (brace == std::string_view::npos) return true;
  size_t i = brace + 1;
  while (i < s.size() && s[i] != '}') {
    const size_t eq = s.find('=', i);
    if (eq == std::string_view::npos || eq + 1 >= s.size() || s[eq + 1] != '"') return false;
    const std::string_view name = s.substr(i, eq - i);
    std::string value;
    size_t j = eq + 2;
    for (; j < s.size() && s[j] != '"'; ++j) {
      if (s[j] == '\\' && j + 1 < s.size()) {
        ++j;
        value.push_back(s[j] == 'n' ? '\n' : s[j]);
      } else {
        value.push_back(s[j]);
      }
    }
    b->Set(name, value);
    i = j + 1;
    if (i < s.size() && s[i] == ',') ++i;
  }
  return true;
}

void ParseValues(const std::string& line, std::vector<double>* out) {
  out->clear();
  const char* p = line.c_str();
  char* end;
  while (*p != '\0') {
    out->push_back(std::strtod(p, &end));
    if (end == p) break;
    p = end;
    while (*p == ' ') ++p;
  }
}

Matcher M(const char* name, Type type, const char* value) {
  auto m = Matcher::Make(type, name, value);
  if (!m.ok()) {
    std::fprintf(stderr, "%s\n", m.status().ToString().c_str());
    std::exit(1);
  }
  return std::move(m).value();
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

struct Snapshot {
  int round;
  amas::store::StoreStats stats;
  size_t rss_delta;
};

}  // namespace

int main(int argc, char** argv) {
  std::string path = "/tmp/store-rounds.txt";
  amas::core::Duration retention = amas::core::Duration::Minutes(10);
  int max_rounds = 1 << 30;
  bool per_round = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg.starts_with("--retention=")) {
      auto d = amas::core::Duration::Parse(arg.substr(12));
      if (!d.ok()) {
        std::fprintf(stderr, "%s\n", d.status().ToString().c_str());
        return 2;
      }
      retention = *d;
    } else if (arg == "--per-round") {
      per_round = true;
    } else if (arg.starts_with("--rounds=")) {
      max_rounds = std::atoi(std::string(arg.substr(9)).c_str());
    } else {
      path = std::string(arg);
    }
  }

  std::ifstream in(path);
  if (!in) {
    std::fprintf(stderr,
                 "cannot read %s; make it with\n"
                 "  python3 bench/store/gen_rounds.py -o %s\n",
                 path.c_str(), path.c_str());
    return 2;
  }
  size_t n = 0;
  int rounds = 0;
  in >> n >> rounds;
  std::string line;
  std::getline(in, line);
  std::vector<Labels> labels;
  labels.reserve(n);
  amas::core::LabelsBuilder builder;
  size_t label_bytes = 0;
  for (size_t i = 0; i < n && std::getline(in, line); ++i) {
    if (!ParseSeries(line, &builder)) {
      std::fprintf(stderr, "bad series line %zu: %s\n", i + 2, line.c_str());
      return 2;
    }
    labels.push_back(builder.Build());
    label_bytes += labels.back().ByteSize() - sizeof(Labels);
  }
  std::vector<std::string> value_lines;
  while (static_cast<int>(value_lines.size()) < std::min(rounds, max_rounds) &&
         std::getline(in, line)) {
    value_lines.push_back(line);
  }
  rounds = static_cast<int>(value_lines.size());
  const int64_t interval_ms = 15'000;
  std::printf("series %zu, rounds %d at 15s, retention %s, labels %.0f B/series (encoded)\n",
              labels.size(), rounds, retention.ToString().c_str(),
              static_cast<double>(label_bytes) / static_cast<double>(labels.size()));

  malloc_trim(0);
  const size_t rss0 = RssBytes();
  amas::store::Store store(amas::store::StoreOptions{retention});
  auto app = store.NewAppender();

  // Round 0 resolves every series, as a scraper's first scrape does.
  std::vector<SeriesRef> refs(labels.size());
  auto t0 = Clock::now();
  for (size_t i = 0; i < labels.size(); ++i) refs[i] = app.GetOrCreate(labels[i]);
  const double create_ms = Ms(Clock::now() - t0);

  std::vector<double> values;
  std::vector<double> append_ns, commit_ms, collect_ms;
  std::vector<Snapshot> snapshots;
  const int64_t base = 1'700'000'000'000;
  int64_t now = base;
  for (int r = 0; r < rounds; ++r) {
    now = base + r * interval_ms + (r * 7919) % 5;  // a few ms of scrape jitter
    ParseValues(value_lines[r], &values);
    if (values.size() != labels.size()) {
      std::fprintf(stderr, "round %d: %zu values for %zu series\n", r, values.size(),
                   labels.size());
      return 2;
    }
    auto a0 = Clock::now();
    for (size_t i = 0; i < refs.size(); ++i) {
      if (!app.Append(refs[i], now, values[i])) {
        std::fprintf(stderr, "append refused for series %zu\n", i);
        return 1;
      }
    }
    auto a1 = Clock::now();
    const amas::store::AppendStats st = app.Commit();
    auto a2 = Clock::now();
    if (st.appended != refs.size()) {
      std::fprintf(stderr, "round %d: appended %zu of %zu\n", r, st.appended, refs.size());
      return 1;
    }
    append_ns.push_back(Ns(a1 - a0) / static_cast<double>(refs.size()));
    commit_ms.push_back(Ms(a2 - a1));
    if (per_round) std::printf("round %d: commit %.2f ms\n", r + 1, commit_ms.back());
    if (r % 4 == 3) {  // once a minute, as the app does
      auto c0 = Clock::now();
      store.Collect(now);
      collect_ms.push_back(Ms(Clock::now() - c0));
    }
    if (r + 1 == 40 || r + 1 == rounds) {
      snapshots.push_back({r + 1, store.Stats(), RssBytes() - rss0});
    }
  }

  std::printf("\n-- writes\n");
  std::printf("GetOrCreate, new series      %8.0f ns/series  (%.0f ms for all)\n",
              create_ms * 1e6 / static_cast<double>(labels.size()), create_ms);
  {
    auto l0 = Clock::now();
    size_t found = 0;
    for (size_t i = 0; i < labels.size(); ++i) found += app.GetOrCreate(labels[i]).valid();
    const double lookup_ms = Ms(Clock::now() - l0);
    std::printf("GetOrCreate, existing        %8.0f ns/series  (%zu found)\n",
                lookup_ms * 1e6 / static_cast<double>(labels.size()), found);
  }
  std::printf("Append (buffer one sample)   %8.1f ns/sample  (median round)\n", Median(append_ns));
  std::printf("Commit of %zu samples    %8.2f ms  median, %.2f min, %.2f max  (%.1f ns/sample)\n",
              refs.size(), Median(commit_ms), *std::min_element(commit_ms.begin(), commit_ms.end()),
              *std::max_element(commit_ms.begin(), commit_ms.end()),
              Median(commit_ms) * 1e6 / static_cast<double>(refs.size()));
  if (commit_ms.size() > 40) {
    const std::vector<double> steady(commit_ms.begin() + 40, commit_ms.end());
    std::printf("Commit, rounds 41+ (window full) %4.2f ms  median\n", Median(steady));
  }
  std::printf("Append + Commit per round    %8.2f ms  median\n",
              Median(append_ns) * static_cast<double>(refs.size()) / 1e6 + Median(commit_ms));
  if (!collect_ms.empty()) {
    std::printf("Collect (nothing to drop)    %8.2f ms  median, %.2f ms max\n", Median(collect_ms),
                *std::max_element(collect_ms.begin(), collect_ms.end()));
  }

  std::printf("\n-- memory\n");
  for (const Snapshot& s : snapshots) {
    const double series = static_cast<double>(s.stats.series);
    std::printf(
        "after %2d rounds: %zu series, %.1f samples/series, Stats %.0f B/series, RSS delta %.0f "
        "B/series\n",
        s.round, s.stats.series, static_cast<double>(s.stats.samples) / series,
        static_cast<double>(s.stats.bytes) / series, static_cast<double>(s.rss_delta) / series);
  }

  std::printf("\n-- reads (after the last round; median of 7 runs)\n");
  struct Query {
    const char* text;
    std::vector<Matcher> matchers;
  };
  const std::vector<Query> queries = {
      {"amas_http_request_duration_seconds_bucket",
       {M("__name__", Type::kEqual, "amas_http_request_duration_seconds_bucket")}},
      {"amas_http_request_duration_seconds_bucket{status!~\"5..\"}",
       {M("__name__", Type::kEqual, "amas_http_request_duration_seconds_bucket"),
        M("status", Type::kRegexNoMatch, "5..")}},
      {"amas_http_request_duration_seconds_bucket{service=\"amas-checkout\"}",
       {M("__name__", Type::kEqual, "amas_http_request_duration_seconds_bucket"),
        M("service", Type::kEqual, "amas-checkout")}},
      {"amas_http_requests_total{status=~\"5..\"}",
       {M("__name__", Type::kEqual, "amas_http_requests_total"),
        M("status", Type::kRegexMatch, "5..")}},
      {"amas_http_requests_total", {M("__name__", Type::kEqual, "amas_http_requests_total")}},
      {"amas_node_cpu_seconds_total{mode=\"idle\"}",
       {M("__name__", Type::kEqual, "amas_node_cpu_seconds_total"),
        M("mode", Type::kEqual, "idle")}},
      {"amas_node_cpu_seconds_total{mode=~\"iowait|irq|softirq\"}",
       {M("__name__", Type::kEqual, "amas_node_cpu_seconds_total"),
        M("mode", Type::kRegexMatch, "iowait|irq|softirq")}},
      {"amas_kube_pod_status_phase{phase=~\"Pending|Unknown\"}",
       {M("__name__", Type::kEqual, "amas_kube_pod_status_phase"),
        M("phase", Type::kRegexMatch, "Pending|Unknown")}},
      {"amas_kube_pod_container_info{image=~\".*:(latest|1\\\\.0\\\\..*)\"}",
       {M("__name__", Type::kEqual, "amas_kube_pod_container_info"),
        M("image", Type::kRegexMatch, ".*:(latest|1\\.0\\..*)")}},
      {"amas_node_filesystem_avail_bytes{fstype!~\"tmpfs|overlay\"}",
       {M("__name__", Type::kEqual, "amas_node_filesystem_avail_bytes"),
        M("fstype", Type::kRegexNoMatch, "tmpfs|overlay")}},
      {"amas_cpu_usage_ratio", {M("__name__", Type::kEqual, "amas_cpu_usage_ratio")}},
      {"{__name__=~\"amas_http_.*\"}", {M("__name__", Type::kRegexMatch, "amas_http_.*")}},
      {"{pod=~\"amas-checkout-.*\"}", {M("pod", Type::kRegexMatch, "amas-checkout-.*")}},
      {"up{job=\"amas\"} (absent)",
       {M("__name__", Type::kEqual, "up"), M("job", Type::kEqual, "amas")}},
  };
  {
    // The first Select after new series merges them into label order.
    auto view = store.NewView();
    auto r0 = Clock::now();
    auto sel = view.Select(queries[0].matchers);
    std::printf("first Select (ranks all %zu series by labels once) %.1f ms\n\n", labels.size(),
                Ms(Clock::now() - r0));
  }
  std::printf("%-72s %8s %10s %12s %10s\n", "selector", "series", "Select", "Samples 5m",
              "per series");
  std::vector<amas::store::Sample> samples;
  for (const Query& q : queries) {
    std::vector<double> select_ms, read_ms;
    size_t count = 0, read = 0;
    for (int rep = 0; rep < 7; ++rep) {
      auto view = store.NewView();
      auto s0 = Clock::now();
      auto sel = view.Select(q.matchers);
      auto s1 = Clock::now();
      if (!sel.ok()) {
        std::fprintf(stderr, "%s: %s\n", q.text, sel.status().ToString().c_str());
        return 1;
      }
      count = sel->size();
      read = 0;
      for (SeriesRef ref : *sel) {
        view.Samples(ref, now - 300'000, now, &samples);
        read += samples.size();
      }
      auto s2 = Clock::now();
      select_ms.push_back(Ms(s1 - s0));
      read_ms.push_back(Ms(s2 - s1));
    }
    std::printf("%-72s %8zu %7.3f ms %9.3f ms %7.0f ns\n", q.text, count, Median(select_ms),
                Median(read_ms), count ? Median(read_ms) * 1e6 / static_cast<double>(count) : 0.0);
    if (count && read != count * 20) {
      std::printf("  (read %zu samples, expected %zu)\n", read, count * 20);
    }
  }

  // Churn: pods come and go. New series join the label order at the next
  // Select; series that ended leave at the next Collect.
  std::printf("\n-- churn (2000 series of new pods, then gone)\n");
  {
    std::vector<Labels> fresh;
    for (size_t i = 0; fresh.size() < 2000 && i < labels.size(); i += 97) {
      if (!labels[i].Has("pod")) continue;
      builder.Reset(labels[i]);
      builder.Set("pod", std::string(labels[i].Get("pod")) + "-new");
      fresh.push_back(builder.Build());
    }
    const int64_t old_t = now - 2 * retention.millis();  // already out of the window
    auto c0 = Clock::now();
    for (const Labels& l : fresh) app.Append(app.GetOrCreate(l), old_t, 1);
    app.Commit();
    auto c1 = Clock::now();
    {
      auto view = store.NewView();
      auto s0 = Clock::now();
      auto sel = view.Select(queries[2].matchers);
      auto s1 = Clock::now();
      sel = view.Select(queries[2].matchers);
      std::printf("create + commit                 %8.2f ms\n", Ms(c1 - c0));
      std::printf("next Select (merges them in)    %8.2f ms  (the same Select again: %.3f ms)\n",
                  Ms(s1 - s0), Ms(Clock::now() - s1));
    }
    auto d0 = Clock::now();
    const size_t dropped = store.Collect(now);
    std::printf("Collect dropping %zu           %8.2f ms\n", dropped, Ms(Clock::now() - d0));
  }
  return 0;
}
