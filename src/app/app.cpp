#include "app/app.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <memory>
#include <mutex>
#include <thread>

#include "app/config.h"
#include "app/decision_loop.h"
#include "app/demo_platform.h"
#include "http/api.h"
#include "http/http.h"
#include "http/scaler_api.h"
#include "publish/publish.h"
#include "sources/sources.h"
#include "store/store.h"

#ifndef AMAS_VERSION
#define AMAS_VERSION "unknown"
#endif
#ifndef AMAS_REVISION
#define AMAS_REVISION "unknown"
#endif
#ifndef AMAS_BUILD_TYPE
#define AMAS_BUILD_TYPE "unknown"
#endif

namespace amas::app {
namespace {

using core::Result;
using core::Status;

constexpr core::Duration kMetricsEvery = core::Duration::Seconds(1);
constexpr core::Duration kCollectEvery = core::Duration::Seconds(30);

std::string Hostname() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "localhost";
  return buf;
}

// Prometheus's default external URL: http://<hostname>:<listen port>/.
std::string ExternalUrl(const Options& o) {
  if (!o.external_url.empty()) return o.external_url;
  const std::string port = o.listen_address.substr(o.listen_address.rfind(':') + 1);
  return "http://" + Hostname() + ":" + port + "/";
}

publish::BuildInfo Build() {
  return {AMAS_VERSION, AMAS_REVISION, AMAS_BUILD_TYPE, std::string("gcc ") + __VERSION__};
}

std::vector<publish::TargetReport> Reports(const std::vector<sources::TargetHealth>& targets) {
  std::vector<publish::TargetReport> out;
  out.reserve(targets.size());
  for (const sources::TargetHealth& t : targets) {
    out.push_back({t.scrape_pool, t.scrape_url, t.health, t.last_scrape, t.last_scrape_duration,
                   t.last_samples});
  }
  return out;
}

// The demo's simulated AMAS platform on its own listening address.
class DemoExporter {
 public:
  static Result<std::unique_ptr<DemoExporter>> Start(const DemoConfig& config,
                                                     const core::Clock* clock, core::Time start,
                                                     const Logger& log) {
    std::unique_ptr<DemoExporter> e(new DemoExporter(config, start));
    e->router_.Handle("GET", "/metrics", [exporter = e.get(), clock](const http::Request&) {
      http::Response r;
      r.content_type = "text/plain; version=0.0.4; charset=utf-8";
      r.body = exporter->platform_.Render(clock->Now());
      return r;
    });
    http::ServerOptions options;
    options.listen_address = config.listen_address;
    options.threads = 2;
    options.on_error = [&log](std::string_view err) {
      log.Debug("demo platform exporter", {{"err", err}});
    };
    Result<std::unique_ptr<http::Server>> server = http::Server::Start(options, &e->router_);
    if (!server.ok()) return server.status().WithContext("demo platform exporter");
    e->server_ = std::move(*server);
    return e;
  }
  const DemoConfig& config() const { return config_; }

 private:
  DemoExporter(const DemoConfig& config, core::Time start)
      : config_(config), platform_(start, config.period) {}
  DemoConfig config_;
  DemoPlatform platform_;
  http::Router router_;
  std::unique_ptr<http::Server> server_;  // last: stops before the router goes
};

bool SameDemo(const DemoConfig& a, const DemoConfig& b) {
  return a.platform_exporter == b.platform_exporter && a.listen_address == b.listen_address &&
         a.period == b.period;
}

class Service {
 public:
  Service(const Options& options, const Logger& log, Config config)
      : options_(options),
        log_(log),
        start_(clock_.Now()),
        config_(std::move(config)),
        store_(store::StoreOptions{StoreRetention(config_)}),
        metrics_(Build()) {}

  Status Start() {
    Result<std::unique_ptr<sources::ScrapeManager>> scrapes =
        sources::ScrapeManager::Create(config_.scrape_configs, &store_, &clock_);
    if (!scrapes.ok()) return scrapes.status().WithContext(config_.file);
    scrapes_ = std::move(*scrapes);
    if (Status s = SetDemo(config_.demo); !s.ok()) return s;
    DecisionLoopOptions dopts;
    dopts.storage_path = options_.storage_path;
    dopts.external_url = ExternalUrl(options_);
    dopts.holder = Hostname() + ":" + std::to_string(getpid());
    Result<std::unique_ptr<DecisionLoop>> decisions =
        DecisionLoop::Create(config_, dopts, &store_, &clock_, &log_, &metrics_.registry());
    if (!decisions.ok()) return decisions.status().WithContext(config_.file);
    decisions_ = std::move(*decisions);
    http::AddScalerRoutes(decisions_->Api(), &router_);

    http::ApiOptions api;
    api.store = &store_;
    api.clock = &clock_;
    api.targets = [this] { return scrapes_->Targets(); };
    api.config_yaml = [this] {
      std::lock_guard<std::mutex> lock(config_mu_);
      return config_.redacted_yaml;
    };
    api.ready = [this] { return ready_.load(); };
    api.reload = [this] { return Reload(); };
    api.metrics = [this] {
      RefreshMetrics();
      return metrics_.Render();
    };
    api.external_url = ExternalUrl(options_);
    api.listen_address = options_.listen_address;
    http::AddApiRoutes(api, &router_);
    http::ServerOptions server_options;
    server_options.listen_address = options_.listen_address;
    server_options.on_error = [this](std::string_view e) { log_.Debug("http", {{"err", e}}); };
    Result<std::unique_ptr<http::Server>> server = http::Server::Start(server_options, &router_);
    if (!server.ok()) return server.status();
    server_ = std::move(*server);
    metrics_.RecordReload(true, clock_.Now());

    scrape_thread_ = std::thread([this] { scrapes_->Run(stop_scrapes_); });
    decisions_->Start();
    log_.Info("Listening on",
              {{"address", options_.listen_address}, {"port", std::to_string(server_->port())}});
    log_.Info("Server is ready to receive web requests.");
    return Status();
  }

  // Handles signals and periodic work until SIGTERM or SIGINT.
  void Loop(const sigset_t& signals) {
    core::Time next_metrics = clock_.Now();
    core::Time next_collect = clock_.Now() + kCollectEvery;
    for (;;) {
      const timespec tick{0, 100'000'000};
      const int sig = sigtimedwait(&signals, nullptr, &tick);
      if (sig == SIGTERM || sig == SIGINT) {
        log_.Warn(sig == SIGTERM ? "Received SIGTERM, exiting gracefully..."
                                 : "Received SIGINT, exiting gracefully...");
        return;
      }
      if (sig == SIGHUP) (void)Reload();
      if (!ready_.load() && scrapes_->FirstRoundDone()) {
        ready_ = true;
        log_.Info("First scrape round done; ready.");
      }
      const core::Time now = clock_.Now();
      if (now >= next_metrics) {
        RefreshMetrics();
        next_metrics = now + kMetricsEvery;
      }
      if (now >= next_collect) {
        const size_t dropped = store_.Collect(now.unix_millis());
        if (dropped > 0)
          log_.Debug("store collected", {{"series_dropped", std::to_string(dropped)}});
        next_collect = now + kCollectEvery;
      }
    }
  }

  void Stop() {
    if (decisions_) decisions_->Stop();
    stop_scrapes_ = true;
    if (scrape_thread_.joinable()) scrape_thread_.join();
    server_.reset();
    std::lock_guard<std::mutex> lock(reload_mu_);
    demo_.reset();
  }

  // Re-reads the config file; on any error the running config stays as it was.
  Status Reload() {
    std::lock_guard<std::mutex> lock(reload_mu_);
    log_.Info("Loading configuration file", {{"filename", options_.config_file}});
    Status s = ApplyFile();
    metrics_.RecordReload(s.ok(), clock_.Now());
    if (s.ok()) {
      log_.Info("Completed loading of configuration file", {{"filename", options_.config_file}});
    } else {
      log_.Error("Error reloading config", {{"err", s.message()}});
    }
    return s;
  }

 private:
  Status ApplyFile() {
    Result<Config> next = LoadConfigFile(options_.config_file);
    if (!next.ok()) return next.status();
    {
      // Validate the scrape jobs with a throwaway manager so that a bad job
      // is rejected before anything (the demo exporter) has changed.
      store::Store scratch;
      auto check = sources::ScrapeManager::Create(next->scrape_configs, &scratch, &clock_);
      if (!check.ok()) return check.status().WithContext(next->file);
    }
    if (Status s = decisions_->Reload(*next); !s.ok()) return s;
    if (Status s = SetDemo(next->demo); !s.ok()) return s;
    if (Status s = scrapes_->ApplyConfig(next->scrape_configs); !s.ok()) return s;
    store_.SetRetention(StoreRetention(*next));
    std::lock_guard<std::mutex> lock(config_mu_);
    config_ = std::move(*next);
    return Status();
  }

  Status SetDemo(const DemoConfig& demo) {
    if (demo_ && SameDemo(demo_->config(), demo)) return Status();
    if (demo_ && demo_->config().listen_address == demo.listen_address) demo_.reset();
    std::unique_ptr<DemoExporter> next;
    if (demo.platform_exporter) {
      Result<std::unique_ptr<DemoExporter>> started =
          DemoExporter::Start(demo, &clock_, start_, log_);
      if (!started.ok()) return started.status();
      next = std::move(*started);
      log_.Info("Demo platform exporter listening",
                {{"address", demo.listen_address}, {"period", demo.period.ToString()}});
    }
    demo_ = std::move(next);
    return Status();
  }

  void RefreshMetrics() {
    if (decisions_) decisions_->RefreshMetrics();
    metrics_.UpdateTargets(Reports(scrapes_->Targets()));
    const store::StoreStats stats = store_.Stats();
    metrics_.UpdateStore({stats.series, stats.samples, stats.bytes});
  }

  const Options& options_;
  const Logger& log_;
  SystemClock clock_;
  const core::Time start_;
  std::mutex config_mu_;  // guards config_ for readers on server threads
  Config config_;
  std::mutex reload_mu_;  // one reload at a time (HTTP or SIGHUP)
  store::Store store_;
  publish::SelfMetrics metrics_;
  std::unique_ptr<sources::ScrapeManager> scrapes_;
  std::atomic<bool> stop_scrapes_{false};
  std::thread scrape_thread_;
  std::atomic<bool> ready_{false};
  std::unique_ptr<DemoExporter> demo_;
  std::unique_ptr<DecisionLoop> decisions_;
  http::Router router_;
  std::unique_ptr<http::Server> server_;
};

}  // namespace

int Run(const Options& options, const Logger& log) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  // Blocked here, before any thread starts, so every thread inherits the
  // mask and only Loop's sigtimedwait ever takes these signals.
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  log.Info("Starting amas-scaler", {{"version", AMAS_VERSION}, {"revision", AMAS_REVISION}});
  if (!options.storage_path.empty()) log.Info("Storage path", {{"path", options.storage_path}});
  log.Info("Loading configuration file", {{"filename", options.config_file}});
  Result<Config> config = LoadConfigFile(options.config_file);
  if (!config.ok()) {
    log.Error("Error loading config", {{"err", config.status().message()}});
    return 1;
  }
  log.Info("Completed loading of configuration file", {{"filename", options.config_file}});

  Service service(options, log, std::move(*config));
  if (Status s = service.Start(); !s.ok()) {
    log.Error("Error starting amas-scaler", {{"err", s.message()}});
    service.Stop();
    return 1;
  }
  service.Loop(signals);
  service.Stop();
  log.Info("See you next time!");
  return 0;
}

}  // namespace amas::app
