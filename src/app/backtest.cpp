#include "app/backtest.h"

#include <rapidjson/document.h>
#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cmath>
#include <fstream>
#include <mutex>
#include <ostream>
#include <set>
#include <sstream>
#include <unordered_map>

#include "expo/expo.h"
#include "promql/ast.h"
#include "promql/promql.h"
#include "sources/prometheus_api.h"

namespace amas::app {
namespace {

using core::Duration;
using core::Result;
using core::Status;
using core::Time;

// A service tick every 15 s for a month is ~180k rounds; more is a typo.
constexpr size_t kMaxRounds = 2'000'000;

// True iff the last non-empty line is exactly "# EOF".
bool EndsWithEof(std::string_view body) {
  while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.remove_suffix(1);
  const size_t nl = body.rfind('\n');
  return body.substr(nl == std::string_view::npos ? 0 : nl + 1) == "# EOF";
}

// The parser positions errors as "line:col: ..." within the one line it
// saw; this moves them to the file's line and the column as written.
Status AtLine(const std::string& file, int line, int col_shift, const Status& s) {
  std::string_view m = s.message();
  size_t p = 0;
  while (p < m.size() && std::isdigit(static_cast<unsigned char>(m[p]))) ++p;
  if (p > 0 && p < m.size() && m[p] == ':') {
    size_t q = p + 1;
    while (q < m.size() && std::isdigit(static_cast<unsigned char>(m[q]))) ++q;
    if (q > p + 1 && q < m.size() && m[q] == ':') {
      int col = std::stoi(std::string(m.substr(p + 1, q - p - 1)));
      if (col > 1) col += col_shift;
      return Status::InvalidArgument(file + ":" + std::to_string(line) + ":" + std::to_string(col) +
                                     std::string(m.substr(q)));
    }
  }
  return Status::InvalidArgument(file + ":" + std::to_string(line) + ": " + std::string(m));
}

// The clock the Scaler and its executors read: the simulated time.
class ReplayClock : public core::Clock {
 public:
  Time Now() const override { return Time::FromUnixMillis(now_ms_.load()); }
  void Set(Time t) { now_ms_.store(t.unix_millis()); }

 private:
  std::atomic<int64_t> now_ms_{0};
};

// Collects what the Scaler reports while it replays.
class Recorder : public ScalerObserver {
 public:
  void GroupEvaluated(const std::string& group, double, size_t failures, uint64_t) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (failures > 0) failures_[group] += failures;
  }
  void ActionFinished(const act::ActionRecord&) override {}
  void Event(const ScaleEvent& e) override {
    // The first round reports its count as a change from itself: not one.
    if (e.kind != "recommendation" || e.from == e.to) return;
    std::lock_guard<std::mutex> lock(mu_);
    changes_.push_back({e.at, e.target, e.from, e.to, e.reason, {}});
  }
  std::vector<BacktestChange> TakeChanges() {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<BacktestChange> out;
    out.swap(changes_);
    return out;
  }
  std::map<std::string, uint64_t> failures() const {
    std::lock_guard<std::mutex> lock(mu_);
    return failures_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<BacktestChange> changes_;
  std::map<std::string, uint64_t> failures_;
};

// The count a target starts the replay with: what its `current:` expression
// read at start, else a dry_run target's initial_replicas, else min_replicas.
int32_t InitialCount(const ScaleTargetConfig& t, const store::Store& store, Time start) {
  if (!t.current_expr.empty()) {
    Result<promql::ExprPtr> e = promql::Parse(t.current_expr);
    if (e.ok()) {
      promql::Engine engine;
      store::View view = store.NewView();
      Result<promql::Value> v = engine.Instant(**e, view, start);
      std::optional<double> x;
      if (v.ok()) {
        if (const auto* s = std::get_if<promql::Scalar>(&*v)) x = s->value;
        if (const auto* vec = std::get_if<promql::Vector>(&*v); vec && vec->size() == 1) {
          x = (*vec)[0].value;
        }
      }
      if (x && std::isfinite(*x) && *x >= 0 && *x < 1e9) {
        return static_cast<int32_t>(std::llround(*x));
      }
    }
  }
  if (t.actuator.kind == ActuatorConfig::Kind::kDryRun) return t.actuator.initial_replicas;
  return t.target.min_replicas;
}

// Remote groups without a remote: their expressions evaluated over the store.
RemoteQuery LocalRemote(store::Store* store) {
  auto cache = std::make_shared<std::map<std::string, promql::ExprPtr>>();
  auto engine = std::make_shared<promql::Engine>();
  return [store, cache, engine](const std::string& expr, Time t) -> Result<promql::Value> {
    auto it = cache->find(expr);
    if (it == cache->end()) {
      Result<promql::ExprPtr> e = promql::Parse(expr);
      if (!e.ok()) return e.status();
      it = cache->emplace(expr, *e).first;
    }
    store::View view = store->NewView();
    return engine->Instant(*it->second, view, t);
  };
}

void Summarize(const std::vector<std::pair<Time, int32_t>>& rounds, Time end, BacktestTarget* t) {
  if (rounds.empty()) return;
  t->initial = rounds.front().second;
  t->final = rounds.back().second;
  t->min_desired = t->max_desired = t->initial;
  for (const auto& r : rounds) {
    t->min_desired = std::min(t->min_desired, r.second);
    t->max_desired = std::max(t->max_desired, r.second);
  }
  bool seen = false;
  for (size_t i = 0; i < rounds.size(); ++i) {
    if (rounds[i].second != t->max_desired) continue;
    if (!seen) t->first_at_max = rounds[i].first;
    seen = true;
    const Time next = i + 1 < rounds.size() ? rounds[i + 1].first : end;
    t->time_at_max = t->time_at_max + (next - rounds[i].first);
  }
}

// How far before an evaluation time an expression reads, and the
// selectors it reads, as `{matchers}` text for the remote API.
int64_t Reach(const promql::Expr& e, int64_t lookback_ms, std::set<std::string>* selectors) {
  auto selector_text = [](const promql::VectorSelector& vs) {
    std::string s = "{";
    for (const store::Matcher& m : vs.matchers) s += (s.size() > 1 ? "," : "") + m.ToString();
    return s + "}";
  };
  auto reach = [&](const promql::ExprPtr& p) -> int64_t {
    return p ? Reach(*p, lookback_ms, selectors) : 0;
  };
  if (const auto* vs = e.as<promql::VectorSelector>()) {
    selectors->insert(selector_text(*vs));
    return lookback_ms + vs->offset_ms;
  }
  if (const auto* m = e.as<promql::MatrixSelector>()) {
    selectors->insert(selector_text(m->selector));
    return m->range_ms + m->selector.offset_ms;
  }
  if (const auto* s = e.as<promql::SubqueryExpr>())
    return s->range_ms + s->offset_ms + reach(s->expr);
  if (const auto* c = e.as<promql::Call>()) {
    int64_t r = 0;
    for (const promql::ExprPtr& a : c->args) r = std::max(r, reach(a));
    return r;
  }
  if (const auto* a = e.as<promql::AggregateExpr>())
    return std::max(reach(a->expr), reach(a->param));
  if (const auto* b = e.as<promql::BinaryExpr>()) return std::max(reach(b->lhs), reach(b->rhs));
  if (const auto* u = e.as<promql::UnaryExpr>()) return reach(u->expr);
  if (const auto* p = e.as<promql::ParenExpr>()) return reach(p->expr);
  return 0;
}

// The raw samples the local rules read, fetched from a Prometheus API an
// hour at a time as range-vector queries (`{...}[1h]` at the hour's end),
// so rate() and friends see the samples the service would have scraped.
Result<RecordedSpan> FetchSamples(sources::PrometheusApi* api, const Config& config, Time start,
                                  Time end, store::Store* store) {
  std::set<std::string> selectors;
  const int64_t lookback = promql::EngineOptions{}.lookback_delta.millis();
  int64_t reach = lookback;
  auto add = [&](const promql::Expr& e) {
    reach = std::max(reach, Reach(e, lookback, &selectors));
  };
  for (const rules::Group& g : config.rule_set.groups) {
    if (!g.datasource.empty()) continue;  // asked of the API at each round instead
    for (const rules::Rule& r : g.rules) {
      if (r.expr) add(*r.expr);
    }
  }
  for (const ScaleTargetConfig& t : config.scale_targets) {
    for (const std::string* text : {&t.current_expr, &t.ready_when}) {
      if (text->empty()) continue;
      Result<promql::ExprPtr> e = promql::Parse(*text);
      if (e.ok()) add(**e);
    }
  }
  RecordedSpan span;
  std::set<uint64_t> series;
  const Time from = start - Duration::Millis(reach);
  constexpr Duration kChunk = Duration::Hours(1);
  for (Time lo = from; lo < end;) {
    const Time hi = std::min(end, lo + kChunk);
    for (const std::string& sel : selectors) {
      const std::string q = sel + "[" + (hi - lo).ToString() + "]";
      Result<sources::QueryResult> r = api->Query(q, hi);
      if (!r.ok()) return r.status().WithContext("query " + q + " at " + hi.ToRFC3339());
      store::Appender app = store->NewAppender();
      for (const sources::ApiSeries& s : r->series) {
        const store::SeriesRef ref = app.GetOrCreate(s.metric);
        series.insert(s.metric.hash());
        for (const sources::ApiPoint& p : s.points) {
          if (p.t_ms <= lo.unix_millis() || p.t_ms > hi.unix_millis()) continue;  // (lo, hi]
          app.Append(ref, p.t_ms, p.value);
          const Time at = Time::FromUnixMillis(p.t_ms);
          if (span.samples == 0 || at < span.first) span.first = at;
          if (span.samples == 0 || at > span.last) span.last = at;
          ++span.samples;
        }
      }
      app.Commit();
    }
    lo = hi;
  }
  span.series = series.size();
  return span;
}

void PrintText(const BacktestResult& r, std::ostream& out, std::ostream& err) {
  out << "Replaying " << r.start.ToRFC3339() << " to " << r.end.ToRFC3339() << ": " << r.rounds
      << " rounds, " << r.targets.size()
      << (r.targets.size() == 1 ? " scale target" : " scale targets")
      << ", actions simulated (dry_run)\n";
  for (const BacktestChange& c : r.timeline) {
    out << c.at.ToRFC3339() << " " << c.target << " " << c.from << " -> " << c.to;
    if (!c.reason.empty()) out << " " << c.reason;
    out << "\n";
  }
  if (r.timeline.empty()) out << "(no recommendation changed)\n";
  out << "Summary:\n";
  for (const BacktestTarget& t : r.targets) {
    out << "  " << t.name << ": ";
    if (t.changes == 0) {
      out << "no changes, desired " << t.initial << "\n";
      continue;
    }
    out << t.changes << (t.changes == 1 ? " change" : " changes") << ", desired " << t.min_desired
        << ".." << t.max_desired << " (start " << t.initial << ", end " << t.final << "), at "
        << t.max_desired << " for " << t.time_at_max.ToString() << " from "
        << t.first_at_max.ToRFC3339() << "\n";
  }
  for (const auto& [group, n] : r.rule_failures) {
    err << "warning: group " << group << ": " << n
        << " failed rule evaluations (their rules voted as with no data)\n";
  }
}

void PrintJson(const BacktestResult& r, std::ostream& out) {
  using rapidjson::Value;
  rapidjson::Document doc(rapidjson::kObjectType);
  auto& a = doc.GetAllocator();
  auto str = [&a](const std::string& s) {
    return Value(s.c_str(), static_cast<rapidjson::SizeType>(s.size()), a);
  };
  doc.AddMember("start", str(r.start.ToRFC3339()), a);
  doc.AddMember("end", str(r.end.ToRFC3339()), a);
  doc.AddMember("rounds", static_cast<uint64_t>(r.rounds), a);
  Value timeline(rapidjson::kArrayType);
  for (const BacktestChange& c : r.timeline) {
    Value o(rapidjson::kObjectType);
    o.AddMember("time", str(c.at.ToRFC3339()), a);
    o.AddMember("target", str(c.target), a);
    o.AddMember("from", c.from, a);
    o.AddMember("to", c.to, a);
    o.AddMember("reason", str(c.reason), a);
    Value why(rapidjson::kArrayType);
    for (const std::string& w : c.why) why.PushBack(str(w), a);
    o.AddMember("why", why, a);
    timeline.PushBack(o, a);
  }
  doc.AddMember("timeline", timeline, a);
  Value targets(rapidjson::kArrayType);
  for (const BacktestTarget& t : r.targets) {
    Value o(rapidjson::kObjectType);
    o.AddMember("name", str(t.name), a);
    o.AddMember("changes", static_cast<uint64_t>(t.changes), a);
    o.AddMember("initial", t.initial, a);
    o.AddMember("final", t.final, a);
    o.AddMember("min_desired", t.min_desired, a);
    o.AddMember("max_desired", t.max_desired, a);
    o.AddMember("first_at_max", str(t.first_at_max.ToRFC3339()), a);
    o.AddMember("seconds_at_max", t.time_at_max.seconds(), a);
    targets.PushBack(o, a);
  }
  doc.AddMember("targets", targets, a);
  Value failures(rapidjson::kObjectType);
  for (const auto& [group, n] : r.rule_failures) {
    failures.AddMember(str(group), Value(static_cast<uint64_t>(n)), a);
  }
  doc.AddMember("rule_failures", failures, a);
  rapidjson::StringBuffer buf;
  rapidjson::PrettyWriter<rapidjson::StringBuffer> w(buf);
  w.SetIndent(' ', 2);
  doc.Accept(w);
  out << buf.GetString() << "\n";
}

}  // namespace

Result<RecordedSpan> LoadRecordedSamples(std::string_view text, const std::string& file,
                                         store::Store* store) {
  const expo::Format format =
      EndsWithEof(text) ? expo::Format::kOpenMetrics : expo::Format::kPrometheusText;
  RecordedSpan span;
  struct Last {
    int64_t t_ms;
    double value;
  };
  std::unordered_map<uint32_t, Last> last;  // by SeriesRef slot
  store::Appender app = store->NewAppender();
  core::LabelsBuilder b;
  std::string body;
  int line_no = 0;
  size_t pos = 0;
  // Line by line, each its own exposition: captures appended one after
  // another repeat their TYPE lines, which one body may not. Metadata says
  // nothing a replay needs, so comments are skipped.
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = text.substr(pos, eol - pos);
    pos = eol + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    if (line.front() == '#') {
      if (line == "# EOF") break;
      continue;
    }
    // promtool tsdb dump names the metric inside the braces; Prometheus 3's
    // quoted-name form says the same in a way the parser takes.
    int shift = 0;
    constexpr std::string_view kDumpPrefix = "{__name__=\"";
    body.clear();
    if (line.starts_with(kDumpPrefix)) {
      body = "{\"";
      body += line.substr(kDumpPrefix.size());
      shift = static_cast<int>(kDumpPrefix.size() - 2);
    } else {
      body = line;
    }
    body += format == expo::Format::kOpenMetrics ? "\n# EOF\n" : "\n";
    expo::Parser parser(body, format);
    const expo::Entry e = parser.Next();
    if (e == expo::Entry::kError) return AtLine(file, line_no, shift, parser.error());
    if (e != expo::Entry::kSeries) continue;
    if (Status s = parser.Labels(&b); !s.ok()) return AtLine(file, line_no, shift, s);
    const std::optional<int64_t> t = parser.timestamp_ms();
    if (!t) {
      return Status::InvalidArgument(file + ":" + std::to_string(line_no) + ":" +
                                     std::to_string(line.size() + 1) +
                                     ": sample without a timestamp (a backtest needs recorded "
                                     "samples, e.g. /federate output)");
    }
    const core::Labels labels = b.Build();
    const store::SeriesRef ref = app.GetOrCreate(labels);
    const double value = parser.value();
    auto [it, fresh] = last.try_emplace(ref.slot, Last{*t, value});
    if (!fresh) {
      const bool same =
          it->second.t_ms == *t &&
          (it->second.value == value || (std::isnan(value) && std::isnan(it->second.value)));
      if (same) {
        ++span.repeated;
        continue;
      }
      if (*t <= it->second.t_ms) {
        const size_t col = line.find_last_of(" \t") + 2;
        return Status::InvalidArgument(
            file + ":" + std::to_string(line_no) + ":" + std::to_string(col) + ": sample at " +
            Time::FromUnixMillis(*t).ToRFC3339() + " is not after the previous one of " +
            labels.ToString() + " (at " + Time::FromUnixMillis(it->second.t_ms).ToRFC3339() +
            "): each series' samples must come in time order");
      }
      it->second = Last{*t, value};
    }
    app.Append(ref, *t, value);
    const Time at = Time::FromUnixMillis(*t);
    if (span.samples == 0 || at < span.first) span.first = at;
    if (span.samples == 0 || at > span.last) span.last = at;
    ++span.samples;
  }
  app.Commit();
  span.series = last.size();
  return span;
}

Result<BacktestResult> Replay(const Config& config, store::Store* store,
                              const ReplayOptions& options, const RemoteQuery& remote) {
  if (options.end < options.start) {
    return Status::InvalidArgument("--end (" + options.end.ToRFC3339() + ") is before --start (" +
                                   options.start.ToRFC3339() + ")");
  }
  std::vector<std::string> names;
  for (const ScaleTargetConfig& t : config.scale_targets) names.push_back(t.target.name);
  for (const std::string& want : options.targets) {
    if (std::find(names.begin(), names.end(), want) == names.end()) {
      std::string known;
      for (const std::string& n : names) known += (known.empty() ? "" : ", ") + n;
      return Status::NotFound("unknown scale target \"" + want +
                              "\" (the config has: " + (known.empty() ? "none" : known) + ")");
    }
  }

  // Every actuator becomes an in-memory one that starts where the target stood.
  std::vector<ScaleTargetConfig> targets = config.scale_targets;
  for (ScaleTargetConfig& t : targets) {
    ActuatorConfig dry;
    dry.kind = ActuatorConfig::Kind::kDryRun;
    dry.initial_replicas = InitialCount(t, *store, options.start);
    t.actuator = dry;
    t.current_expr.clear();  // the simulated count, not the recorded one
    t.dry_run = false;       // simulated actions do move the simulated count
    t.drift = act::DriftPolicy::kReport;
  }
  rules::RuleSet rule_set = config.rule_set;
  ScalerOptions so;
  so.evaluation_interval = config.global.evaluation_interval;
  if (options.step > Duration()) {
    so.evaluation_interval = options.step;
    for (rules::Group& g : rule_set.groups) g.interval = options.step;
  }
  so.external_labels = config.global.external_labels;
  so.global_dry_run = false;
  so.action_workers = 1;
  Recorder recorder;
  so.observer = &recorder;
  std::map<std::string, RemoteQuery> datasources;
  const RemoteQuery answer = remote ? remote : LocalRemote(store);
  for (const RemoteDatasource& d : config.remote_datasources) datasources[d.name] = answer;

  ReplayClock clock;
  clock.Set(options.start);
  Result<std::unique_ptr<Scaler>> scaler =
      Scaler::Create(std::move(targets), std::move(rule_set), so, datasources, store, &clock);
  if (!scaler.ok()) return scaler.status();

  BacktestResult result;
  result.start = options.start;
  result.end = options.end;
  std::vector<std::vector<std::pair<Time, int32_t>>> desired(names.size());
  for (Time t = options.start; t <= options.end;) {
    if (++result.rounds > kMaxRounds) {
      return Status::InvalidArgument("more than " + std::to_string(kMaxRounds) +
                                     " rounds between --start and --end: use a larger --step");
    }
    clock.Set(t);
    (*scaler)->Tick(t);
    (*scaler)->Drain();  // the simulated action lands before the next round
    const std::vector<TargetReport> reports = (*scaler)->Reports();
    for (BacktestChange& c : recorder.TakeChanges()) {
      for (const TargetReport& r : reports) {
        if (r.name == c.target && r.last) c.why = r.last->why;
      }
      result.timeline.push_back(std::move(c));
    }
    for (size_t i = 0; i < reports.size() && i < desired.size(); ++i) {
      if (reports[i].last && reports[i].last->at == t) {
        desired[i].emplace_back(t, reports[i].last->desired);
      }
    }
    const Time next = (*scaler)->NextDue();
    t = next > t ? next : t + Duration::Millis(1);
  }
  (*scaler)->Drain();

  auto wanted = [&](const std::string& name) {
    return options.targets.empty() ||
           std::find(options.targets.begin(), options.targets.end(), name) != options.targets.end();
  };
  std::erase_if(result.timeline, [&](const BacktestChange& c) { return !wanted(c.target); });
  for (size_t i = 0; i < names.size(); ++i) {
    if (!wanted(names[i])) continue;
    BacktestTarget t;
    t.name = names[i];
    Summarize(desired[i], options.end, &t);
    for (const BacktestChange& c : result.timeline) t.changes += c.target == t.name ? 1 : 0;
    result.targets.push_back(std::move(t));
  }
  result.rule_failures = recorder.failures();
  return result;
}

int Backtest(const BacktestFlags& f, std::ostream& out, std::ostream& err) {
  if (f.source.empty()) {
    err << "backtest: expected --source=FILE|URL (recorded samples, or a Prometheus API)\n";
    return 2;
  }
  auto fail = [&err](const Status& s) {
    err << "backtest: " << s.message() << "\n";
    return 1;
  };
  std::optional<Time> start, end;
  for (auto [flag, text, slot] :
       {std::tuple{"--start", &f.start, &start}, std::tuple{"--end", &f.end, &end}}) {
    if (text->empty()) continue;
    Result<Time> t = Time::Parse(*text);
    if (!t.ok()) return fail(t.status().WithContext(flag));
    *slot = *t;
  }
  ReplayOptions ro;
  ro.targets = f.targets;
  if (!f.step.empty()) {
    Result<Duration> d = Duration::Parse(f.step);
    if (!d.ok()) return fail(d.status().WithContext("--step"));
    if (*d <= Duration()) return fail(Status::InvalidArgument("--step must be positive"));
    ro.step = *d;
  }
  Result<Config> config = LoadConfigFile(f.config_file);
  if (!config.ok()) return fail(config.status());

  store::Store store(store::StoreOptions{Duration()});  // keeps every sample
  RemoteQuery remote;
  const bool url = f.source.starts_with("http://") || f.source.starts_with("https://");
  if (url) {
    if (!start || !end) {
      err << "backtest: --start and --end are required with a URL source\n";
      return 2;
    }
    sources::PrometheusApiOptions po;
    po.url = f.source;
    Result<std::unique_ptr<sources::PrometheusApi>> api = sources::PrometheusApi::Create(po);
    if (!api.ok()) return fail(api.status());
    std::shared_ptr<sources::PrometheusApi> shared = std::move(*api);
    Result<RecordedSpan> span = FetchSamples(shared.get(), *config, *start, *end, &store);
    if (!span.ok()) return fail(span.status().WithContext(f.source));
    remote = RemoteQueryOf(shared);
  } else {
    std::ifstream file(f.source, std::ios::binary);
    if (!file) return fail(Status::NotFound(f.source + ": cannot read the file"));
    std::ostringstream body;
    body << file.rdbuf();
    const std::string text = body.str();
    Result<RecordedSpan> span = LoadRecordedSamples(text, f.source, &store);
    if (!span.ok()) return fail(span.status());
    if (span->samples == 0) return fail(Status::InvalidArgument(f.source + ": no samples"));
    start = start.value_or(span->first);
    end = end.value_or(span->last);
  }
  ro.start = *start;
  ro.end = *end;
  Result<BacktestResult> result = Replay(*config, &store, ro, remote);
  if (!result.ok()) return fail(result.status());
  if (f.output == "json") {
    PrintJson(*result, out);
  } else {
    PrintText(*result, out, err);
  }
  return 0;
}

}  // namespace amas::app
