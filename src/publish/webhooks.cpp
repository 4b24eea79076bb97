#include "publish/webhooks.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <fstream>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "publish/http_post.h"

namespace amas::publish {
namespace {

bool Matches(const std::vector<std::string>& allowed, const std::string& value) {
  return allowed.empty() || std::find(allowed.begin(), allowed.end(), value) != allowed.end();
}

std::string JsonString(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out.push_back(c);
        }
    }
  }
  return out + "\"";
}

}  // namespace

std::string SignatureHeader(std::string_view secret, int64_t unix_seconds, std::string_view body) {
  const std::string signed_payload = std::to_string(unix_seconds) + "." + std::string(body);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(signed_payload.data()), signed_payload.size(), mac,
       &mac_len);
  std::string hex;
  hex.reserve(mac_len * 2);
  static const char kDigits[] = "0123456789abcdef";
  for (unsigned int i = 0; i < mac_len; ++i) {
    hex.push_back(kDigits[mac[i] >> 4]);
    hex.push_back(kDigits[mac[i] & 0xf]);
  }
  return "t=" + std::to_string(unix_seconds) + ",v1=" + hex;
}

struct WebhookSender::Endpoint {
  WebhookEndpoint config;
  const core::Clock* clock = nullptr;
  mutable std::mutex mu;
  std::condition_variable cv;
  std::deque<std::string> queue;  // event bodies
  bool in_flight = false;
  bool stopping = false;
  WebhookStats stats;
  std::thread thread;
  std::mt19937_64 rng{std::random_device{}()};

  // Dead letters of events refused because the queue was full, formatted by
  // Send() and written by the delivery thread, so evaluation never waits on
  // the file. Beyond this many bytes (the thread stuck in a long POST) Send()
  // writes them itself rather than hold them without bound.
  static constexpr size_t kMaxOverflowBytes = 1 << 20;
  std::string overflow;
  std::mutex file_mu;  // one writer at a time, so lines never interleave
  bool writing_overflow = false;

  std::string DeadLetterLine(const std::string& body, const std::string& error) const {
    return "{\"endpoint\":" + JsonString(config.name) +
           ",\"failed_at\":" + JsonString(clock->Now().ToRFC3339()) +
           ",\"error\":" + JsonString(error) + ",\"event\":" + body + "}\n";
  }

  void AppendDeadLetters(const std::string& lines) {
    if (config.dead_letter_path.empty() || lines.empty()) return;
    std::lock_guard<std::mutex> file_lock(file_mu);
    std::ofstream out(config.dead_letter_path, std::ios::app);
    out << lines;
  }

  void DeadLetter(const std::string& body, const std::string& error) {
    ++stats.dead_letters;  // mu held by the caller (the delivery thread)
    AppendDeadLetters(DeadLetterLine(body, error));
  }

  // Writes what Send() left in overflow; called with mu held, releases it meanwhile.
  void WriteOverflow(std::unique_lock<std::mutex>& lock) {
    if (overflow.empty()) return;
    std::string lines = std::move(overflow);
    overflow.clear();
    writing_overflow = true;
    lock.unlock();
    AppendDeadLetters(lines);
    lock.lock();
    writing_overflow = false;
    cv.notify_all();
  }

  // One POST; returns "" on a 2xx, else why it failed. *retry says whether
  // another attempt may help (connection errors, timeouts, 5xx, 429).
  std::string Post(const std::string& body, bool* retry) {
    std::vector<std::string> headers;
    if (!config.secret.empty()) {
      headers.push_back(std::string(kSignatureHeader) + ": " +
                        SignatureHeader(config.secret, clock->Now().unix_millis() / 1000, body));
    }
    const internal::PostResult r =
        internal::PostJson(config.url, body, headers, config.timeout, config.tls_ca_file);
    if (r.ok()) return "";
    if (r.status == 0) {
      *retry = true;
      return r.error;
    }
    *retry = r.status >= 500 || r.status == 429;
    return "HTTP " + std::to_string(r.status);
  }

  // Waits up to d unless stopping; false when stopping.
  bool Wait(std::unique_lock<std::mutex>& lock, core::Duration d) {
    return !cv.wait_for(lock, std::chrono::milliseconds(d.millis()), [&] { return stopping; });
  }

  void Run() {
    std::unique_lock<std::mutex> lock(mu);
    while (true) {
      cv.wait(lock, [&] { return stopping || !queue.empty() || !overflow.empty(); });
      WriteOverflow(lock);
      if (stopping) break;
      if (queue.empty()) continue;
      std::string body = std::move(queue.front());
      queue.pop_front();
      in_flight = true;
      std::string error;
      bool delivered = false;
      for (int attempt = 0; attempt < config.max_attempts; ++attempt) {
        if (attempt > 0) {
          // Full jitter: uniform in [0, min(max, initial * 2^(attempt-1))].
          const int64_t cap =
              std::min<int64_t>(config.max_backoff.millis(), config.initial_backoff.millis()
                                                                 << std::min(attempt - 1, 20));
          std::uniform_int_distribution<int64_t> dist(0, std::max<int64_t>(cap, 1));
          if (!Wait(lock, core::Duration::Millis(dist(rng)))) break;
        }
        lock.unlock();
        const core::Time started = clock->Now();
        bool retry = false;
        error = Post(body, &retry);
        const double took = (clock->Now() - started).seconds();
        lock.lock();
        if (error.empty()) {
          ++stats.sent;
          stats.last_latency_seconds = took;
          stats.latency_seconds_sum += took;
          delivered = true;
          break;
        }
        ++stats.failed_attempts;
        if (!retry) break;
      }
      if (!delivered) DeadLetter(body, error.empty() ? "shutting down" : error);
      in_flight = false;
      cv.notify_all();
    }
    // Whatever is left will not be delivered: keep it for a person.
    WriteOverflow(lock);
    while (!queue.empty()) {
      DeadLetter(queue.front(), "shutting down");
      queue.pop_front();
    }
    cv.notify_all();
  }
};

core::Result<std::unique_ptr<WebhookSender>> WebhookSender::Create(
    std::vector<WebhookEndpoint> endpoints, const core::Clock* clock) {
  std::set<std::string> names;
  for (const WebhookEndpoint& e : endpoints) {
    if (e.name.empty()) return core::Status::InvalidArgument("webhook endpoint without a name");
    if (e.url.empty()) return core::Status::InvalidArgument("webhook " + e.name + ": no url");
    if (!names.insert(e.name).second) {
      return core::Status::InvalidArgument("webhook " + e.name + " is defined twice");
    }
    if (e.max_attempts < 1 || e.max_queue < 1) {
      return core::Status::InvalidArgument("webhook " + e.name +
                                           ": max_attempts and max_queue must be >= 1");
    }
  }
  std::unique_ptr<WebhookSender> s(new WebhookSender());
  for (WebhookEndpoint& e : endpoints) {
    auto ep = std::make_unique<Endpoint>();
    ep->stats.endpoint = e.name;
    ep->config = std::move(e);
    ep->clock = clock;
    s->endpoints_.push_back(std::move(ep));
  }
  for (auto& ep : s->endpoints_) {
    Endpoint* p = ep.get();
    p->thread = std::thread([p] { p->Run(); });
  }
  return s;
}

WebhookSender::~WebhookSender() {
  for (auto& ep : endpoints_) {
    {
      std::lock_guard<std::mutex> lock(ep->mu);
      ep->stopping = true;
    }
    ep->cv.notify_all();
  }
  for (auto& ep : endpoints_) ep->thread.join();
}

void WebhookSender::Send(const ScaleEvent& event) {
  std::string body;
  for (auto& ep : endpoints_) {
    std::string write_now;
    {
      std::lock_guard<std::mutex> lock(ep->mu);
      if (!Matches(ep->config.kinds, event.kind) || !Matches(ep->config.targets, event.target)) {
        ++ep->stats.dropped_filter;
        continue;
      }
      if (body.empty()) body = EventJson(event);
      if (ep->queue.size() < ep->config.max_queue) {
        ep->queue.push_back(body);
      } else {
        ++ep->stats.dead_letters;
        ep->overflow += ep->DeadLetterLine(body, "queue full");
        if (ep->overflow.size() > Endpoint::kMaxOverflowBytes) write_now.swap(ep->overflow);
      }
      ep->cv.notify_all();
    }
    ep->AppendDeadLetters(write_now);
  }
}

std::vector<WebhookStats> WebhookSender::Stats() const {
  std::vector<WebhookStats> out;
  for (const auto& ep : endpoints_) {
    std::lock_guard<std::mutex> lock(ep->mu);
    WebhookStats s = ep->stats;
    s.queue_length = ep->queue.size() + (ep->in_flight ? 1 : 0);
    out.push_back(s);
  }
  return out;
}

void WebhookSender::Flush() {
  for (auto& ep : endpoints_) {
    std::unique_lock<std::mutex> lock(ep->mu);
    ep->cv.wait(lock, [&] {
      return (ep->queue.empty() && !ep->in_flight && ep->overflow.empty() &&
              !ep->writing_overflow) ||
             ep->stopping;
    });
  }
}

}  // namespace amas::publish
