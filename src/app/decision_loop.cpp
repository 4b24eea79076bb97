#include "app/decision_loop.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>

#include "app/scaler.h"
#include "publish/notifier.h"
#include "publish/scaler_metrics.h"
#include "publish/webhooks.h"
#include "sources/alertmanager.h"
#include "sources/prometheus_api.h"
#include "state/state.h"

namespace amas::app {
namespace {

using core::Result;
using core::Status;
using core::Time;

bool SameEndpoints(const std::vector<publish::WebhookEndpoint>& a,
                   const std::vector<publish::WebhookEndpoint>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    const auto& x = a[i];
    const auto& y = b[i];
    if (x.name != y.name || x.url != y.url || x.secret != y.secret || x.timeout != y.timeout ||
        x.max_queue != y.max_queue || x.max_attempts != y.max_attempts || x.kinds != y.kinds ||
        x.targets != y.targets || x.dead_letter_path != y.dead_letter_path ||
        x.tls_ca_file != y.tls_ca_file) {
      return false;
    }
  }
  return true;
}

}  // namespace

struct DecisionLoop::Impl : public ScalerObserver {
  DecisionLoopOptions options;
  store::Store* store = nullptr;
  const core::Clock* clock = nullptr;
  const Logger* log = nullptr;
  std::unique_ptr<publish::ScalerMetrics> metrics;

  std::mutex mu;  // guards the pointers below (swapped on reload)
  std::shared_ptr<Scaler> scaler;
  std::shared_ptr<publish::WebhookSender> webhooks;
  std::shared_ptr<publish::Notifier> notifier;
  std::vector<publish::WebhookEndpoint> webhook_config;
  AlertingConfig alerting;
  ReceiverConfig receiver;
  StateConfig state;
  core::Duration evaluation_interval;

  sources::AlertIntake intake;
  Time last_intake;  // decision thread only
  std::mutex receiver_mu;
  publish::ReceiverCounts receiver_counts;

  std::shared_ptr<state::LeaseBackend> lease;  // guarded by mu; replaced on reload
  std::atomic<bool> leader{false};
  std::atomic<uint64_t> fence_token{0};
  int64_t lease_expires_ms = 0;
  std::string last_saved;  // state document as last saved (saved_at zeroed)

  publish::SendTracker tracker;
  std::atomic<bool> stop{false};
  std::thread thread;

  // ScalerObserver
  void GroupEvaluated(const std::string& group, double took_seconds, size_t failures,
                      uint64_t missed) override {
    metrics->ObserveGroupDuration(group, took_seconds);
    if (failures > 0) {
      log->Warn("rule evaluation failed",
                {{"group", group}, {"failures", std::to_string(failures)}});
    }
    if (missed > 0) log->Warn("rule group missed iterations", {{"group", group}});
  }
  void ActionFinished(const act::ActionRecord& r) override {
    metrics->ObserveAction(r);
    if (r.result == act::ActionResult::kUnchanged) return;
    log->Info("scale action", {{"target", r.target},
                               {"resource", r.resource},
                               {"from", std::to_string(r.from)},
                               {"to", std::to_string(r.to)},
                               {"result", act::ResultName(r.result)},
                               {"dry_run", r.dry_run ? "true" : "false"},
                               {"err", r.error}});
  }
  void Event(const publish::ScaleEvent& e) override {
    if (e.kind == "recommendation") {
      log->Info("recommendation", {{"target", e.target},
                                   {"from", std::to_string(e.from)},
                                   {"to", std::to_string(e.to)},
                                   {"reason", e.reason}});
    }
    std::shared_ptr<publish::WebhookSender> w;
    {
      std::lock_guard<std::mutex> lock(mu);
      w = webhooks;
    }
    if (w) w->Send(e);
  }

  Result<std::unique_ptr<Scaler>> BuildScaler(const Config& config) {
    ScalerOptions so;
    so.evaluation_interval = config.global.evaluation_interval;
    so.external_labels = config.global.external_labels;
    so.external_url = options.external_url;
    so.global_dry_run = config.dry_run;
    so.observer = this;
    so.fence = [this]() -> std::optional<act::Fence> {
      if (!leader.load()) return std::nullopt;
      return act::Fence{fence_token.load()};
    };
    std::map<std::string, RemoteQuery> datasources;
    for (const RemoteDatasource& d : config.remote_datasources) {
      Result<std::unique_ptr<sources::PrometheusApi>> api = sources::PrometheusApi::Create(d.api);
      if (!api.ok()) return api.status().WithContext("datasource " + d.name);
      datasources[d.name] = RemoteQueryOf(std::move(*api), "datasource " + d.name);
    }
    rules::RuleSet rule_set = config.rule_set;
    return Scaler::Create(config.scale_targets, std::move(rule_set), so, std::move(datasources),
                          store, clock);
  }

  // Holds the lease while we act; a replica without it decides but never acts.
  void RenewLease(Time now) {
    std::shared_ptr<state::LeaseBackend> backend;
    core::Duration ttl;
    {
      std::lock_guard<std::mutex> lock(mu);
      backend = lease;
      ttl = state.lease_duration;
    }
    if (!backend) return;
    Result<state::LeaseDecision> d = backend->TryAcquire(options.holder, now, ttl);
    if (d.ok() && d->granted) {
      if (!leader.load() || fence_token.load() != d->record.token) {
        log->Info("acquired the lease; acting", {{"token", std::to_string(d->record.token)}});
      }
      fence_token = d->record.token;
      lease_expires_ms = d->record.expires_ms;
      leader = true;
    } else {
      // Keep acting only until our own lease would have expired.
      if (leader.load() && now.unix_millis() >= lease_expires_ms) {
        log->Warn("lost the lease; not acting",
                  {{"err", d.ok() ? "held by " + d->record.holder : d.status().message()}});
        leader = false;
      } else if (!leader.load() && d.ok()) {
        leader = false;
      }
    }
    metrics->SetLeader(leader.load());
  }

  // Once a second is plenty for ALERTS series that rules read with a 5m
  // lookback; the loop itself wakes every 100 ms.
  void AppendIntake(Time now) {
    if (now - last_intake < core::Duration::Seconds(1)) return;
    last_intake = now;
    std::vector<std::pair<core::Labels, double>> samples = intake.Samples(now);
    if (samples.empty()) return;
    store::Appender app = store->NewAppender();
    for (const auto& [labels, value] : samples) {
      app.Append(app.GetOrCreate(labels), now.unix_millis(), value);
    }
    app.Commit();
  }

  void Notify(Scaler& s, Time now) {
    std::shared_ptr<publish::Notifier> n;
    AlertingConfig al;
    {
      std::lock_guard<std::mutex> lock(mu);
      n = notifier;
      al = alerting;
    }
    if (!n) return;
    std::vector<publish::AlertInfo> alerts;
    for (const publish::RuleGroupReport& g : s.RuleGroups()) {
      for (size_t i = 0; i < g.group.rules.size(); ++i) {
        for (const rules::Alert& a : g.alerts[i]) {
          publish::AlertInfo info;
          info.labels = a.labels;
          info.annotations = a.annotations;
          info.active_at = a.active_at;
          info.resolved_at = a.resolved_at;
          info.firing = a.state == rules::ActiveState::kFiring;
          info.expr = g.group.rules[i].expr_text;
          alerts.push_back(std::move(info));
        }
      }
    }
    if (al.send_recommendations) {
      for (const publish::ScaleTargetReport& t : s.Reports()) {
        if (!t.last || !t.current || t.last->desired == *t.current) continue;
        publish::AlertInfo info;
        info.labels =
            core::Labels::FromPairs({{"alertname", "AmasScalerRecommendation"},
                                     {"target", t.name},
                                     {"direction", t.last->desired > *t.current ? "up" : "down"},
                                     {"generator", "amas-scaler"}});
        info.annotations = {{"summary", t.name + ": " + std::to_string(*t.current) + " -> " +
                                            std::to_string(t.last->desired) + " replicas"},
                            {"why", t.last->why.empty() ? "" : t.last->why.back()}};
        info.active_at = t.last->at;
        info.firing = true;
        alerts.push_back(std::move(info));
      }
    }
    NotifierOptions no;
    no.resend_delay = al.resend_delay;
    no.evaluation_interval = evaluation_interval;
    no.external_url = options.external_url;
    n->Notify(tracker.Select(alerts, now, no));
  }

  using NotifierOptions = publish::NotifierOptions;

  std::string StatePath() const {
    return options.storage_path.empty() ? "" : options.storage_path + "/state.json";
  }

  void SaveState(Scaler& s, Time now, bool force) {
    const std::string path = StatePath();
    if (path.empty()) return;
    const std::string comparable = s.SaveState(Time());
    if (!force && comparable == last_saved) return;
    if (Status st = state::SaveFile(path, s.SaveState(now)); !st.ok()) {
      log->Error("cannot save state", {{"err", st.message()}});
      return;
    }
    last_saved = comparable;
  }

  void Run() {
    while (!stop.load()) {
      const Time now = clock->Now();
      RenewLease(now);
      AppendIntake(now);
      std::shared_ptr<Scaler> s;
      {
        std::lock_guard<std::mutex> lock(mu);
        s = scaler;
      }
      if (s && now >= s->NextDue()) {
        s->Tick(now);
        Notify(*s, now);
        SaveState(*s, now, false);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }

  Status Apply(const Config& config, bool first) {
    Result<std::unique_ptr<Scaler>> built = BuildScaler(config);
    if (!built.ok()) return built.status();
    std::shared_ptr<Scaler> next = std::move(*built);
    std::shared_ptr<publish::WebhookSender> next_webhooks;
    std::shared_ptr<publish::Notifier> next_notifier;
    {
      std::lock_guard<std::mutex> lock(mu);
      next_webhooks = webhooks;
      next_notifier = notifier;
    }
    if (first || !SameEndpoints(config.webhooks, webhook_config)) {
      next_webhooks.reset();
      if (!config.webhooks.empty()) {
        auto w = publish::WebhookSender::Create(config.webhooks, clock);
        if (!w.ok()) return w.status();
        next_webhooks = std::move(*w);
      }
    }
    if (first || config.alerting.alertmanagers != alerting.alertmanagers) {
      next_notifier.reset();
      if (!config.alerting.alertmanagers.empty()) {
        publish::NotifierOptions no;
        no.alertmanagers = config.alerting.alertmanagers;
        no.external_labels = config.global.external_labels;
        auto n = publish::Notifier::Create(no);
        if (!n.ok()) return n.status();
        next_notifier = std::move(*n);
      }
    }
    const Time now = clock->Now();
    if (first) {
      const std::string path = StatePath();
      if (!path.empty()) {
        Result<std::string> doc = state::LoadFile(path);
        if (doc.ok()) {
          Status r = next->RestoreState(*doc, now, config.state.outage_tolerance);
          if (r.ok()) {
            log->Info("restored state", {{"path", path}});
          } else {
            log->Warn("ignoring unusable state file", {{"path", path}, {"err", r.message()}});
          }
        } else if (!doc.status().IsNotFound()) {
          log->Warn("ignoring unusable state file",
                    {{"path", path}, {"err", doc.status().message()}});
        }
      }
    } else {
      std::shared_ptr<Scaler> old;
      {
        std::lock_guard<std::mutex> lock(mu);
        old = scaler;
      }
      // Nothing is forgotten across a reload: same moment, no outage.
      if (old) (void)next->RestoreState(old->SaveState(now), now, core::Duration::Hours(24));
    }
    std::shared_ptr<state::LeaseBackend> next_lease;
    {
      std::lock_guard<std::mutex> lock(mu);
      next_lease = lease;
    }
    if (first || config.state.redis_address != state.redis_address) {
      if (config.state.redis_address.empty()) {
        next_lease = state::NewLocalLease();
      } else {
        state::RedisOptions ro;
        const size_t colon = config.state.redis_address.rfind(':');
        ro.host = config.state.redis_address.substr(0, colon);
        ro.port = std::atoi(config.state.redis_address.c_str() + colon + 1);
        ro.password = config.state.redis_password;
        ro.key_prefix = config.state.key_prefix;
        next_lease = state::NewRedisLease(ro);
      }
    }
    std::shared_ptr<Scaler> old;
    {
      std::lock_guard<std::mutex> lock(mu);
      old = std::move(scaler);
      scaler = std::move(next);
      webhooks = std::move(next_webhooks);
      notifier = std::move(next_notifier);
      lease = std::move(next_lease);
      webhook_config = config.webhooks;
      alerting = config.alerting;
      receiver = config.receiver;
      state = config.state;
      evaluation_interval = config.global.evaluation_interval;
    }
    if (old) old->Drain();
    return Status();
  }
};

Result<std::unique_ptr<DecisionLoop>> DecisionLoop::Create(
    const Config& config, DecisionLoopOptions options, store::Store* store,
    const core::Clock* clock, const Logger* log, prometheus::Registry* registry) {
  std::unique_ptr<DecisionLoop> d(new DecisionLoop());
  d->impl_ = std::make_unique<Impl>();
  Impl& im = *d->impl_;
  im.options = std::move(options);
  im.store = store;
  im.clock = clock;
  im.log = log;
  im.metrics = std::make_unique<publish::ScalerMetrics>(*registry);
  if (!im.options.storage_path.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(im.options.storage_path, ec);
    if (ec) {
      return Status::Unavailable("--storage.path " + im.options.storage_path + ": " + ec.message());
    }
  }
  if (Status s = im.Apply(config, true); !s.ok()) return s;
  return d;
}

DecisionLoop::~DecisionLoop() { Stop(); }

void DecisionLoop::Start() {
  Impl* im = impl_.get();
  im->thread = std::thread([im] { im->Run(); });
}

Status DecisionLoop::Reload(const Config& config) { return impl_->Apply(config, false); }

void DecisionLoop::Stop() {
  if (!impl_) return;
  impl_->stop = true;
  if (impl_->thread.joinable()) impl_->thread.join();
  std::shared_ptr<Scaler> s;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    s = impl_->scaler;
  }
  if (s) {
    s->Drain();
    impl_->SaveState(*s, impl_->clock->Now(), true);
  }
  std::shared_ptr<state::LeaseBackend> lease;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    lease = impl_->lease;
  }
  if (lease && impl_->leader.load()) (void)lease->Release(impl_->options.holder);
  impl_->leader = false;
}

http::ScalerApiOptions DecisionLoop::Api() {
  Impl* im = impl_.get();
  http::ScalerApiOptions o;
  auto current = [im] {
    std::lock_guard<std::mutex> lock(im->mu);
    return im->scaler;
  };
  o.scale_targets = [current] { return current()->Reports(); };
  o.rule_groups = [current] { return current()->RuleGroups(); };
  o.receiver_auth = [im] {
    std::lock_guard<std::mutex> lock(im->mu);
    http::ReceiverAuth a;
    a.bearer_token = im->receiver.bearer_token;
    a.basic_username = im->receiver.basic_auth_username;
    a.basic_password = im->receiver.basic_auth_password;
    a.max_body_bytes = static_cast<size_t>(im->receiver.max_body_bytes);
    return a;
  };
  o.receive = [im](std::string_view body) {
    http::ReceiveOutcome out;
    Result<sources::WebhookPayload> p = sources::ParseWebhook(body);
    if (!p.ok()) {
      out.status = p.status();
      return out;
    }
    sources::IntakeCounts c = im->intake.Receive(*p, im->clock->Now());
    out.alerts = p->alerts.size();
    out.duplicates = c.duplicates;
    std::lock_guard<std::mutex> lock(im->receiver_mu);
    ++im->receiver_counts.received;
    im->receiver_counts.alerts += p->alerts.size();
    im->receiver_counts.duplicates += c.duplicates;
    return out;
  };
  o.rejected = [im](std::string_view reason) {
    std::lock_guard<std::mutex> lock(im->receiver_mu);
    ++im->receiver_counts.rejected[std::string(reason)];
  };
  return o;
}

void DecisionLoop::RefreshMetrics() {
  Impl& im = *impl_;
  std::shared_ptr<Scaler> s;
  std::shared_ptr<publish::WebhookSender> w;
  std::shared_ptr<publish::Notifier> n;
  {
    std::lock_guard<std::mutex> lock(im.mu);
    s = im.scaler;
    w = im.webhooks;
    n = im.notifier;
  }
  if (s) {
    im.metrics->UpdateTargets(s->Reports());
    std::map<std::string, publish::GroupCounts> groups;
    for (const auto& [name, c] : s->GroupStats())
      groups[name] = {c.iterations, c.missed, c.failures};
    im.metrics->UpdateGroups(groups, s->RuleGroups());
    im.metrics->UpdateActions(s->ActionCounts());
  }
  if (w) im.metrics->UpdateWebhooks(w->Stats());
  if (n) im.metrics->UpdateNotifier(n->Stats(), n->dropped(), n->queue_length());
  {
    std::lock_guard<std::mutex> lock(im.receiver_mu);
    im.metrics->UpdateReceiver(im.receiver_counts);
  }
  im.metrics->SetLeader(im.leader.load());
}

}  // namespace amas::app
