// ScrapeManager: the scrape loop over one libcurl multi handle.
// One owner thread (Run or ScrapeOnce) starts transfers, waits on the multi
// handle and ingests finished bodies; other threads only read health (under
// health_mu) or hand over a new config (apply_mu, applied by the owner).
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <optional>

#include "core/http_status.h"
#include "expo/expo.h"
#include "sources/curl_util.h"
#include "sources/sources.h"
#include "sources/target_scrape.h"
#include "sources/targets.h"

namespace amas::sources {
namespace {

using SteadyClock = std::chrono::steady_clock;

// curl's receive buffer is allocated per handle: big only for targets with big bodies.
long ReceiveBufferBytes(size_t last_body_size) {
  if (last_body_size >= (4u << 20)) return 512 * 1024;
  if (last_body_size >= (256u << 10)) return 128 * 1024;
  return CURL_MAX_WRITE_SIZE;
}
constexpr int kMaxWaitMs = 100;  // how often Run looks at `stop`

core::Duration Since(SteadyClock::time_point start) {
  return core::Duration::Millis(
      std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - start).count());
}

}  // namespace

struct ScrapeManager::Impl {
  struct Target {
    TargetSpec spec;
    std::shared_ptr<const ScrapeConfig> config;
    std::unique_ptr<ScrapeState> state;
    CurlEasy easy;
    CurlSlist headers;
    std::string body;
    size_t last_body_size = 0;
    bool body_too_large = false;
    bool in_flight = false;
    core::Time started_at;  // the scrape's timestamp
    SteadyClock::time_point started_steady;
    core::Time next;  // when the next scrape is due
    char errbuf[CURL_ERROR_SIZE] = {};
    TargetHealth health;  // guarded by health_mu
  };

  store::Store* store = nullptr;
  const core::Clock* clock = nullptr;
  CurlMulti multi;
  std::vector<std::unique_ptr<Target>> targets;  // replaced under health_mu
  mutable std::mutex health_mu;

  std::mutex apply_mu;
  std::condition_variable apply_cv;
  bool owner_active = false;  // Run or ScrapeOnce is driving the handles
  std::optional<std::vector<ScrapeConfig>> pending;
  uint64_t pending_generation = 0;
  uint64_t applied_generation = 0;

  ~Impl() {
    for (auto& t : targets) {
      if (t->in_flight) curl_multi_remove_handle(multi.get(), t->easy.get());
    }
    targets.clear();
  }

  void Apply(std::vector<ScrapeConfig> configs);
  void TakePending();
  void Start(Target* t, core::Time now);
  void Finish(Target* t, core::Status transport);
  void Complete(CURL* easy, CURLcode code);
  void Drive(int wait_ms);
  size_t InFlight() const;
  class OwnerScope;
  static size_t Write(char* data, size_t size, size_t n, void* user);
};

void ScrapeManager::Impl::Apply(std::vector<ScrapeConfig> configs) {
  const core::Time now = clock->Now();
  std::vector<std::unique_ptr<Target>> gone;
  {
    // Targets() reads the list from other threads: rebuild it under the lock.
    std::lock_guard<std::mutex> lock(health_mu);
    std::map<std::pair<std::string, uint64_t>, std::unique_ptr<Target>> old;
    for (auto& t : targets) old[{t->spec.job, t->spec.hash}] = std::move(t);
    targets.clear();
    for (ScrapeConfig& c : configs) {
      auto config = std::make_shared<const ScrapeConfig>(std::move(c));
      for (TargetSpec& spec : BuildTargets(*config)) {
        ScrapeOptions options{spec.labels, config->honor_labels, config->honor_timestamps,
                              config->sample_limit, config->normalize_bucket_labels};
        auto it = old.find({spec.job, spec.hash});
        std::unique_ptr<Target> t;
        if (it != old.end()) {
          t = std::move(it->second);
          old.erase(it);
          t->state->SetOptions(std::move(options), store, now.unix_millis());
          if (t->config->scrape_interval != config->scrape_interval) {
            t->next = NextScrapeTime(spec.hash, config->scrape_interval, now);
          }
        } else {
          t = std::make_unique<Target>();
          t->state = std::make_unique<ScrapeState>(std::move(options));
          t->easy.reset(curl_easy_init());
          t->next = NextScrapeTime(spec.hash, config->scrape_interval, now);
        }
        t->config = config;
        t->spec = std::move(spec);
        TargetHealth& h = t->health;
        h.discovered_labels = t->spec.discovered_labels;
        h.labels = t->spec.labels;
        h.scrape_pool = t->spec.job;
        h.scrape_url = t->spec.url;
        h.scrape_interval = config->scrape_interval;
        h.scrape_timeout = config->scrape_timeout;
        targets.push_back(std::move(t));
      }
    }
    for (auto& [key, t] : old) gone.push_back(std::move(t));
  }
  // Targets that went away: their series end now, as Prometheus ends them.
  for (auto& t : gone) {
    if (t->in_flight) curl_multi_remove_handle(multi.get(), t->easy.get());
    t->state->MarkGone(store, now.unix_millis());
  }
}

void ScrapeManager::Impl::TakePending() {
  std::lock_guard<std::mutex> lock(apply_mu);
  if (!pending) return;
  Apply(std::move(*pending));
  pending.reset();
  applied_generation = pending_generation;
  apply_cv.notify_all();
}

size_t ScrapeManager::Impl::Write(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Target*>(user);
  const size_t bytes = size * n;
  const int64_t limit = t->config->body_size_limit_bytes;
  if (limit > 0 && static_cast<int64_t>(t->body.size() + bytes) > limit) {
    t->body_too_large = true;
    return 0;  // aborts the transfer with CURLE_WRITE_ERROR
  }
  t->body.append(data, bytes);
  return bytes;
}

void ScrapeManager::Impl::Start(Target* t, core::Time now) {
  const ScrapeConfig& c = *t->config;
  t->started_at = now;
  t->started_steady = SteadyClock::now();
  t->body_too_large = false;
  t->errbuf[0] = '\0';
  // Keep the buffer between scrapes (no regrowth), unless it is far bigger than needed.
  if (t->body.capacity() > 4 * t->last_body_size + (1 << 20)) std::string().swap(t->body);
  t->body.clear();
  t->body.reserve(t->last_body_size + t->last_body_size / 8);

  CurlSlist headers;
  AppendHeader(&headers, "Accept: " + std::string(expo::kAcceptHeader));
  char timeout[32];  // as Prometheus formats it: "10", "0.5"
  std::snprintf(timeout, sizeof timeout, "%g", c.scrape_timeout.seconds());
  AppendHeader(&headers, std::string("X-Prometheus-Scrape-Timeout-Seconds: ") + timeout);
  if (!c.bearer_token_file.empty()) {
    core::Result<std::string> token = ReadSecretFile(c.bearer_token_file, "bearer_token_file");
    if (!token.ok()) return Finish(t, token.status());
    AppendHeader(&headers, "Authorization: Bearer " + *token);
  }
  CURL* h = t->easy.get();
  curl_easy_reset(h);
  if (!c.basic_auth_username.empty()) {
    std::string password;
    if (!c.basic_auth_password_file.empty()) {
      core::Result<std::string> p = ReadSecretFile(c.basic_auth_password_file, "password_file");
      if (!p.ok()) return Finish(t, p.status());
      password = std::move(*p);
    }
    curl_easy_setopt(h, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
    curl_easy_setopt(h, CURLOPT_USERNAME, c.basic_auth_username.c_str());
    curl_easy_setopt(h, CURLOPT_PASSWORD, password.c_str());  // curl copies it
  }
  t->headers = std::move(headers);
  curl_easy_setopt(h, CURLOPT_URL, t->spec.url.c_str());
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, t->headers.get());
  curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "gzip");  // sent, and decoded by curl
  curl_easy_setopt(h, CURLOPT_USERAGENT, "amas-scaler/0.1");
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(c.scrape_timeout.millis()));
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(h, CURLOPT_BUFFERSIZE, ReceiveBufferBytes(t->last_body_size));
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &Impl::Write);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, t);
  curl_easy_setopt(h, CURLOPT_PRIVATE, t);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, t->errbuf);
  if (!c.tls_ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, c.tls_ca_file.c_str());
  if (c.tls_insecure_skip_verify) {
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  const CURLMcode mc = curl_multi_add_handle(multi.get(), h);
  if (mc != CURLM_OK) {
    return Finish(t, core::Status::Internal(std::string("curl_multi_add_handle: ") +
                                            curl_multi_strerror(mc)));
  }
  t->in_flight = true;
}

void ScrapeManager::Impl::Complete(CURL* easy, CURLcode code) {
  Target* t = nullptr;
  curl_easy_getinfo(easy, CURLINFO_PRIVATE, reinterpret_cast<char**>(&t));
  curl_multi_remove_handle(multi.get(), easy);
  t->in_flight = false;
  if (t->body_too_large) {
    return Finish(t, core::Status::ResourceExhausted(
                         "body size limit exceeded (" +
                         std::to_string(t->config->body_size_limit_bytes) + " bytes)"));
  }
  if (code != CURLE_OK) return Finish(t, TransferError(easy, code, t->errbuf, "Get", t->spec.url));
  long status = 0;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
  if (status != 200) {
    std::string text = "server returned HTTP status " + std::to_string(status);
    const std::string_view reason = core::HttpStatusText(static_cast<int>(status));
    if (!reason.empty()) text.append(" ").append(reason);
    return Finish(t, core::Status::Unavailable(std::move(text)));
  }
  Finish(t, core::Status::Ok());
}

void ScrapeManager::Impl::Finish(Target* t, core::Status transport) {
  ScrapeInput input;
  input.t_ms = t->started_at.unix_millis();
  if (transport.ok()) {
    const char* content_type = nullptr;
    curl_easy_getinfo(t->easy.get(), CURLINFO_CONTENT_TYPE, &content_type);
    const std::string_view ct = content_type != nullptr ? content_type : "";
    core::Result<expo::Format> format = expo::FormatFromContentType(ct);
    if (format.ok()) {
      input.format = *format;
      input.body = t->body;
    } else {
      transport =
          core::Status::InvalidArgument("unsupported Content-Type \"" + std::string(ct) + "\"");
    }
  }
  input.transport = std::move(transport);
  input.duration = Since(t->started_steady);
  const ScrapeReport report = t->state->Ingest(store, input);
  if (report.status.ok()) t->last_body_size = t->body.size();

  std::lock_guard<std::mutex> lock(health_mu);
  TargetHealth& h = t->health;
  h.health = report.status.ok() ? "up" : "down";
  h.last_error = report.status.ok() ? "" : report.status.message();
  h.last_scrape = t->started_at;
  h.last_scrape_duration = report.duration;
  h.last_samples = report.scraped;
  h.duplicate_samples_total += report.duplicates;
  h.out_of_order_samples_total += report.out_of_order;
}

size_t ScrapeManager::Impl::InFlight() const {
  size_t n = 0;
  for (const auto& t : targets) n += t->in_flight ? 1 : 0;
  return n;
}

void ScrapeManager::Impl::Drive(int wait_ms) {
  int running = 0;
  curl_multi_perform(multi.get(), &running);
  int queued = 0;
  bool completed = false;
  while (CURLMsg* msg = curl_multi_info_read(multi.get(), &queued)) {
    if (msg->msg != CURLMSG_DONE) continue;
    Complete(msg->easy_handle, msg->data.result);
    completed = true;
  }
  // After a completion the caller looks at its schedule again before waiting.
  if (wait_ms > 0 && !completed) curl_multi_poll(multi.get(), nullptr, 0, wait_ms, nullptr);
}

core::Result<std::unique_ptr<ScrapeManager>> ScrapeManager::Create(
    std::vector<ScrapeConfig> configs, store::Store* store, const core::Clock* clock) {
  core::Status st = ValidateConfigs(configs);
  if (!st.ok()) return st;
  if (store == nullptr || clock == nullptr) {
    return core::Status::InvalidArgument("scrape manager needs a store and a clock");
  }
  EnsureCurlGlobalInit();
  std::unique_ptr<ScrapeManager> m(new ScrapeManager());
  m->impl_ = std::make_unique<Impl>();
  m->impl_->store = store;
  m->impl_->clock = clock;
  m->impl_->multi.reset(curl_multi_init());
  if (!m->impl_->multi) return core::Status::Internal("curl_multi_init failed");
  m->impl_->Apply(std::move(configs));
  return m;
}

ScrapeManager::~ScrapeManager() = default;

// Marks the calling thread as the one driving the handles, for ApplyConfig.
class ScrapeManager::Impl::OwnerScope {
 public:
  explicit OwnerScope(Impl* m) : m_(m) {
    std::lock_guard<std::mutex> lock(m_->apply_mu);
    m_->owner_active = true;
  }
  ~OwnerScope() {
    m_->TakePending();  // a config handed over at the last moment is applied before we leave
    std::lock_guard<std::mutex> lock(m_->apply_mu);
    m_->owner_active = false;
    m_->apply_cv.notify_all();
  }
  OwnerScope(const OwnerScope&) = delete;
  OwnerScope& operator=(const OwnerScope&) = delete;

 private:
  Impl* m_;
};

void ScrapeManager::Run(const std::atomic<bool>& stop) {
  Impl& m = *impl_;
  Impl::OwnerScope owner(&m);
  while (!stop.load()) {
    m.TakePending();
    const core::Time now = m.clock->Now();
    core::Time earliest = now + core::Duration::Millis(kMaxWaitMs);
    for (auto& t : m.targets) {
      if (!t->in_flight && t->next <= now) {
        // A scrape due while the last one is still running is skipped, as in Prometheus.
        t->next = NextScrapeTime(t->spec.hash, t->config->scrape_interval,
                                 now + core::Duration::Millis(1));
        m.Start(t.get(), now);
      }
      if (t->next < earliest) earliest = t->next;
    }
    const int64_t wait = std::max<int64_t>(0, (earliest - now).millis());
    m.Drive(static_cast<int>(std::min<int64_t>(wait, kMaxWaitMs)));
  }
}

void ScrapeManager::ScrapeOnce() {
  Impl& m = *impl_;
  Impl::OwnerScope owner(&m);
  m.TakePending();
  const core::Time now = m.clock->Now();
  for (auto& t : m.targets) {
    if (!t->in_flight) m.Start(t.get(), now);
  }
  while (m.InFlight() > 0) {
    m.Drive(kMaxWaitMs);
    m.TakePending();
  }
}

core::Status ScrapeManager::ApplyConfig(std::vector<ScrapeConfig> configs) {
  core::Status st = ValidateConfigs(configs);
  if (!st.ok()) return st;
  Impl& m = *impl_;
  std::unique_lock<std::mutex> lock(m.apply_mu);
  if (!m.owner_active) {
    m.Apply(std::move(configs));
    return core::Status::Ok();
  }
  m.pending = std::move(configs);
  const uint64_t generation = ++m.pending_generation;
  curl_multi_wakeup(m.multi.get());
  m.apply_cv.wait(lock, [&] { return m.applied_generation >= generation || !m.owner_active; });
  if (m.applied_generation < generation && m.pending) {
    m.Apply(std::move(*m.pending));
    m.pending.reset();
    m.applied_generation = m.pending_generation;
  }
  return core::Status::Ok();
}

std::vector<TargetHealth> ScrapeManager::Targets() const {
  std::lock_guard<std::mutex> lock(impl_->health_mu);
  std::vector<TargetHealth> out;
  out.reserve(impl_->targets.size());
  for (const auto& t : impl_->targets) out.push_back(t->health);
  return out;
}

bool ScrapeManager::FirstRoundDone() const {
  std::lock_guard<std::mutex> lock(impl_->health_mu);
  for (const auto& t : impl_->targets) {
    if (t->health.health == "unknown") return false;
  }
  return true;
}

}  // namespace amas::sources
