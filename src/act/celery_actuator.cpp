#include "act/celery_actuator.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <set>
#include <utility>

#include "act/celery_plan.h"

namespace amas::act::celery {
namespace {

std::string Seconds(core::Duration d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", std::max<double>(d.seconds(), 0.01));
  return buf;
}

bool IsBusyRefusal(std::string_view message) {
  return message.find("busy") != std::string_view::npos;
}

}  // namespace

std::string_view PhaseName(CeleryState::Phase phase) {
  switch (phase) {
    case CeleryState::Phase::kIdle:
      return "idle";
    case CeleryState::Phase::kReading:
      return "reading";
    case CeleryState::Phase::kResizing:
      return "resizing";
    case CeleryState::Phase::kDone:
      return "done";
    case CeleryState::Phase::kNoWorkers:
      return "no_workers";
    case CeleryState::Phase::kFailed:
      return "failed";
  }
  return "unknown";
}

core::Result<redis::Endpoint> ParseBrokerUrl(std::string_view url) {
  constexpr std::string_view kScheme = "redis://";
  if (url.substr(0, kScheme.size()) != kScheme) {
    return core::Status::InvalidArgument("broker url \"" + std::string(url) +
                                         "\": only redis:// is supported");
  }
  std::string_view rest = url.substr(kScheme.size());
  redis::Endpoint ep;
  if (size_t at = rest.rfind('@'); at != std::string_view::npos) {
    std::string_view userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
    const size_t colon = userinfo.find(':');
    ep.password =
        std::string(colon == std::string_view::npos ? userinfo : userinfo.substr(colon + 1));
  }
  std::string_view hostport = rest;
  if (size_t slash = rest.find('/'); slash != std::string_view::npos) {
    hostport = rest.substr(0, slash);
    std::string_view db = rest.substr(slash + 1);
    if (!db.empty()) {
      auto [p, ec] = std::from_chars(db.data(), db.data() + db.size(), ep.db);
      if (ec != std::errc() || p != db.data() + db.size() || ep.db < 0) {
        return core::Status::InvalidArgument("broker url \"" + std::string(url) +
                                             "\": bad db number \"" + std::string(db) + "\"");
      }
    }
  }
  if (size_t colon = hostport.rfind(':'); colon != std::string_view::npos) {
    std::string_view port = hostport.substr(colon + 1);
    auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), ep.port);
    if (ec != std::errc() || p != port.data() + port.size() || ep.port <= 0 || ep.port > 65535) {
      return core::Status::InvalidArgument("broker url \"" + std::string(url) + "\": bad port \"" +
                                           std::string(port) + "\"");
    }
    hostport = hostport.substr(0, colon);
  }
  if (!hostport.empty()) ep.host = std::string(hostport);
  return ep;
}

core::Result<std::unique_ptr<CeleryActuator>> CeleryActuator::Create(CeleryOptions options) {
  if (options.name.empty()) return core::Status::InvalidArgument("celery: options.name is empty");
  if (options.clock == nullptr || options.sleeper == nullptr) {
    return core::Status::InvalidArgument("celery " + options.name + ": no clock or sleeper given");
  }
  if (options.fence_key.empty()) options.fence_key = "amas-scaler:fence:" + options.name;
  return std::unique_ptr<CeleryActuator>(new CeleryActuator(std::move(options)));
}

CeleryActuator::CeleryActuator(CeleryOptions options)
    : options_(std::move(options)), rng_(std::random_device{}()) {}

std::string CeleryActuator::Describe() const {
  std::string s = "celery workers " + options_.name + " on redis://" + options_.broker.ToString() +
                  "/" + std::to_string(options_.broker.db);
  if (!options_.workers.empty()) s += " (" + std::to_string(options_.workers.size()) + " named)";
  return s;
}

std::string CeleryActuator::LastOutput() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_output_;
}

CeleryState CeleryActuator::state() const {
  std::lock_guard<std::mutex> lock(mu_);
  return state_;
}

void CeleryActuator::Publish(const std::function<void(CeleryState&)>& change) {
  std::lock_guard<std::mutex> lock(mu_);
  change(state_);
  state_.updated = options_.clock->Now();
}

std::string CeleryActuator::NewId() {
  // A uuid4, as kombu uses for tickets, oids and delivery tags.
  const uint64_t hi = (rng_() & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;
  const uint64_t lo = (rng_() & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(hi >> 32),
                static_cast<unsigned>((hi >> 16) & 0xffff), static_cast<unsigned>(hi & 0xffff),
                static_cast<unsigned>(lo >> 48),
                static_cast<unsigned long long>(lo & 0xffffffffffffULL));
  return buf;
}

core::Status CeleryActuator::Connect() {
  if (conn_.has_value() && !conn_->broken()) return core::Status::Ok();
  conn_.reset();
  core::Result<redis::Conn> c = redis::Conn::Open(options_.broker, options_.connect_timeout);
  if (!c.ok()) return c.status().WithContext("celery " + options_.name);
  conn_.emplace(std::move(c).value());
  return core::Status::Ok();
}

core::Result<CeleryActuator::Broadcast> CeleryActuator::Call(
    const std::string& method, const std::string& arguments_json,
    const std::vector<std::string>& destination) {
  if (core::Status s = Connect(); !s.ok()) return s;
  const core::Clock& clock = *options_.clock;
  PidboxRequest req;
  req.method = method;
  req.arguments_json = arguments_json;
  req.destination = destination;
  req.ticket = NewId();
  req.reply_oid = NewId();
  req.delivery_tag = NewId();
  const core::Time deadline = clock.Now() + options_.reply_timeout;
  req.expires_unix_seconds = deadline.unix_seconds();
  const std::string queue = ReplyQueue(req.reply_oid);
  const std::string binding = ReplyBinding(req.reply_oid);
  const std::string where = "celery " + options_.name + " " + method;

  // Without this binding the workers drop their replies silently.
  core::Result<std::vector<redis::Reply>> sent =
      conn_->Pipeline({{"SADD", std::string(kReplyBindingsKey), binding},
                       {"PUBLISH", PidboxChannel(options_.broker.db), BuildPidboxEnvelope(req)}});
  if (!sent.ok()) return sent.status().WithContext(where);
  for (const redis::Reply& r : *sent) {
    if (r.is_error()) return redis::ReplyErrorStatus(r.str).WithContext(where);
  }
  Broadcast out;
  out.listeners = static_cast<int32_t>((*sent)[1].integer);
  const size_t expected = destination.empty() ? static_cast<size_t>(out.listeners)
                                              : std::min<size_t>(destination.size(), out.listeners);
  std::set<std::string> seen;
  core::Status failure;
  while (seen.size() < expected) {
    const core::Duration left = deadline - clock.Now();
    if (left <= core::Duration()) break;
    if (core::Status s = conn_->SetTimeout(left + core::Duration::Seconds(2)); !s.ok()) {
      failure = s;
      break;
    }
    core::Result<redis::Reply> r = conn_->Command({"BRPOP", queue, Seconds(left)});
    if (!r.ok()) {
      failure = r.status();
      break;
    }
    if (r->is_nil()) break;  // BRPOP timed out: whoever answered, answered
    if (r->is_error() || r->elements.size() != 2) {
      failure = redis::ReplyErrorStatus(r->str);
      break;
    }
    core::Result<std::vector<PidboxReply>> replies = ParsePidboxReply(r->elements[1].str);
    if (!replies.ok()) continue;  // not ours to judge; a stray message in our queue
    for (PidboxReply& reply : *replies) {
      if (reply.ticket != req.ticket || !seen.insert(reply.hostname).second) continue;
      out.replies.push_back(std::move(reply));
    }
  }
  if (conn_.has_value() && !conn_->broken()) {
    conn_->SetTimeout(options_.connect_timeout);
    conn_->Pipeline({{"SREM", std::string(kReplyBindingsKey), binding}, {"DEL", queue}});
  }
  if (!failure.ok()) return failure.WithContext(where);
  return out;
}

core::Result<CeleryActuator::Reading> CeleryActuator::Read() {
  core::Result<Broadcast> stats = Call("stats", "{}", options_.workers);
  if (!stats.ok()) return stats.status();
  Reading reading;
  reading.listeners = stats->listeners;
  std::vector<std::string> unknown;
  std::vector<std::pair<std::string, WorkerStats>> parsed;
  for (const PidboxReply& r : stats->replies) {
    core::Result<WorkerStats> ws = ParseWorkerStats(r.result_json);
    if (!ws.ok()) continue;  // counted as silent: it did not tell us its size
    parsed.emplace_back(r.hostname, *ws);
    if (!ws->autoscale && !multiplier_.contains(r.hostname)) unknown.push_back(r.hostname);
  }
  if (!unknown.empty()) {
    // worker_prefetch_multiplier turns prefetch_count into the pool's target.
    core::Result<Broadcast> conf = Call("conf", R"({"with_defaults": true})", unknown);
    if (conf.ok()) {
      for (const PidboxReply& r : conf->replies) {
        core::Result<int32_t> m = ParsePrefetchMultiplier(r.result_json);
        multiplier_[r.hostname] = m.ok() ? *m : -1;
      }
    }
  }
  for (auto& [host, ws] : parsed) {
    CeleryWorkerState w;
    w.hostname = host;
    w.processes = ws.processes;
    auto m = multiplier_.find(host);
    w.target = PoolTarget(ws, m == multiplier_.end() ? -1 : m->second);
    w.autoscale = ws.autoscale;
    w.autoscale_min = ws.autoscale_min;
    w.autoscale_max = ws.autoscale_max;
    reading.workers.push_back(std::move(w));
  }
  std::sort(reading.workers.begin(), reading.workers.end(),
            [](const auto& a, const auto& b) { return a.hostname < b.hostname; });
  return reading;
}

core::Result<int32_t> CeleryActuator::Current() {
  Publish([](CeleryState& s) { s.phase = CeleryState::Phase::kReading; });
  core::Result<Reading> reading = Read();
  core::Status failure;
  int32_t sum = 0;
  if (!reading.ok()) {
    failure = reading.status();
  } else if (reading->workers.empty()) {
    failure = core::Status::Unavailable(
        "celery " + options_.name + ": " + std::to_string(reading->listeners) +
        " workers listening, none answered stats within " + options_.reply_timeout.ToString());
  } else {
    for (const CeleryWorkerState& w : reading->workers) sum += w.target;
  }
  Publish([&](CeleryState& s) {
    if (reading.ok()) {
      s.listeners = reading->listeners;
      s.answered = static_cast<int32_t>(reading->workers.size());
      s.silent = std::max(0, s.listeners - s.answered);
      s.workers = reading->workers;
    }
    s.current = failure.ok() ? sum : -1;
    s.phase = failure.ok()
                  ? CeleryState::Phase::kIdle
                  : (reading.ok() ? CeleryState::Phase::kNoWorkers : CeleryState::Phase::kFailed);
    s.last_error = failure.ok() ? "" : failure.ToString();
  });
  if (!failure.ok()) return failure;
  return sum;
}

core::Status CeleryActuator::CheckFence(Fence fence) {
  if (fence.token == 0) return core::Status::Ok();
  if (core::Status s = Connect(); !s.ok()) return s;
  core::Result<redis::Reply> r =
      redis::CommandOk(*conn_, redis::RaiseFenceCommand(options_.fence_key, fence.token));
  if (!r.ok()) return r.status().WithContext("celery " + options_.name + " fence");
  if (r->str != std::to_string(fence.token)) {
    return core::Status::FailedPrecondition("celery " + options_.name + ": fence token " +
                                            std::to_string(fence.token) +
                                            " is older than the stored " + r->str);
  }
  return core::Status::Ok();
}

core::Status CeleryActuator::WaitForChildExit(const std::string& hostname, int32_t& live) {
  if (live < 0) return core::Status::Ok();  // the pool lists no children: nothing to wait for
  const core::Time deadline = options_.clock->Now() + options_.shrink_settle_timeout;
  while (true) {
    core::Result<Broadcast> b = Call("stats", "{}", {hostname});
    if (b.ok() && !b->replies.empty()) {
      core::Result<WorkerStats> ws = ParseWorkerStats(b->replies.front().result_json);
      if (ws.ok() && ws->processes < live) {
        live = ws->processes;
        return core::Status::Ok();
      }
    }
    if (options_.clock->Now() >= deadline) {
      return core::Status::Unavailable("shrunk child still listed after " +
                                       options_.shrink_settle_timeout.ToString());
    }
    options_.sleeper->Sleep(core::Duration::Millis(100));
  }
}

core::Status CeleryActuator::Resize(const std::vector<CeleryWorkerState>& workers, int32_t desired,
                                    std::vector<std::string>& errors, bool& transient) {
  std::vector<WorkerPool> pools;
  for (const CeleryWorkerState& w : workers) pools.push_back({w.hostname, w.target, w.autoscale});
  core::Result<std::vector<PoolChange>> plan = PlanPoolResize(pools, desired);
  if (!plan.ok()) return plan.status();
  int64_t sent = 0;
  std::map<std::string, std::string> results;
  std::string output;
  std::map<std::string, int32_t> live;  // pool children per worker, as last seen
  for (const CeleryWorkerState& w : workers) live[w.hostname] = w.processes;
  for (const PoolChange& c : *plan) {
    const std::vector<std::string> dest = {c.hostname};
    // Each command is one round; n pool_shrink{n:1} are exact where one
    // pool_shrink{n} can stop halfway and still report an error. Between
    // two of them we wait for the child to leave the pool: billiard picks
    // the first idle child still listed, so a second shrink sent too early
    // terminates the same child again and the pool ends one too big.
    std::vector<std::pair<std::string, std::string>> commands;
    if (c.autoscale) {
      commands.emplace_back("autoscale", "{\"max\":" + std::to_string(c.to) +
                                             ",\"min\":" + std::to_string(c.to) + "}");
    } else if (c.to > c.from) {
      commands.emplace_back("pool_grow", "{\"n\":" + std::to_string(c.to - c.from) + "}");
    } else {
      for (int32_t i = c.to; i < c.from; ++i) commands.emplace_back("pool_shrink", "{\"n\":1}");
    }
    for (const auto& [method, args] : commands) {
      ++sent;
      core::Result<Broadcast> b = Call(method, args, dest);
      if (!b.ok()) {
        errors.push_back(c.hostname + " " + method + ": " + b.status().ToString());
        transient = transient || b.status().IsUnavailable();
        break;
      }
      if (b->replies.empty()) {
        errors.push_back(c.hostname + " " + method + ": no reply within " +
                         options_.reply_timeout.ToString());
        transient = true;
        break;
      }
      core::Result<ControlResult> res = ParseControlResult(b->replies.front().result_json);
      const std::string text = res.ok() ? res->message : res.status().message();
      results[c.hostname] = text;
      output += c.hostname + " " + method + " " + args + ": " + text + "\n";
      if (!res.ok() || !res->ok) {
        errors.push_back(c.hostname + " " + method + ": " + text);
        transient = transient || IsBusyRefusal(text);
        break;
      }
      if (method == "pool_shrink") {
        core::Status settled = WaitForChildExit(c.hostname, live[c.hostname]);
        if (!settled.ok()) {
          errors.push_back(c.hostname + " " + method + ": " + settled.message());
          transient = true;
          break;
        }
      }
    }
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    last_output_ = std::move(output);
  }
  Publish([&](CeleryState& s) {
    s.commands_last_apply = sent;
    s.commands_total += sent;
    for (CeleryWorkerState& w : s.workers) {
      if (auto it = results.find(w.hostname); it != results.end()) w.last_result = it->second;
    }
  });
  return core::Status::Ok();
}

core::Status CeleryActuator::Apply(int32_t desired, Fence fence) {
  const std::string where = "celery " + options_.name;
  Publish([&](CeleryState& s) {
    s.phase = CeleryState::Phase::kReading;
    s.desired = desired;
    s.commands_last_apply = 0;
  });
  {
    std::lock_guard<std::mutex> lock(mu_);
    last_output_.clear();
  }
  auto fail = [&](core::Status st, CeleryState::Phase phase) {
    Publish([&](CeleryState& s) {
      s.phase = phase;
      s.last_error = st.ToString();
    });
    return st;
  };
  if (core::Status s = CheckFence(fence); !s.ok()) return fail(s, CeleryState::Phase::kFailed);
  core::Result<int32_t> before = Current();
  if (!before.ok()) return before.status();  // Current() reported the phase
  if (*before == desired) {
    Publish([](CeleryState& s) { s.phase = CeleryState::Phase::kDone; });
    return core::Status::Ok();
  }
  Publish([](CeleryState& s) { s.phase = CeleryState::Phase::kResizing; });
  std::vector<std::string> errors;
  bool transient = false;
  if (core::Status s = Resize(state().workers, desired, errors, transient); !s.ok()) {
    return fail(s.WithContext(where), CeleryState::Phase::kFailed);
  }
  // The acknowledged targets show in `stats` at once; read them back rather
  // than trusting the acks, so a retry starts from what the workers say.
  core::Result<int32_t> after = Current();
  if (!after.ok()) return after.status();
  if (*after == desired && errors.empty()) {
    Publish([](CeleryState& s) { s.phase = CeleryState::Phase::kDone; });
    return core::Status::Ok();
  }
  std::string msg =
      where + ": pools sum to " + std::to_string(*after) + ", not " + std::to_string(desired);
  for (const std::string& e : errors) msg += "; " + e;
  core::Status st = transient || errors.empty() ? core::Status::Unavailable(msg)
                                                : core::Status::FailedPrecondition(msg);
  return fail(st, CeleryState::Phase::kFailed);
}

}  // namespace amas::act::celery
