#include "app/scaler.h"
#include "promql/go_strconv.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <set>
#include <thread>

#include "app/actuators.h"
#include "core/value.h"
#include "rules/template.h"
#include "sources/prometheus_api.h"

namespace amas::app {
namespace {

using core::Duration;
using core::Result;
using core::Status;
using core::Time;

// Prometheus's answer in the shape our rules evaluate.
promql::Value ToValue(sources::QueryResult r) {
  using Type = sources::QueryResult::Type;
  switch (r.type) {
    case Type::kScalar:
      return promql::Scalar{r.scalar.t_ms, r.scalar.value};
    case Type::kString:
      return promql::String{r.string_t_ms, r.string_value};
    case Type::kMatrix: {
      promql::Matrix m;
      for (auto& s : r.series) {
        promql::Series out{std::move(s.metric), {}};
        for (const auto& p : s.points) out.points.push_back({p.t_ms, p.value});
        m.push_back(std::move(out));
      }
      return m;
    }
    case Type::kVector:
      break;
  }
  promql::Vector v;
  for (auto& s : r.series) {
    if (!s.points.empty()) v.push_back({std::move(s.metric), s.points[0].t_ms, s.points[0].value});
  }
  return v;
}

// Rules evaluated against our own store. Within a round that writes no
// recorded series, every rule shares one View and one QueryCache (selectors
// resolved once, identical rate() calls computed once); otherwise each rule
// gets a fresh View, so it sees what earlier rules of its group recorded.
class LocalQuerier : public rules::Querier {
 public:
  LocalQuerier(const store::Store* store, const promql::Engine* engine)
      : store_(store), engine_(engine) {}
  Result<promql::Value> Query(const rules::Rule& rule, Time t) override {
    if (rule.expr == nullptr)
      return Status::Internal("rule " + rule.name + " has no parsed expression");
    if (round_view_ && round_time_ == t) {
      auto r = engine_->InstantQuery(*rule.expr, *round_view_, t, round_cache_.get());
      if (!r.ok()) return r.status();
      return std::move(r->value);
    }
    store::View view = store_->NewView();
    return engine_->Instant(*rule.expr, view, t);
  }
  // The caller must not append to the store until EndRound().
  void BeginRound(Time t) {
    round_view_ = std::make_unique<store::View>(store_->NewView());
    round_cache_ = std::make_unique<promql::QueryCache>(*round_view_, t);
    round_time_ = t;
  }
  void EndRound() {
    round_cache_.reset();  // before the View it points into
    round_view_.reset();
  }

 private:
  const store::Store* store_;
  const promql::Engine* engine_;
  std::unique_ptr<store::View> round_view_;
  std::unique_ptr<promql::QueryCache> round_cache_;
  Time round_time_;
};

class RemoteQuerier : public rules::Querier {
 public:
  explicit RemoteQuerier(RemoteQuery query) : query_(std::move(query)) {}
  Result<promql::Value> Query(const rules::Rule& rule, Time t) override {
    return query_(rule.expr_text, t);
  }

 private:
  RemoteQuery query_;
};

// Recorded series and ALERTS go to the store, one commit per rule, or one
// at the end of the round while a shared View is open (deferred).
class StoreSink : public rules::SampleSink {
 public:
  explicit StoreSink(store::Store* store) : store_(store) {}
  void Write(const core::Labels& labels, int64_t t_ms, double value) override {
    pending_.push_back({labels, t_ms, value});
  }
  void Flush() override {
    if (!deferred_) Commit();
  }
  void set_deferred(bool deferred) { deferred_ = deferred; }
  void Commit() {
    if (pending_.empty()) return;
    store::Appender app = store_->NewAppender();
    for (const auto& p : pending_) app.Append(app.GetOrCreate(p.labels), p.t_ms, p.value);
    app.Commit();
    pending_.clear();
  }

 private:
  struct Pending {
    core::Labels labels;
    int64_t t_ms;
    double value;
  };
  store::Store* store_;
  std::vector<Pending> pending_;
  bool deferred_ = false;
};

class RealSleeper : public act::Sleeper {
 public:
  void Sleep(Duration d) override {
    std::this_thread::sleep_for(std::chrono::milliseconds(d.millis()));
  }
};

// Times rules for /api/v1/rules' evaluationTime (sub-millisecond, unlike core::Clock).
class SteadyStopwatch : public rules::Stopwatch {
 public:
  double Seconds() override {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
};

std::string DescribeThreshold(const rules::Threshold& t) {
  std::string s =
      (t.op == rules::Threshold::Op::kAbove ? "above " : "below ") + promql::FormatFloatG(t.value);
  if (t.hold > Duration()) s += " for " + t.hold.ToString();
  return s;
}

// Instant value of an expression as one number: a scalar, or a vector of
// exactly one sample. Anything else is an error naming what came back.
Result<double> SingleValue(const promql::Value& v) {
  if (const auto* s = std::get_if<promql::Scalar>(&v)) return s->value;
  if (const auto* vec = std::get_if<promql::Vector>(&v)) {
    if (vec->size() == 1) return (*vec)[0].value;
    return Status::InvalidArgument("expected one series, got " + std::to_string(vec->size()));
  }
  return Status::InvalidArgument("expected a scalar or a one-series vector");
}

}  // namespace

struct Scaler::Impl {
  struct GroupRuntime {
    std::unique_ptr<rules::GroupEvaluator> evaluator;
    std::unique_ptr<rules::Querier> querier;
    LocalQuerier* local = nullptr;  // querier, when it reads our store
    bool has_recording_rules = false;
    Duration interval;
    Time next_due;
    GroupCounters counters;
    double last_duration_seconds = 0;
    Time last_evaluation;
  };
  struct VoteEntry {
    const rules::Rule* rule = nullptr;
    std::string group;
    rules::ScaleVote vote;
  };
  struct TargetRuntime {
    ScaleTargetConfig config;
    std::unique_ptr<act::Executor> executor;
    promql::ExprPtr current_expr, ready_expr;
    decide::History history;
    std::map<std::string, VoteEntry> votes;  // by group/rule
    std::optional<int32_t> last_desired;
    Time last_decided;  // targets no group touched are revisited every evaluation_interval
  };
  struct Job {
    size_t target;
    act::ActionRequest request;
  };

  ScalerOptions options;
  store::Store* store = nullptr;
  const core::Clock* clock = nullptr;
  promql::Engine engine;
  RealSleeper sleeper;
  SteadyStopwatch stopwatch;
  act::FenceTracker fences;
  std::atomic<bool> global_dry_run{false};
  std::unique_ptr<act::ActionLog> log;
  std::vector<GroupRuntime> groups;
  std::vector<TargetRuntime> targets;
  std::map<std::string, size_t> target_index;

  // Published snapshots.
  mutable std::mutex report_mu;
  std::vector<TargetReport> reports;
  std::vector<RuleGroupReport> group_reports;
  std::map<std::string, GroupCounters> group_stats;

  // Action workers: at most one job queued per target; a newer one replaces it.
  std::mutex job_mu;
  std::condition_variable job_cv;
  std::deque<Job> jobs;
  std::set<size_t> busy;
  bool stopping = false;
  std::vector<std::thread> workers;
  std::mutex done_mu;
  std::vector<std::pair<size_t, act::ActionRecord>> done;

  explicit Impl(ScalerOptions opts) : options(std::move(opts)), engine(options.engine) {}

  void Emit(const ScaleEvent& e) {
    if (options.observer != nullptr) options.observer->Event(e);
  }

  void Worker() {
    while (true) {
      Job job;
      {
        std::unique_lock<std::mutex> lock(job_mu);
        job_cv.wait(lock, [&] {
          if (stopping && jobs.empty()) return true;
          return std::any_of(jobs.begin(), jobs.end(),
                             [&](const Job& j) { return !busy.contains(j.target); });
        });
        if (stopping && jobs.empty()) return;
        auto it = std::find_if(jobs.begin(), jobs.end(),
                               [&](const Job& j) { return !busy.contains(j.target); });
        job = std::move(*it);
        jobs.erase(it);
        busy.insert(job.target);
      }
      TargetRuntime& rt = targets[job.target];
      ScaleEvent started;
      started.kind = "action_started";
      started.target = rt.config.target.name;
      started.to = job.request.desired;
      started.from = rt.executor->State().observed.value_or(-1);
      started.reason = job.request.reason;
      started.at = clock->Now();
      if (started.from != started.to) Emit(started);
      act::ActionRecord record = rt.executor->Act(job.request);
      {
        std::lock_guard<std::mutex> lock(done_mu);
        done.emplace_back(job.target, record);
      }
      {
        std::lock_guard<std::mutex> lock(job_mu);
        busy.erase(job.target);
      }
      job_cv.notify_all();
    }
  }

  void Submit(size_t target, act::ActionRequest request) {
    {
      std::lock_guard<std::mutex> lock(job_mu);
      auto it =
          std::find_if(jobs.begin(), jobs.end(), [&](const Job& j) { return j.target == target; });
      if (it != jobs.end()) {
        it->request = std::move(request);  // the newer decision wins
      } else {
        jobs.push_back({target, std::move(request)});
      }
    }
    job_cv.notify_all();
  }

  // Applied actions become scale events in the decide history, as the HPA
  // stores one after each successful rescale.
  void CollectDone() {
    std::vector<std::pair<size_t, act::ActionRecord>> finished;
    {
      std::lock_guard<std::mutex> lock(done_mu);
      finished.swap(done);
    }
    for (auto& [index, record] : finished) {
      TargetRuntime& rt = targets[index];
      if (record.result == act::ActionResult::kApplied ||
          record.result == act::ActionResult::kDryRun) {
        decide::Decision applied;
        applied.at = record.finished;
        applied.current = record.from;
        applied.desired = record.to;
        if (record.from >= 0 && record.to >= 0)
          decide::RecordScale(rt.config.target, applied, &rt.history);
      }
      ScaleEvent e;
      e.kind = record.result == act::ActionResult::kFailed ? "action_failed" : "action_succeeded";
      e.target = record.target;
      e.from = record.from;
      e.to = record.to;
      e.reason =
          record.why.empty() ? std::string(act::ResultName(record.result)) : record.why.back();
      e.error = record.error;
      e.at = record.finished;
      if (record.result != act::ActionResult::kUnchanged) Emit(e);
    }
  }

  Result<double> EvalLocal(const promql::Expr& expr, Time t) {
    store::View view = store->NewView();
    Result<promql::Value> v = engine.Instant(expr, view, t);
    if (!v.ok()) return v.status();
    return SingleValue(*v);
  }

  // docs/actuators.md: a comparison that filters everything out closes the
  // gate, any sample left opens it, whatever its value (a lag of 0 passes
  // `lag < 10` as 0). A scalar (`bool` forms) opens when non-zero. No data,
  // NaN and errors never open it.
  act::Gate ReadyGate(const promql::Expr& expr, Time now) {
    act::Gate gate;
    store::View view = store->NewView();
    Result<promql::Value> v = engine.Instant(expr, view, now);
    if (!v.ok()) return {false, "ready_when: " + v.status().message()};
    if (const auto* s = std::get_if<promql::Scalar>(&*v)) {
      gate.ready = s->value != 0 && !std::isnan(s->value);
      gate.reason = "ready_when = " + promql::FormatFloatG(s->value);
      return gate;
    }
    const auto* vec = std::get_if<promql::Vector>(&*v);
    if (vec == nullptr) return {false, "ready_when: expected a scalar or an instant vector"};
    for (const auto& sample : *vec) {
      if (!std::isnan(sample.value)) {
        return {true, "ready_when = " + promql::FormatFloatG(sample.value)};
      }
    }
    return {false, vec->empty() ? "ready_when: no series (not met)" : "ready_when: NaN (no data)"};
  }

  void EvaluateGroups(Time now, std::set<size_t>* touched) {
    StoreSink sink(store);
    for (GroupRuntime& g : groups) {
      if (now < g.next_due) continue;
      // Rounds that passed while we were busy are missed, as in Prometheus.
      const int64_t late = (now - g.next_due).millis() / std::max<int64_t>(1, g.interval.millis());
      g.counters.missed += static_cast<uint64_t>(late);
      g.next_due = g.next_due + g.interval * (late + 1);
      const double started = stopwatch.Seconds();
      const bool shared_view = g.local != nullptr && !g.has_recording_rules;
      if (shared_view) {
        g.local->BeginRound(now);
        sink.set_deferred(true);
      }
      rules::GroupResult result = g.evaluator->Eval(*g.querier, sink, now, &stopwatch);
      if (shared_view) {
        g.local->EndRound();
        sink.set_deferred(false);
        sink.Commit();
      }
      g.last_duration_seconds = stopwatch.Seconds() - started;
      g.last_evaluation = now;
      ++g.counters.iterations;
      g.counters.failures += result.failures;
      if (options.observer != nullptr) {
        options.observer->GroupEvaluated(g.evaluator->group().name, g.last_duration_seconds,
                                         result.failures, static_cast<uint64_t>(late));
      }
      const rules::Group& group = g.evaluator->group();
      for (rules::ScaleVote& vote : result.votes) {
        auto it = target_index.find(vote.target);
        if (it == target_index.end()) continue;  // checked at Create
        const rules::Rule* rule = nullptr;
        for (const rules::Rule& r : group.rules) {
          if (r.kind == rules::Rule::Kind::kScale && r.name == vote.rule && r.target == vote.target)
            rule = &r;
        }
        TargetRuntime& rt = targets[it->second];
        const std::string key = group.name + "/" + vote.rule;
        rt.votes[key] = VoteEntry{rule, group.name, std::move(vote)};
        touched->insert(it->second);
      }
    }
  }

  void DecideTarget(size_t index, Time now) {
    TargetRuntime& rt = targets[index];
    const decide::Target& target = rt.config.target;
    TargetReport report;
    report.name = target.name;
    report.min_replicas = target.min_replicas;
    report.max_replicas = target.max_replicas;
    report.paused = target.paused;
    report.paused_scale_up = target.paused_scale_up;
    report.paused_scale_down = target.paused_scale_down;
    report.dry_run = rt.config.dry_run || options.global_dry_run;
    std::optional<act::Fence> fence = options.fence();

    // The current count: a PromQL expression when configured, else the actuator.
    std::optional<int32_t> current;
    if (rt.current_expr) {
      Result<double> v = EvalLocal(*rt.current_expr, now);
      if (v.ok() && std::isfinite(*v) && *v >= 0) {
        current = static_cast<int32_t>(std::llround(*v));
      } else {
        report.current_error =
            "current: " + (v.ok() ? "value " + promql::FormatFloatG(*v) + " is not a count"
                                  : v.status().message());
      }
    } else {
      act::Observation obs = rt.executor->Observe(fence.value_or(act::Fence{}));
      if (obs.current) {
        current = obs.current;
      } else {
        report.current_error = obs.status.message();
      }
    }
    report.current = current;

    std::vector<decide::Verdict> verdicts;
    for (const auto& [key, entry] : rt.votes) {
      if (entry.rule != nullptr) verdicts.push_back(VerdictFromVote(*entry.rule, entry.vote));
      RuleReport rr;
      rr.group = entry.group;
      rr.vote = entry.vote;
      if (entry.rule != nullptr && entry.rule->scale_up) {
        rr.threshold_up = DescribeThreshold(*entry.rule->scale_up);
        rr.up_value = entry.rule->scale_up->value;
        rr.up_is_above = entry.rule->scale_up->op == rules::Threshold::Op::kAbove;
      }
      if (entry.rule != nullptr && entry.rule->scale_down) {
        rr.threshold_down = DescribeThreshold(*entry.rule->scale_down);
        rr.down_value = entry.rule->scale_down->value;
        rr.down_is_below = entry.rule->scale_down->op == rules::Threshold::Op::kBelow;
      }
      report.rules.push_back(std::move(rr));
    }

    if (current) {
      decide::Round round{now, *current, verdicts};
      decide::Decision d = decide::Decide(target, round, rt.history);
      rt.history = d.history;
      DecisionReport dr{d.at,
                        d.current,
                        d.raw,
                        d.desired,
                        std::string(decide::LimitName(d.limit)),
                        std::vector<std::string>(d.why.begin(), d.why.end())};
      report.last = dr;

      if (!rt.last_desired || *rt.last_desired != d.desired) {
        ScaleEvent e;
        e.kind = "recommendation";
        e.target = target.name;
        e.from = rt.last_desired.value_or(d.current);
        e.to = d.desired;
        e.reason = d.why.empty() ? "" : d.why[d.why.size() - 1];
        for (const auto& [key, entry] : rt.votes) {
          if (entry.vote.kind != rules::ScaleVote::Kind::kNoData)
            e.rule_values.emplace_back(entry.vote.rule, entry.vote.value);
        }
        e.at = now;
        Emit(e);
      }
      rt.last_desired = d.desired;

      if (d.desired != d.current && fence) {
        act::Gate gate;
        if (rt.ready_expr) {
          gate = ReadyGate(*rt.ready_expr, now);
          report.gate = gate.ready ? "ready" : gate.reason;
        }
        act::ActionRequest req;
        req.desired = d.desired;
        req.fence = *fence;
        req.gate = std::move(gate);
        req.decided_at = now;
        req.reason = d.why.empty() ? "decision" : d.why[d.why.size() - 1];
        Submit(index, std::move(req));
      }
    }
    report.state = rt.executor->State();

    std::lock_guard<std::mutex> lock(report_mu);
    TargetReport& slot = reports[index];
    std::deque<DecisionReport> recent = std::move(slot.recent);
    if (report.last) {
      recent.push_back(*report.last);
      while (recent.size() > options.recent_decisions) recent.pop_front();
    }
    report.actuator = slot.actuator;
    report.recent = std::move(recent);
    slot = std::move(report);
  }

  void PublishGroups() {
    std::vector<RuleGroupReport> out;
    for (const GroupRuntime& g : groups) {
      RuleGroupReport r;
      r.group = g.evaluator->group();
      r.health = g.evaluator->health();
      for (size_t i = 0; i < r.group.rules.size(); ++i) r.alerts.push_back(g.evaluator->Alerts(i));
      r.last_evaluation = g.last_evaluation;
      r.last_duration_seconds = g.last_duration_seconds;
      r.interval = g.interval;
      out.push_back(std::move(r));
    }
    std::map<std::string, GroupCounters> stats;
    for (const GroupRuntime& g : groups) stats[g.evaluator->group().name] = g.counters;
    std::lock_guard<std::mutex> lock(report_mu);
    group_reports = std::move(out);
    group_stats = std::move(stats);
  }
};

Result<std::unique_ptr<Scaler>> Scaler::Create(std::vector<ScaleTargetConfig> targets,
                                               rules::RuleSet rule_set, ScalerOptions options,
                                               std::map<std::string, RemoteQuery> datasources,
                                               store::Store* store, const core::Clock* clock) {
  std::unique_ptr<Scaler> s(new Scaler());
  s->impl_ = std::make_unique<Impl>(std::move(options));
  Impl& im = *s->impl_;
  im.store = store;
  im.clock = clock;
  im.global_dry_run = im.options.global_dry_run;
  im.log = std::make_unique<act::ActionLog>(256, [&im](const act::ActionRecord& r) {
    if (im.options.observer != nullptr) im.options.observer->ActionFinished(r);
  });

  ActuatorFactory factory(clock, &im.sleeper);
  for (ScaleTargetConfig& c : targets) {
    Impl::TargetRuntime rt;
    const std::string name = c.target.name;
    if (!c.current_expr.empty()) {
      Result<promql::ExprPtr> e = promql::Parse(c.current_expr);
      if (!e.ok())
        return Status::InvalidArgument("scale target " + name +
                                       ": current: " + e.status().message());
      rt.current_expr = *e;
    }
    if (!c.ready_when.empty()) {
      Result<promql::ExprPtr> e = promql::Parse(c.ready_when);
      if (!e.ok())
        return Status::InvalidArgument("scale target " + name +
                                       ": ready_when: " + e.status().message());
      rt.ready_expr = *e;
    }
    Result<std::unique_ptr<act::Actuator>> actuator = factory.Make(c);
    if (!actuator.ok()) return actuator.status().WithContext("scale target " + name);
    const std::string kind((*actuator)->kind());
    act::TargetPolicy policy;
    policy.target = name;
    policy.min_replicas = c.target.min_replicas;
    policy.max_replicas = c.target.max_replicas;
    policy.max_step = c.max_step;
    policy.dry_run = c.dry_run;
    policy.drift = c.drift;
    act::ExecutorDeps deps{clock, &im.sleeper, im.log.get(), &im.fences, &im.global_dry_run};
    Result<std::unique_ptr<act::Executor>> ex =
        act::Executor::Create(std::move(*actuator), policy, act::RetryPolicy{}, deps);
    if (!ex.ok()) return ex.status().WithContext("scale target " + name);
    rt.executor = std::move(*ex);
    rt.config = std::move(c);
    im.target_index[name] = im.targets.size();
    im.targets.push_back(std::move(rt));
    TargetReport report;
    report.name = name;
    report.actuator = kind;
    im.reports.push_back(std::move(report));
  }

  const Time now = clock->Now();
  for (rules::Group& g : rule_set.groups) {
    for (const rules::Rule& r : g.rules) {
      if (r.kind == rules::Rule::Kind::kScale && !im.target_index.contains(r.target)) {
        return Status::InvalidArgument(r.file + ":" + std::to_string(r.line) + ": scale rule \"" +
                                       r.name + "\" names unknown scale target \"" + r.target +
                                       "\"");
      }
    }
    Impl::GroupRuntime gr;
    gr.interval = g.interval > Duration() ? g.interval : im.options.evaluation_interval;
    for (const rules::Rule& r : g.rules)
      gr.has_recording_rules |= r.kind == rules::Rule::Kind::kRecord;
    if (g.datasource.empty()) {
      auto local = std::make_unique<LocalQuerier>(store, &im.engine);
      gr.local = local.get();
      gr.querier = std::move(local);
    } else {
      auto ds = datasources.find(g.datasource);
      if (ds == datasources.end()) {
        return Status::InvalidArgument(g.file + ": group \"" + g.name +
                                       "\" uses unknown datasource \"" + g.datasource + "\"");
      }
      gr.querier = std::make_unique<RemoteQuerier>(ds->second);
    }
    gr.next_due = now;
    rules::EvalOptions eo;
    eo.external_labels = im.options.external_labels;
    eo.external_url = im.options.external_url;
    gr.evaluator = std::make_unique<rules::GroupEvaluator>(std::move(g), eo);
    im.groups.push_back(std::move(gr));
  }
  const int workers = std::max(1, im.options.action_workers);
  for (int i = 0; i < workers; ++i) im.workers.emplace_back([&im] { im.Worker(); });
  im.PublishGroups();
  return s;
}

Scaler::~Scaler() {
  if (impl_ == nullptr) return;
  {
    std::lock_guard<std::mutex> lock(impl_->job_mu);
    impl_->stopping = true;
  }
  impl_->job_cv.notify_all();
  for (std::thread& t : impl_->workers) t.join();
}

void Scaler::Drain() {
  std::unique_lock<std::mutex> lock(impl_->job_mu);
  impl_->job_cv.wait(lock, [&] { return impl_->jobs.empty() && impl_->busy.empty(); });
}

void Scaler::Tick(Time now) {
  Impl& im = *impl_;
  im.CollectDone();
  std::set<size_t> touched;
  im.EvaluateGroups(now, &touched);
  // A target without rules (a fixed-size cluster) or whose groups are slow
  // is still observed for drift and held inside its bounds.
  for (size_t i = 0; i < im.targets.size(); ++i) {
    if (now - im.targets[i].last_decided >= im.options.evaluation_interval) touched.insert(i);
  }
  for (size_t index : touched) {
    im.targets[index].last_decided = now;
    im.DecideTarget(index, now);
  }
  im.PublishGroups();
}

Time Scaler::NextDue() const {
  Time next = Time::FromUnixMillis(INT64_MAX);
  for (const auto& g : impl_->groups) next = std::min(next, g.next_due);
  for (const auto& t : impl_->targets) {
    next = std::min(next, t.last_decided + impl_->options.evaluation_interval);
  }
  return next;
}

std::vector<TargetReport> Scaler::Reports() const {
  std::vector<TargetReport> out;
  {
    std::lock_guard<std::mutex> lock(impl_->report_mu);
    out = impl_->reports;
  }
  // The executor's state moves on while actions run: read it fresh.
  for (size_t i = 0; i < out.size(); ++i) out[i].state = impl_->targets[i].executor->State();
  return out;
}

std::vector<RuleGroupReport> Scaler::RuleGroups() const {
  std::lock_guard<std::mutex> lock(impl_->report_mu);
  return impl_->group_reports;
}

std::map<act::ActionLog::Key, uint64_t> Scaler::ActionCounts() const {
  return impl_->log->Counts();
}

std::map<std::string, Scaler::GroupCounters> Scaler::GroupStats() const {
  std::lock_guard<std::mutex> lock(impl_->report_mu);
  return impl_->group_stats;
}

// The state document: {"version":1,"saved_at_ms":..,"rules":[..],"targets":{..}}.
std::string Scaler::SaveState(Time now) const {
  using rapidjson::Value;
  rapidjson::Document doc(rapidjson::kObjectType);
  auto& a = doc.GetAllocator();
  doc.AddMember("version", 1, a);
  doc.AddMember("saved_at_ms", now.unix_millis(), a);
  Value rules_json(rapidjson::kArrayType);
  for (const auto& g : impl_->groups) {
    for (const rules::ActiveRecord& r : g.evaluator->Save()) {
      Value o(rapidjson::kObjectType);
      o.AddMember("group", Value(r.group.c_str(), a), a);
      o.AddMember("rule", Value(r.rule.c_str(), a), a);
      o.AddMember("kind", Value(r.kind.c_str(), a), a);
      Value labels(rapidjson::kObjectType);
      for (core::Label l : r.labels) {
        labels.AddMember(Value(std::string(l.name).c_str(), a),
                         Value(std::string(l.value).c_str(), a), a);
      }
      o.AddMember("labels", labels, a);
      o.AddMember("state", Value(std::string(rules::ActiveStateName(r.state)).c_str(), a), a);
      o.AddMember("active_at_ms", r.active_at.unix_millis(), a);
      o.AddMember("fired_at_ms", r.fired_at.unix_millis(), a);
      o.AddMember("keep_firing_since_ms", r.keep_firing_since.unix_millis(), a);
      o.AddMember("value", std::isfinite(r.value) ? r.value : 0.0, a);
      rules_json.PushBack(o, a);
    }
  }
  doc.AddMember("rules", rules_json, a);
  Value targets(rapidjson::kObjectType);
  for (const auto& rt : impl_->targets) {
    Value t(rapidjson::kObjectType);
    Value recs(rapidjson::kArrayType);
    for (const auto& r : rt.history.recommendations) {
      Value e(rapidjson::kArrayType);
      e.PushBack(r.at.unix_millis(), a).PushBack(r.replicas, a);
      recs.PushBack(e, a);
    }
    t.AddMember("recommendations", recs, a);
    for (const char* key : {"scale_up_events", "scale_down_events"}) {
      const auto& list = std::string_view(key) == "scale_up_events" ? rt.history.scale_up_events
                                                                    : rt.history.scale_down_events;
      Value events(rapidjson::kArrayType);
      for (const auto& ev : list) {
        Value e(rapidjson::kArrayType);
        e.PushBack(ev.at.unix_millis(), a).PushBack(ev.change, a).PushBack(ev.outdated, a);
        events.PushBack(e, a);
      }
      t.AddMember(Value(key, a), events, a);
    }
    if (rt.history.last_scale_time) {
      t.AddMember("last_scale_time_ms", rt.history.last_scale_time->unix_millis(), a);
    }
    if (rt.last_desired) t.AddMember("last_desired", *rt.last_desired, a);
    targets.AddMember(Value(rt.config.target.name.c_str(), a), t, a);
  }
  doc.AddMember("targets", targets, a);
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  doc.Accept(w);
  return buf.GetString();
}

Status Scaler::RestoreState(std::string_view document, Time now, Duration outage_tolerance) {
  rapidjson::Document doc;
  doc.Parse(document.data(), document.size());
  auto bad = [](const std::string& why) {
    return Status::InvalidArgument("state document: " + why);
  };
  if (doc.HasParseError() || !doc.IsObject()) return bad("not a JSON object");
  if (!doc.HasMember("version") || !doc["version"].IsInt() || doc["version"].GetInt() != 1) {
    return bad("unsupported version");
  }
  if (!doc.HasMember("saved_at_ms") || !doc["saved_at_ms"].IsInt64()) return bad("no saved_at_ms");
  const Time saved_at = Time::FromUnixMillis(doc["saved_at_ms"].GetInt64());
  auto i64 = [](const rapidjson::Value& o, const char* k) -> int64_t {
    return o.HasMember(k) && o[k].IsInt64() ? o[k].GetInt64() : 0;
  };
  // Validate everything before changing anything: a partial restore is worse than none.
  std::vector<rules::ActiveRecord> records;
  if (doc.HasMember("rules")) {
    if (!doc["rules"].IsArray()) return bad("rules is not a list");
    for (const auto& o : doc["rules"].GetArray()) {
      if (!o.IsObject() || !o.HasMember("group") || !o["group"].IsString() ||
          !o.HasMember("rule") || !o["rule"].IsString() || !o.HasMember("kind") ||
          !o["kind"].IsString() || !o.HasMember("labels") || !o["labels"].IsObject() ||
          !o.HasMember("state") || !o["state"].IsString()) {
        return bad("malformed rule record");
      }
      rules::ActiveRecord r;
      r.group = o["group"].GetString();
      r.rule = o["rule"].GetString();
      r.kind = o["kind"].GetString();
      core::LabelsBuilder b;
      for (const auto& m : o["labels"].GetObject()) {
        if (!m.value.IsString()) return bad("label values must be strings");
        b.Set(m.name.GetString(), m.value.GetString());
      }
      r.labels = b.Build();
      const std::string state = o["state"].GetString();
      if (state == "pending") {
        r.state = rules::ActiveState::kPending;
      } else if (state == "firing") {
        r.state = rules::ActiveState::kFiring;
      } else {
        return bad("unknown rule state \"" + state + "\"");
      }
      r.active_at = Time::FromUnixMillis(i64(o, "active_at_ms"));
      r.fired_at = Time::FromUnixMillis(i64(o, "fired_at_ms"));
      r.keep_firing_since = Time::FromUnixMillis(i64(o, "keep_firing_since_ms"));
      r.value = o.HasMember("value") && o["value"].IsNumber() ? o["value"].GetDouble() : 0;
      records.push_back(std::move(r));
    }
  }
  std::map<size_t, std::pair<decide::History, std::optional<int32_t>>> histories;
  if (doc.HasMember("targets")) {
    if (!doc["targets"].IsObject()) return bad("targets is not an object");
    for (const auto& m : doc["targets"].GetObject()) {
      auto it = impl_->target_index.find(m.name.GetString());
      if (it == impl_->target_index.end()) continue;  // a target removed from the config
      const auto& t = m.value;
      if (!t.IsObject()) return bad("malformed target record");
      decide::History h;
      if (t.HasMember("recommendations") && t["recommendations"].IsArray()) {
        for (const auto& e : t["recommendations"].GetArray()) {
          if (!e.IsArray() || e.Size() != 2 || !e[0].IsInt64() || !e[1].IsInt())
            return bad("malformed recommendation");
          h.recommendations.push_back({Time::FromUnixMillis(e[0].GetInt64()), e[1].GetInt()});
        }
      }
      for (const char* key : {"scale_up_events", "scale_down_events"}) {
        auto& list =
            std::string_view(key) == "scale_up_events" ? h.scale_up_events : h.scale_down_events;
        if (!t.HasMember(key) || !t[key].IsArray()) continue;
        for (const auto& e : t[key].GetArray()) {
          if (!e.IsArray() || e.Size() != 3 || !e[0].IsInt64() || !e[1].IsInt() || !e[2].IsBool()) {
            return bad("malformed scale event");
          }
          list.push_back({Time::FromUnixMillis(e[0].GetInt64()), e[1].GetInt(), e[2].GetBool()});
        }
      }
      if (t.HasMember("last_scale_time_ms") && t["last_scale_time_ms"].IsInt64()) {
        h.last_scale_time = Time::FromUnixMillis(t["last_scale_time_ms"].GetInt64());
      }
      std::optional<int32_t> last_desired;
      if (t.HasMember("last_desired") && t["last_desired"].IsInt())
        last_desired = t["last_desired"].GetInt();
      histories[it->second] = {std::move(h), last_desired};
    }
  }
  for (auto& g : impl_->groups) g.evaluator->Restore(records, saved_at, now, outage_tolerance);
  // Decide's windows are judged against absolute times, so the history is
  // valid as saved: a restart does not forget a scale-down window.
  for (auto& [index, entry] : histories) {
    impl_->targets[index].history = std::move(entry.first);
    impl_->targets[index].last_desired = entry.second;
  }
  return Status();
}

RemoteQuery RemoteQueryOf(std::shared_ptr<sources::PrometheusApi> api, std::string context) {
  return [api = std::move(api), context = std::move(context)](const std::string& expr,
                                                              Time t) -> Result<promql::Value> {
    Result<sources::QueryResult> r = api->Query(expr, t);
    if (!r.ok()) return context.empty() ? r.status() : r.status().WithContext(context);
    return ToValue(std::move(*r));
  };
}

}  // namespace amas::app
