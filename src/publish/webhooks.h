// webhooks.h: outbound webhooks. Depends on core and libcurl.
// Send() puts a ScaleEvent on each matching endpoint's bounded queue and
// returns at once: evaluation never waits for delivery. A delivery thread
// per endpoint POSTs the JSON body with an HMAC-SHA256 signature header over
// "<unix seconds>.<body>", retries connection errors, 5xx and 429 with
// exponential backoff and full jitter, and appends what still fails (or
// overflows the queue) to the endpoint's dead-letter file, one JSON line per
// event. Stats() reports sent, failed, dead letters, queue length, latency.
// Thread rule: Send() and Stats() from any thread.
#ifndef AMAS_PUBLISH_WEBHOOKS_H_
#define AMAS_PUBLISH_WEBHOOKS_H_

#include <memory>
#include <string>
#include <vector>

#include "core/core.h"
#include "publish/events.h"

namespace amas::publish {

inline constexpr std::string_view kSignatureHeader = "X-Amas-Signature";  // t=..,v1=<hex>

struct WebhookEndpoint {
  std::string name;  // the "endpoint" label of its metrics
  std::string url;
  std::string secret;  // read by the caller from secret_file; "" = unsigned
  core::Duration timeout = core::Duration::Seconds(5);
  size_t max_queue = 1000;
  int max_attempts = 6;
  core::Duration initial_backoff = core::Duration::Millis(500);
  core::Duration max_backoff = core::Duration::Seconds(60);
  std::vector<std::string> kinds;    // event kinds to send; empty = all
  std::vector<std::string> targets;  // scale targets to send; empty = all
  std::string dead_letter_path;      // "" = count dead letters, keep nothing
  std::string tls_ca_file;
};

struct WebhookStats {
  std::string endpoint;
  uint64_t sent = 0;
  uint64_t failed_attempts = 0;  // every attempt that did not get a 2xx
  uint64_t dead_letters = 0;
  uint64_t dropped_filter = 0;  // not sent because of kinds/targets
  size_t queue_length = 0;
  double last_latency_seconds = 0;
  double latency_seconds_sum = 0;  // over successful deliveries
};

// "t=<seconds>,v1=<hex HMAC-SHA256(secret, "<seconds>.<body>")>"
std::string SignatureHeader(std::string_view secret, int64_t unix_seconds, std::string_view body);

class WebhookSender {
 public:
  // InvalidArgument for an endpoint without name or url, or a duplicate name.
  // The clock must outlive the sender; it stamps signatures and latencies.
  static core::Result<std::unique_ptr<WebhookSender>> Create(std::vector<WebhookEndpoint> endpoints,
                                                             const core::Clock* clock);
  WebhookSender(const WebhookSender&) = delete;  // owns delivery threads
  WebhookSender& operator=(const WebhookSender&) = delete;
  ~WebhookSender();  // delivers nothing more; queued events go to the dead letters

  void Send(const ScaleEvent& event);
  std::vector<WebhookStats> Stats() const;
  // Blocks until every queue is empty and no delivery runs (tests, shutdown).
  void Flush();

 private:
  WebhookSender() = default;
  struct Endpoint;
  std::vector<std::unique_ptr<Endpoint>> endpoints_;
};

}  // namespace amas::publish

#endif  // AMAS_PUBLISH_WEBHOOKS_H_
