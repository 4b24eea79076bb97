#include "publish/notifier.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "publish/http_post.h"

namespace amas::publish {
namespace {

std::string UrlEncode(std::string_view s) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

bool IsZero(core::Time t) { return t.unix_millis() == 0; }

}  // namespace

std::vector<PostableAlert> SendTracker::Select(const std::vector<AlertInfo>& alerts, core::Time now,
                                               const NotifierOptions& options) {
  const core::Duration delta = std::max(options.resend_delay, options.evaluation_interval);
  std::vector<PostableAlert> out;
  std::unordered_map<core::Labels, Sent> next;
  for (const AlertInfo& a : alerts) {
    const bool resolved = !IsZero(a.resolved_at);
    if (!a.firing && !resolved) continue;  // pending alerts are never sent
    auto it = sent_.find(a.labels);
    bool needs = false;
    Sent state = it != sent_.end() ? it->second : Sent{};
    if (resolved) {
      // A resolved alert is sent once (if it was ever sent firing, or is new).
      needs = !state.resolved_sent;
    } else {
      needs =
          it == sent_.end() || state.resolved_sent || now >= state.last_sent + options.resend_delay;
      state.resolved_sent = false;
    }
    if (needs) {
      PostableAlert p;
      core::LabelsBuilder b(a.labels);
      for (core::Label l : options.external_labels) {
        if (b.Get(l.name).empty()) b.Set(l.name, l.value);
      }
      p.labels = b.Build();
      p.annotations = a.annotations;
      p.starts_at = a.active_at;
      p.ends_at = resolved ? a.resolved_at : now + delta * 4;
      if (!options.external_url.empty() && !a.expr.empty()) {
        std::string base = options.external_url;
        while (!base.empty() && base.back() == '/') base.pop_back();
        p.generator_url = base + "/graph?g0.expr=" + UrlEncode(a.expr) + "&g0.tab=1";
      }
      out.push_back(std::move(p));
      state.last_sent = now;
      if (resolved) state.resolved_sent = true;
    }
    next[a.labels] = state;
  }
  sent_ = std::move(next);  // alerts no longer known are forgotten
  return out;
}

std::string AlertsJson(const std::vector<PostableAlert>& alerts) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartArray();
  for (const PostableAlert& a : alerts) {
    w.StartObject();
    w.Key("labels");
    w.StartObject();
    for (core::Label l : a.labels) {
      w.Key(l.name.data(), static_cast<rapidjson::SizeType>(l.name.size()));
      w.String(l.value.data(), static_cast<rapidjson::SizeType>(l.value.size()));
    }
    w.EndObject();
    w.Key("annotations");
    w.StartObject();
    for (const auto& [k, v] : a.annotations) {
      w.Key(k.c_str(), static_cast<rapidjson::SizeType>(k.size()));
      w.String(v);
    }
    w.EndObject();
    w.Key("startsAt");
    w.String(a.starts_at.ToRFC3339());
    w.Key("endsAt");
    w.String(a.ends_at.ToRFC3339());
    w.Key("generatorURL");
    w.String(a.generator_url);
    w.EndObject();
  }
  w.EndArray();
  return buf.GetString();
}

struct Notifier::Impl {
  NotifierOptions options;
  mutable std::mutex mu;
  std::condition_variable cv;
  std::deque<PostableAlert> queue;
  bool in_flight = false;
  bool stopping = false;
  uint64_t dropped = 0;
  std::vector<NotifierStats> stats;
  std::thread thread;

  bool Post(const std::string& base, const std::string& body) {
    std::string url = base;
    while (!url.empty() && url.back() == '/') url.pop_back();
    return internal::PostJson(url + "/api/v2/alerts", body, {}, options.timeout).ok();
  }

  void Run() {
    std::unique_lock<std::mutex> lock(mu);
    while (true) {
      cv.wait(lock, [&] { return stopping || !queue.empty(); });
      if (stopping) return;
      const size_t n = std::min(queue.size(), options.max_batch);
      std::vector<PostableAlert> batch(
          std::make_move_iterator(queue.begin()),
          std::make_move_iterator(queue.begin() + static_cast<long>(n)));
      queue.erase(queue.begin(), queue.begin() + static_cast<long>(n));
      in_flight = true;
      lock.unlock();
      const std::string body = AlertsJson(batch);
      std::vector<bool> ok;
      for (const std::string& am : options.alertmanagers) ok.push_back(Post(am, body));
      lock.lock();
      for (size_t i = 0; i < ok.size(); ++i) {
        if (ok[i]) {
          stats[i].sent += batch.size();
        } else {
          ++stats[i].errors;
        }
      }
      in_flight = false;
      cv.notify_all();
    }
  }
};

core::Result<std::unique_ptr<Notifier>> Notifier::Create(NotifierOptions options) {
  if (options.max_batch == 0 || options.queue_capacity == 0) {
    return core::Status::InvalidArgument("notifier: max_batch and queue_capacity must be > 0");
  }
  std::unique_ptr<Notifier> n(new Notifier());
  n->impl_ = std::make_unique<Impl>();
  n->impl_->options = std::move(options);
  for (const std::string& am : n->impl_->options.alertmanagers) {
    n->impl_->stats.push_back({am, 0, 0});
  }
  Impl* im = n->impl_.get();
  im->thread = std::thread([im] { im->Run(); });
  return n;
}

Notifier::~Notifier() {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  impl_->thread.join();
}

void Notifier::Notify(std::vector<PostableAlert> alerts) {
  if (alerts.empty() || impl_->options.alertmanagers.empty()) return;
  std::lock_guard<std::mutex> lock(impl_->mu);
  for (PostableAlert& a : alerts) impl_->queue.push_back(std::move(a));
  // Like Prometheus: when the queue overflows, the oldest alerts go.
  while (impl_->queue.size() > impl_->options.queue_capacity) {
    impl_->queue.pop_front();
    ++impl_->dropped;
  }
  impl_->cv.notify_all();
}

std::vector<NotifierStats> Notifier::Stats() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->stats;
}

uint64_t Notifier::dropped() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->dropped;
}

size_t Notifier::queue_length() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->queue.size();
}

void Notifier::Flush() {
  std::unique_lock<std::mutex> lock(impl_->mu);
  impl_->cv.wait(lock,
                 [&] { return (impl_->queue.empty() && !impl_->in_flight) || impl_->stopping; });
}

}  // namespace amas::publish
