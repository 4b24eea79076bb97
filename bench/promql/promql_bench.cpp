// promql_bench: the 56 alerting rules of shared/bench/amas_rules.yml evaluated
// as instant queries over the AMAS workload (~201k series) held in a
// store::Store with several minutes of 5 s samples, single-threaded.
// Prints per-rule cost and result size, and the cost of a whole round (all
// rules, one View), median of several rounds, in thread CPU and wall time.
//
// Data: two expositions of shared/bench/gen_exposition.py (at t=1000 s and
// t=1000 s + duration), linearly interpolated at every step, so counters grow
// and histogram buckets stay cumulative, as consecutive scrapes would.
//
//   promql_bench [--steps=73] [--interval=5s] [--rounds=7] [--scale=1]
//                [--rules=FILE] [--generator=DIR] [--only=RULE_NAME_PREFIX]
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "core/core.h"
#include "expo/expo.h"
#include "promql/promql.h"
#include "store/store.h"

namespace {

using Ns = std::chrono::nanoseconds;

int64_t ThreadCpuNs() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}
int64_t WallNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

std::string Run(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[1 << 16];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  pclose(p);
  return out;
}

struct Scrape {
  std::vector<std::string> keys;  // series() bytes
  std::vector<amas::core::Labels> labels;
  std::vector<double> values;
};

bool ParseScrape(const std::string& body, Scrape* out) {
  amas::expo::Parser p(body, amas::expo::Format::kPrometheusText);
  amas::core::LabelsBuilder b;
  while (true) {
    const amas::expo::Entry e = p.Next();
    if (e == amas::expo::Entry::kEof) return true;
    if (e == amas::expo::Entry::kError) {
      std::cerr << "exposition: " << p.error().ToString() << "\n";
      return false;
    }
    if (e != amas::expo::Entry::kSeries) continue;
    b.Reset();
    if (auto st = p.Labels(&b); !st.ok()) {
      std::cerr << "exposition: " << st.ToString() << "\n";
      return false;
    }
    out->keys.emplace_back(p.series());
    out->labels.push_back(b.Build());
    out->values.push_back(p.value());
  }
}

std::string Flag(int argc, char** argv, const std::string& name, const std::string& def) {
  const std::string prefix = "--" + name + "=";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a.rfind(prefix, 0) == 0) return a.substr(prefix.size());
  }
  return def;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const std::string shared_dir = AMAS_SHARED_DIR;
  const std::string gen_dir = Flag(argc, argv, "generator", shared_dir + "/bench");
  const std::string rules_path = Flag(argc, argv, "rules", shared_dir + "/bench/amas_rules.yml");
  const int steps = std::atoi(Flag(argc, argv, "steps", "73").c_str());
  const int rounds = std::atoi(Flag(argc, argv, "rounds", "7").c_str());
  const std::string scale = Flag(argc, argv, "scale", "1");
  const std::string only = Flag(argc, argv, "only", "");  // rule name prefix, for profiling
  auto interval = amas::core::Duration::Parse(Flag(argc, argv, "interval", "5s"));
  if (!interval.ok() || steps < 2 || rounds < 1) {
    std::cerr << "usage: promql_bench [--steps=N>=2] [--interval=5s] [--rounds=N] [--scale=1]\n";
    return 2;
  }
  const int64_t step_ms = interval->millis();
  const int64_t t0_s = 1000;
  const int64_t span_s = (steps - 1) * step_ms / 1000;

  // Two real scrapes, `span` apart; everything in between is interpolated.
  Scrape a, b;
  const std::string gen = "python3 " + gen_dir + "/gen_exposition.py --scale " + scale;
  if (!ParseScrape(Run(gen + " --time " + std::to_string(t0_s)), &a) ||
      !ParseScrape(Run(gen + " --time " + std::to_string(t0_s + span_s)), &b) ||
      a.keys.empty()) {
    std::cerr << "cannot produce the workload with " << gen << "\n";
    return 1;
  }
  std::vector<double> end_values(a.keys.size());
  {
    std::map<std::string_view, size_t> index;
    for (size_t i = 0; i < b.keys.size(); ++i) index.emplace(b.keys[i], i);
    for (size_t i = 0; i < a.keys.size(); ++i) {
      auto it = index.find(a.keys[i]);
      end_values[i] = it == index.end() ? a.values[i] : b.values[it->second];
    }
  }

  amas::store::Store store;
  std::vector<amas::store::SeriesRef> refs(a.labels.size());
  const int64_t load_start = WallNs();
  for (int k = 0; k < steps; ++k) {
    amas::store::Appender app = store.NewAppender();
    const double f = static_cast<double>(k) / (steps - 1);
    const int64_t ts = t0_s * 1000 + k * step_ms;
    for (size_t i = 0; i < a.labels.size(); ++i) {
      if (k == 0) refs[i] = app.GetOrCreate(a.labels[i]);
      app.Append(refs[i], ts, a.values[i] + (end_values[i] - a.values[i]) * f);
    }
    app.Commit();
  }
  const double load_s = (WallNs() - load_start) / 1e9;
  const amas::store::StoreStats stats = store.Stats();
  const int64_t now_ms = t0_s * 1000 + (steps - 1) * step_ms;

  // The rules' expressions.
  struct Rule {
    std::string name;
    std::string expr;
    amas::promql::ExprPtr parsed;
    std::vector<double> cpu_ms;
    size_t results = 0;
  };
  std::vector<Rule> rules;
  try {
    const YAML::Node doc = YAML::LoadFile(rules_path);
    for (const auto& g : doc["groups"]) {
      for (const auto& r : g["rules"]) {
        Rule rule;
        rule.name = r["alert"] ? r["alert"].as<std::string>() : r["record"].as<std::string>();
        rule.expr = r["expr"].as<std::string>();
        if (rule.name.rfind(only, 0) == 0) rules.push_back(std::move(rule));
      }
    }
  } catch (const std::exception& e) {
    std::cerr << rules_path << ": " << e.what() << "\n";
    return 1;
  }
  for (Rule& r : rules) {
    auto p = amas::promql::Parse(r.expr);
    if (!p.ok()) {
      std::cerr << r.name << ": " << p.status().ToString() << "\n";
      return 1;
    }
    r.parsed = *p;
  }

  amas::promql::Engine engine;
  const amas::core::Time now = amas::core::Time::FromUnixMillis(now_ms);
  // A round: every rule once on one View, as a rule evaluator runs them; with
  // a QueryCache (shared selectors and range calls) or without.
  struct Rounds {
    std::vector<double> cpu, wall;
  };
  auto run = [&](bool cached, Rounds* out) -> bool {
    for (int round = 0; round < rounds; ++round) {
      const int64_t w0 = WallNs(), c0 = ThreadCpuNs();
      const amas::store::View view = store.NewView();
      amas::promql::QueryCache cache(view, now);
      for (Rule& r : rules) {
        const int64_t rc = ThreadCpuNs();
        auto v = engine.InstantQuery(*r.parsed, view, now, cached ? &cache : nullptr);
        if (cached) r.cpu_ms.push_back((ThreadCpuNs() - rc) / 1e6);
        if (!v.ok()) {
          std::cerr << r.name << ": " << v.status().ToString() << "\n";
          return false;
        }
        if (const auto* vec = std::get_if<amas::promql::Vector>(&v->value)) {
          r.results = vec->size();
        }
      }
      out->cpu.push_back((ThreadCpuNs() - c0) / 1e6);
      out->wall.push_back((WallNs() - w0) / 1e6);
    }
    return true;
  };
  Rounds plain, shared;
  if (!run(false, &plain) || !run(true, &shared)) return 1;

  // The cache must never change an answer: compare every rule's text.
  int mismatches = 0;
  {
    const amas::store::View view = store.NewView();
    amas::promql::QueryCache cache(view, now);
    for (const Rule& r : rules) {
      auto a = engine.InstantQuery(*r.parsed, view, now);
      auto b = engine.InstantQuery(*r.parsed, view, now, &cache);
      if (!a.ok() || !b.ok() || amas::promql::FormatValue(a->value) !=
                                    amas::promql::FormatValue(b->value)) {
        ++mismatches;
        std::cerr << "cached result differs for " << r.name << "\n";
      }
    }
  }

  std::printf("workload: %zu series, %d steps of %s (%zu samples in the store, %.1f MB), "
              "loaded in %.1f s\n",
              a.labels.size(), steps, interval->ToString().c_str(), stats.samples,
              stats.bytes / 1e6, load_s);
  std::printf("%-34s %10s %8s\n", "rule (in a cached round)", "cpu_ms", "results");
  for (const Rule& r : rules) {
    std::printf("%-34s %10.2f %8zu\n", r.name.c_str(), Median(r.cpu_ms), r.results);
  }
  const std::pair<const char*, Rounds*> modes[] = {{"without QueryCache", &plain},
                                                   {"with QueryCache", &shared}};
  for (auto [label, rs] : modes) {
    std::sort(rs->cpu.begin(), rs->cpu.end());
    std::printf("round of %zu rules %-18s %d rounds: median %6.1f ms cpu (min %.1f, max %.1f), "
                "median %6.1f ms wall\n",
                rules.size(), label, rounds, Median(rs->cpu), rs->cpu.front(), rs->cpu.back(),
                Median(rs->wall));
  }
  std::printf("cached and uncached results identical for all rules: %s\n",
              mismatches == 0 ? "yes" : "NO");
  return mismatches == 0 ? 0 : 1;
}
