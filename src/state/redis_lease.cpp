#include <hiredis/hiredis.h>

#include <memory>

#include "state/state.h"

namespace amas::state {
namespace {

using core::Result;
using core::Status;

struct ContextDeleter {
  void operator()(redisContext* c) const { redisFree(c); }
};
struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using ContextPtr = std::unique_ptr<redisContext, ContextDeleter>;
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;

// DecideLease's rule, run atomically inside Redis. KEYS[1] is the lease hash;
// ARGV: holder, now_ms, ttl_ms. Returns {granted, holder, expires_ms, token}.
constexpr const char* kAcquireScript = R"lua(
local h = redis.call('HMGET', KEYS[1], 'holder', 'expires_ms', 'token')
local holder = h[1]
local expires = tonumber(h[2]) or 0
local token = tonumber(h[3]) or 0
local now = tonumber(ARGV[2])
if holder and holder ~= ARGV[1] and now < expires then
  return {0, holder, tostring(expires), tostring(token)}
end
local next_token = token + 1
if holder == ARGV[1] and now < expires then next_token = token end
local new_expires = now + tonumber(ARGV[3])
redis.call('HSET', KEYS[1], 'holder', ARGV[1], 'expires_ms', tostring(new_expires),
           'token', tostring(next_token))
return {1, ARGV[1], tostring(new_expires), tostring(next_token)}
)lua";

// Ends the term early if ARGV[1] holds it; the token stays for the next term.
constexpr const char* kReleaseScript = R"lua(
if redis.call('HGET', KEYS[1], 'holder') == ARGV[1] then
  redis.call('HSET', KEYS[1], 'expires_ms', '0')
  return 1
end
return 0
)lua";

class RedisLease : public LeaseBackend {
 public:
  explicit RedisLease(RedisOptions options)
      : options_(std::move(options)), key_(options_.key_prefix + "lease") {}

  Result<LeaseDecision> TryAcquire(std::string_view holder, core::Time now,
                                   core::Duration ttl) override {
    const std::string holder_s(holder);
    const std::string now_s = std::to_string(now.unix_millis());
    const std::string ttl_s = std::to_string(ttl.millis());
    const char* argv[] = {"EVAL", kAcquireScript, "1", key_.c_str(), holder_s.c_str(),
                          now_s.c_str(), ttl_s.c_str()};
    Result<ReplyPtr> reply = Command(7, argv);
    if (!reply.ok()) return reply.status();
    redisReply* r = reply->get();
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 4 ||
        r->element[0]->type != REDIS_REPLY_INTEGER) {
      return Status::Internal("redis lease: unexpected reply to the acquire script");
    }
    LeaseDecision d;
    d.granted = r->element[0]->integer == 1;
    d.record.holder.assign(r->element[1]->str, r->element[1]->len);
    d.record.expires_ms = std::stoll(std::string(r->element[2]->str, r->element[2]->len));
    d.record.token = std::stoull(std::string(r->element[3]->str, r->element[3]->len));
    return d;
  }

  Status Release(std::string_view holder) override {
    const std::string holder_s(holder);
    const char* argv[] = {"EVAL", kReleaseScript, "1", key_.c_str(), holder_s.c_str()};
    Result<ReplyPtr> reply = Command(5, argv);
    return reply.ok() ? Status() : reply.status();
  }

 private:
  Status Connect() {
    const int64_t ms = options_.timeout.millis();
    timeval tv{static_cast<time_t>(ms / 1000), static_cast<suseconds_t>((ms % 1000) * 1000)};
    ContextPtr c(redisConnectWithTimeout(options_.host.c_str(), options_.port, tv));
    const std::string where = "redis " + options_.host + ":" + std::to_string(options_.port);
    if (c == nullptr) return Status::Unavailable(where + ": cannot allocate a connection");
    if (c->err != 0) return Status::Unavailable(where + ": " + c->errstr);
    redisSetTimeout(c.get(), tv);
    if (!options_.password.empty()) {
      const char* argv[] = {"AUTH", options_.password.c_str()};
      ReplyPtr r(static_cast<redisReply*>(redisCommandArgv(c.get(), 2, argv, nullptr)));
      if (r == nullptr) return Status::Unavailable(where + ": " + c->errstr);
      if (r->type == REDIS_REPLY_ERROR) {
        return Status::Unauthenticated(where + ": " + std::string(r->str, r->len));
      }
    }
    context_ = std::move(c);
    return Status();
  }

  Result<ReplyPtr> Command(int argc, const char** argv) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (context_ == nullptr) {
        if (Status s = Connect(); !s.ok()) return s;
      }
      ReplyPtr r(static_cast<redisReply*>(redisCommandArgv(context_.get(), argc, argv, nullptr)));
      if (r == nullptr) {
        // The connection broke: reconnect once, then give up for this round.
        const std::string err = context_->errstr;
        context_.reset();
        if (attempt == 1) return Status::Unavailable("redis lease: " + err);
        continue;
      }
      if (r->type == REDIS_REPLY_ERROR) {
        return Status::Unavailable("redis lease: " + std::string(r->str, r->len));
      }
      return r;
    }
    return Status::Unavailable("redis lease: not connected");
  }

  RedisOptions options_;
  std::string key_;
  ContextPtr context_;
};

}  // namespace

std::unique_ptr<LeaseBackend> NewRedisLease(RedisOptions options) {
  return std::make_unique<RedisLease>(std::move(options));
}

}  // namespace amas::state
