#include "app/demo_platform.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <numbers>

namespace amas::app {
namespace {

constexpr double kLe[DemoPlatform::kBuckets] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                0.5,   1,    2.5,   5,    10};
constexpr const char* kPodNames[DemoPlatform::kPods] = {
    "backend-6d4f9c7b8-2xkqp", "backend-6d4f9c7b8-7lmzt", "backend-6d4f9c7b8-vq4nd"};
constexpr double kMemoryLimitBytes = 2.0 * 1024 * 1024 * 1024;

double Wave(double t_s, double period_s, double phase) {
  return std::sin(2 * std::numbers::pi * t_s / period_s + phase);
}

// Everything the platform shows at one instant, derived from the load.
struct Instant {
  double load;
  double cpu[DemoPlatform::kPods];
  double memory[DemoPlatform::kPods];
  double requests_per_second;
  double error_fraction;
  double mean_latency_s;  // latencies are exponential with this mean
  double request_queue;
  double celery_default, celery_reports, celery_notifications;
};

Instant At(core::Time t, core::Duration period) {
  const double t_s = t.unix_seconds();
  Instant in{};
  in.load = PlatformLoad(t, period);
  const double lagged = PlatformLoad(t - core::Duration::Millis(period.millis() / 15), period);
  const double celery_load = PlatformLoad(t - core::Duration::Millis(period.millis() / 10), period);
  for (int i = 0; i < DemoPlatform::kPods; ++i) {
    const double jitter = 0.03 * Wave(t_s, 37, 2.1 * i) + 0.015 * Wave(t_s, 11, 1.3 * i);
    in.cpu[i] = std::clamp(0.08 + 0.85 * in.load + jitter + 0.02 * (i - 1), 0.01, 0.99);
    in.memory[i] =
        std::clamp(0.32 + 0.55 * lagged + 0.01 * Wave(t_s, 53, i) + 0.015 * (i - 1), 0.05, 0.98);
  }
  in.requests_per_second = 40 + 360 * in.load;
  const double over = std::max(0.0, in.load - 0.7);
  in.error_fraction = 0.0004 + 0.03 * over * over / 0.09;
  in.mean_latency_s = 0.015 + 0.22 * in.load * in.load * in.load;
  in.request_queue = std::max(0.0, std::round(500 * (in.load - 0.72) + 3 * Wave(t_s, 13, 0)));
  in.celery_default = std::max(0.0, std::round(320 * (celery_load - 0.35) + 4 * Wave(t_s, 29, 1)));
  in.celery_reports = std::max(0.0, std::round(60 * (celery_load - 0.5)));
  in.celery_notifications = std::round(8 + 4 * Wave(t_s, 90, 0.5));
  return in;
}

std::string Num(double v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc() ? std::string(buf, end) : "NaN";
}

class Writer {
 public:
  void Family(const char* name, const char* type, const char* help) {
    out_ += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
  }
  void Sample(const std::string& series, double value) { out_ += series + " " + Num(value) + "\n"; }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

}  // namespace

double PlatformLoad(core::Time t, core::Duration period) {
  const int64_t p = std::max<int64_t>(1, period.millis());
  const int64_t in_period = ((t.unix_millis() % p) + p) % p;
  const double phase = static_cast<double>(in_period) / static_cast<double>(p);
  // -cos: lowest at phase 0, highest at 0.5; tanh flattens the extremes into
  // plateaus so "above 70 % for 5m" and "below 30 % for 10m" both happen.
  const double s = -std::cos(2 * std::numbers::pi * phase);
  constexpr double kSharpness = 3.5;
  return 0.5 + 0.45 * std::tanh(kSharpness * s) / std::tanh(kSharpness);
}

DemoPlatform::DemoPlatform(core::Time start, core::Duration period)
    : start_(start), period_(period) {
  totals_.second = start.unix_millis() / 1000;
}

void DemoPlatform::Advance(int64_t to_second) {
  if (to_second < totals_.second) {  // the wall clock went back: start over
    totals_ = Totals();
    totals_.second = start_.unix_millis() / 1000;
  }
  for (; totals_.second < to_second; ++totals_.second) {
    const Instant in = At(core::Time::FromUnixSeconds(totals_.second), period_);
    for (int i = 0; i < kPods; ++i) totals_.cpu_seconds[i] += in.cpu[i];
    const double requests = in.requests_per_second;
    totals_.error_requests += requests * in.error_fraction;
    totals_.ok_requests += requests * (1 - in.error_fraction);
    for (int b = 0; b < kBuckets; ++b) {
      totals_.bucket_counts[b] += requests * (1 - std::exp(-kLe[b] / in.mean_latency_s));
    }
    totals_.latency_sum += requests * in.mean_latency_s;
  }
}

std::string DemoPlatform::Render(core::Time now) {
  std::lock_guard<std::mutex> lock(mu_);
  Advance(std::max(now, start_).unix_millis() / 1000);
  const Instant in = At(now, period_);
  const std::string svc = "service=\"backend\"";
  Writer w;

  w.Family("amas_process_cpu_seconds_total", "counter",
           "Total user and system CPU time spent by the pod's main process in seconds.");
  for (int i = 0; i < kPods; ++i) {
    w.Sample(
        "amas_process_cpu_seconds_total{pod=\"" + std::string(kPodNames[i]) + "\"," + svc + "}",
        totals_.cpu_seconds[i]);
  }
  w.Family("amas_pod_cpu_usage_ratio", "gauge",
           "CPU used by the pod as a fraction of its CPU limit (one core).");
  for (int i = 0; i < kPods; ++i) {
    w.Sample("amas_pod_cpu_usage_ratio{pod=\"" + std::string(kPodNames[i]) + "\"," + svc + "}",
             in.cpu[i]);
  }
  w.Family("amas_pod_memory_usage_ratio", "gauge",
           "Working-set memory of the pod as a fraction of its memory limit.");
  for (int i = 0; i < kPods; ++i) {
    w.Sample("amas_pod_memory_usage_ratio{pod=\"" + std::string(kPodNames[i]) + "\"," + svc + "}",
             in.memory[i]);
  }
  w.Family("amas_pod_memory_working_set_bytes", "gauge", "Working-set memory of the pod in bytes.");
  for (int i = 0; i < kPods; ++i) {
    w.Sample(
        "amas_pod_memory_working_set_bytes{pod=\"" + std::string(kPodNames[i]) + "\"," + svc + "}",
        std::round(in.memory[i] * kMemoryLimitBytes));
  }
  w.Family("amas_pod_memory_limit_bytes", "gauge", "Memory limit of the pod in bytes.");
  for (int i = 0; i < kPods; ++i) {
    w.Sample("amas_pod_memory_limit_bytes{pod=\"" + std::string(kPodNames[i]) + "\"," + svc + "}",
             kMemoryLimitBytes);
  }
  w.Family("amas_http_request_queue_length", "gauge",
           "Requests accepted and waiting for a worker.");
  w.Sample("amas_http_request_queue_length{" + svc + "}", in.request_queue);

  w.Family("amas_http_requests_total", "counter", "Requests served, by status code.");
  w.Sample("amas_http_requests_total{code=\"200\"," + svc + "}", std::floor(totals_.ok_requests));
  w.Sample("amas_http_requests_total{code=\"500\"," + svc + "}",
           std::floor(totals_.error_requests));
  w.Family("amas_http_request_errors_total", "counter",
           "Requests that ended in a server error (5xx).");
  w.Sample("amas_http_request_errors_total{" + svc + "}", std::floor(totals_.error_requests));

  w.Family("amas_http_request_duration_seconds", "histogram",
           "Time from accepting a request to sending the response, in seconds.");
  const double count = std::floor(totals_.ok_requests) + std::floor(totals_.error_requests);
  for (int b = 0; b < kBuckets; ++b) {
    w.Sample("amas_http_request_duration_seconds_bucket{le=\"" + Num(kLe[b]) + "\"," + svc + "}",
             std::min(count, std::floor(totals_.bucket_counts[b])));
  }
  w.Sample("amas_http_request_duration_seconds_bucket{le=\"+Inf\"," + svc + "}", count);
  w.Sample("amas_http_request_duration_seconds_sum{" + svc + "}", totals_.latency_sum);
  w.Sample("amas_http_request_duration_seconds_count{" + svc + "}", count);

  w.Family("amas_celery_queue_length", "gauge", "Tasks waiting in each Celery queue.");
  w.Sample("amas_celery_queue_length{queue=\"default\"}", in.celery_default);
  w.Sample("amas_celery_queue_length{queue=\"notifications\"}", in.celery_notifications);
  w.Sample("amas_celery_queue_length{queue=\"reports\"}", in.celery_reports);
  w.Family("amas_celery_workers", "gauge", "Celery worker processes running.");
  w.Sample("amas_celery_workers", 10);

  w.Family("amas_demo_load_ratio", "gauge",
           "The simulated load (0 to 1) that drives every other series of the demo platform.");
  w.Sample("amas_demo_load_ratio", in.load);
  return w.Take();
}

}  // namespace amas::app
