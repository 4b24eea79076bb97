// act_k8s_reconcile_bench: N kubernetes targets (default 2,000) reconciled in
// one round through Executors against test/k8s_standin (a stand-in for the
// API server, not Kubernetes), with a client-side QPS/burst limit.
// Prints the round's time and request rate, the most requests the stand-in
// saw in any 1 s window (must be <= qps + burst), and the latency from a
// decision to the start of its action, idle and inside the big round.
//   act_k8s_reconcile_bench [--targets N] [--qps Q] [--burst B] [--threads T]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include "act/executor.h"
#include "act/kubernetes.h"
#include "executor_fakes.h"
#include "k8s_standin.h"

namespace {

using namespace amas::act;
using Steady = std::chrono::steady_clock;

// Notes when the executor first touches the backend and when it starts the write.
class TimedActuator : public Actuator {
 public:
  TimedActuator(std::unique_ptr<Actuator> inner, Steady::time_point* read_at,
                Steady::time_point* write_at)
      : inner_(std::move(inner)), read_at_(read_at), write_at_(write_at) {}
  std::string_view kind() const override { return inner_->kind(); }
  std::string Describe() const override { return inner_->Describe(); }
  amas::core::Result<int32_t> Current() override {
    if (read_at_->time_since_epoch().count() == 0) *read_at_ = Steady::now();
    return inner_->Current();
  }
  amas::core::Status Apply(int32_t desired, Fence fence) override {
    if (write_at_->time_since_epoch().count() == 0) *write_at_ = Steady::now();
    return inner_->Apply(desired, fence);
  }

 private:
  std::unique_ptr<Actuator> inner_;
  Steady::time_point* read_at_;
  Steady::time_point* write_at_;
};

double Ms(Steady::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double Pct(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * (v.size() - 1) + 0.5))];
}

}  // namespace

int main(int argc, char** argv) {
  int targets = 2000, burst = 100, threads = 16;
  double qps = 400;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--targets")) targets = atoi(argv[i + 1]);
    if (!strcmp(argv[i], "--qps")) qps = atof(argv[i + 1]);
    if (!strcmp(argv[i], "--burst")) burst = atoi(argv[i + 1]);
    if (!strcmp(argv[i], "--threads")) threads = atoi(argv[i + 1]);
  }
  const char* token = "bench-token";
  testing::StandIn standin({"--token", token, "--bulk",
                            "apps/v1/deployments/default/app-/" + std::to_string(targets) + "/3"});
  if (!standin.running()) {
    fprintf(stderr, "the API server stand-in did not start\n");
    return 1;
  }
  testing::SystemClock clock;
  testing::ThreadSleeper sleeper;
  KubeConfig cfg;
  cfg.server = standin.url();
  cfg.token = token;
  KubeClientOptions opts;
  opts.qps = qps;
  opts.burst = burst;
  auto client = KubeClient::Create(cfg, opts, &clock, &sleeper);
  if (!client.ok()) return 1;

  std::vector<Steady::time_point> read_at(targets), write_at(targets);
  std::vector<std::unique_ptr<Executor>> execs;
  for (int i = 0; i < targets; ++i) {
    auto ref = MakeScaleRef("apps/v1", "deployments", "default", "app-" + std::to_string(i));
    TargetPolicy p;
    p.target = "app-" + std::to_string(i);
    p.min_replicas = 1;
    p.max_replicas = 100;
    auto e = Executor::Create(
        std::make_unique<TimedActuator>(std::make_unique<KubernetesActuator>(*client, *ref),
                                        &read_at[i], &write_at[i]),
        p, {}, {&clock, &sleeper});
    if (!e.ok()) return 1;
    execs.push_back(std::move(e).value());
  }

  // Idle: one target at a time, nothing queued in the limiter (qps permitting).
  const int idle_n = std::min(50, targets);
  std::vector<double> idle_read, idle_write;
  for (int i = 0; i < idle_n; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(qps > 0 ? int(2000 / qps) + 1 : 0));
    const Steady::time_point decided = Steady::now();
    ActionRequest req;
    req.desired = 5;
    ActionRecord r = execs[i]->Act(req);
    if (r.result != ActionResult::kApplied) {
      fprintf(stderr, "idle action failed: %s\n", r.error.c_str());
      return 1;
    }
    idle_read.push_back(Ms(read_at[i] - decided));
    idle_write.push_back(Ms(write_at[i] - decided));
  }
  std::fill(read_at.begin(), read_at.end(), Steady::time_point());
  std::fill(write_at.begin(), write_at.end(), Steady::time_point());
  standin.Delete("/_standin/stats");
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // the bucket refills

  // The round: every target decided at once; half of them change.
  std::atomic<int> next{0}, applied{0}, unchanged{0}, failed{0};
  const Steady::time_point decided = Steady::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      for (int i = next++; i < targets; i = next++) {
        ActionRequest req;
        req.desired = (i % 2 == 0) ? 4 : (i < idle_n ? 5 : 3);
        ActionRecord r = execs[i]->Act(req);
        if (r.result == ActionResult::kApplied)
          ++applied;
        else if (r.result == ActionResult::kUnchanged)
          ++unchanged;
        else {
          ++failed;
          fprintf(stderr, "%s: %s\n", r.target.c_str(), r.error.c_str());
        }
      }
    });
  }
  for (auto& th : pool) th.join();
  const double round_s = Ms(Steady::now() - decided) / 1000.0;

  std::string stats;
  standin.Get("/_standin/stats?window=1", &stats);
  const int requests = testing::StandIn::Field(stats, "requests");
  const int max_1s = testing::StandIn::Field(stats, "max_in_window");
  std::vector<double> round_read, round_write;
  for (int i = 0; i < targets; ++i) {
    round_read.push_back(Ms(read_at[i] - decided));
    if (write_at[i].time_since_epoch().count() != 0)
      round_write.push_back(Ms(write_at[i] - decided));
  }

  printf("targets %d, qps %.0f, burst %d, threads %d\n", targets, qps, burst, threads);
  printf(
      "idle action (%d samples): decision->first request p50 %.2f ms p99 %.2f ms max %.2f ms;"
      " decision->write p50 %.2f ms p99 %.2f ms max %.2f ms\n",
      idle_n, Pct(idle_read, .5), Pct(idle_read, .99), Pct(idle_read, 1), Pct(idle_write, .5),
      Pct(idle_write, .99), Pct(idle_write, 1));
  printf("round: %.2f s, %d requests (%.1f/s), applied %d, unchanged %d, failed %d\n", round_s,
         requests, requests / round_s, applied.load(), unchanged.load(), failed.load());
  printf("round: most requests in any 1 s window %d (limit qps+burst = %.0f): %s\n", max_1s,
         qps + burst, max_1s <= qps + burst ? "OK" : "EXCEEDED");
  printf(
      "round: decision->first request p50 %.0f ms p99 %.0f ms max %.0f ms "
      "(queued behind the rate limit: ~targets*requests_per_target/qps)\n",
      Pct(round_read, .5), Pct(round_read, .99), Pct(round_read, 1));
  printf("round: decision->write p50 %.0f ms max %.0f ms (%zu writes)\n", Pct(round_write, .5),
         Pct(round_write, 1), round_write.size());
  const bool ok = failed == 0 && max_1s <= qps + burst && Pct(idle_write, .99) < 100;
  standin.Stop();
  return ok ? 0 : 2;
}
