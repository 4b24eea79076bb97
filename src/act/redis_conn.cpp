#include "act/redis_conn.h"

#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <array>
#include <utility>

namespace amas::act::redis {
namespace {

timeval ToTimeval(core::Duration d) {
  const int64_t ms = d.millis() < 1 ? 1 : d.millis();
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms % 1000) * 1000);
  return tv;
}

Reply Convert(const redisReply* r) {
  Reply out;
  if (r == nullptr) return out;
  switch (r->type) {
    case REDIS_REPLY_STRING:
      out.type = Reply::Type::kString;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = Reply::Type::kStatus;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = Reply::Type::kError;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = Reply::Type::kInteger;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = Reply::Type::kArray;
      out.elements.reserve(r->elements);
      for (size_t i = 0; i < r->elements; ++i) out.elements.push_back(Convert(r->element[i]));
      break;
    default:
      out.type = Reply::Type::kNil;
  }
  return out;
}

struct ReplyFree {
  void operator()(void* r) const { freeReplyObject(r); }
};
using OwnedReply = std::unique_ptr<void, ReplyFree>;

void ToArgv(const std::vector<std::string>& args, std::vector<const char*>& argv,
            std::vector<size_t>& lens) {
  argv.clear();
  lens.clear();
  for (const std::string& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
}

}  // namespace

std::vector<std::string> RaiseFenceCommand(std::string_view key, uint64_t token) {
  static constexpr std::string_view kScript = R"(
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
local t = tonumber(ARGV[1])
if t < cur then return tostring(cur) end
if t > cur then redis.call('SET', KEYS[1], ARGV[1]) end
return ARGV[1])";
  return {"EVAL", std::string(kScript), "1", std::string(key), std::to_string(token)};
}

std::string_view Reply::error_code() const {
  if (type != Type::kError) return {};
  std::string_view s = str;
  return s.substr(0, s.find(' '));
}

core::Status ReplyErrorStatus(std::string_view error_text) {
  static constexpr std::array<std::string_view, 7> kTransient = {
      "CLUSTERDOWN", "TRYAGAIN", "LOADING", "MASTERDOWN", "BUSY", "IOERR", "NOREPLICAS"};
  const std::string_view code = error_text.substr(0, error_text.find(' '));
  for (std::string_view t : kTransient) {
    if (code == t) return core::Status::Unavailable(std::string(error_text));
  }
  // MIGRATE reports target-side trouble inside an ERR: "ERR Target instance
  // replied with error: CLUSTERDOWN ..." or a timeout towards the target.
  if (error_text.find("CLUSTERDOWN") != std::string_view::npos ||
      error_text.find("IOERR") != std::string_view::npos) {
    return core::Status::Unavailable(std::string(error_text));
  }
  return core::Status::FailedPrecondition(std::string(error_text));
}

void Conn::Free::operator()(redisContext* c) const { redisFree(c); }

Conn::Conn(Endpoint endpoint, std::unique_ptr<redisContext, Free> ctx)
    : endpoint_(std::move(endpoint)), ctx_(std::move(ctx)) {}
Conn::Conn(Conn&&) noexcept = default;
Conn& Conn::operator=(Conn&&) noexcept = default;
Conn::~Conn() = default;

core::Result<Conn> Conn::Open(const Endpoint& endpoint, core::Duration timeout) {
  std::unique_ptr<redisContext, Free> ctx(
      redisConnectWithTimeout(endpoint.host.c_str(), endpoint.port, ToTimeval(timeout)));
  const std::string where = "redis " + endpoint.ToString();
  if (ctx == nullptr) return core::Status::Unavailable(where + ": cannot allocate context");
  if (ctx->err != 0) return core::Status::Unavailable(where + ": " + ctx->errstr);
  if (redisSetTimeout(ctx.get(), ToTimeval(timeout)) != REDIS_OK) {
    return core::Status::Unavailable(where + ": cannot set timeout");
  }
  Conn conn(endpoint, std::move(ctx));
  if (!endpoint.password.empty()) {
    core::Result<Reply> r = conn.Command({"AUTH", endpoint.password});
    if (!r.ok()) return r.status();
    if (r->is_error()) return core::Status::PermissionDenied(where + ": AUTH: " + r->str);
  }
  if (endpoint.db != 0) {
    core::Result<Reply> r = conn.Command({"SELECT", std::to_string(endpoint.db)});
    if (!r.ok()) return r.status();
    if (r->is_error()) return core::Status::FailedPrecondition(where + ": SELECT: " + r->str);
  }
  return conn;
}

core::Status Conn::IoError(std::string_view what) {
  broken_ = true;
  std::string msg = "redis " + endpoint_.ToString() + ": " + std::string(what);
  if (ctx_ != nullptr && ctx_->err != 0) msg += std::string(": ") + ctx_->errstr;
  return core::Status::Unavailable(std::move(msg));
}

core::Result<Reply> Conn::Command(const std::vector<std::string>& args) {
  if (broken_) return core::Status::Unavailable("redis " + endpoint_.ToString() + ": broken");
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  ToArgv(args, argv, lens);
  OwnedReply reply(
      redisCommandArgv(ctx_.get(), static_cast<int>(argv.size()), argv.data(), lens.data()));
  if (reply == nullptr) return IoError(args.empty() ? "command" : args[0]);
  return Convert(static_cast<const redisReply*>(reply.get()));
}

core::Result<std::vector<Reply>> Conn::Pipeline(
    const std::vector<std::vector<std::string>>& commands) {
  if (broken_) return core::Status::Unavailable("redis " + endpoint_.ToString() + ": broken");
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (const auto& args : commands) {
    ToArgv(args, argv, lens);
    if (redisAppendCommandArgv(ctx_.get(), static_cast<int>(argv.size()), argv.data(),
                               lens.data()) != REDIS_OK) {
      return IoError("pipeline");
    }
  }
  std::vector<Reply> out;
  out.reserve(commands.size());
  for (size_t i = 0; i < commands.size(); ++i) {
    void* raw = nullptr;
    if (redisGetReply(ctx_.get(), &raw) != REDIS_OK || raw == nullptr) {
      return IoError("pipeline reply");
    }
    OwnedReply reply(raw);
    out.push_back(Convert(static_cast<const redisReply*>(reply.get())));
  }
  return out;
}

core::Status Conn::SetTimeout(core::Duration timeout) {
  if (broken_) return core::Status::Unavailable("redis " + endpoint_.ToString() + ": broken");
  if (redisSetTimeout(ctx_.get(), ToTimeval(timeout)) != REDIS_OK) return IoError("set timeout");
  return core::Status::Ok();
}

core::Result<Reply> CommandOk(Conn& conn, const std::vector<std::string>& args) {
  core::Result<Reply> r = conn.Command(args);
  if (!r.ok()) return r.status();
  if (r->is_error()) {
    return ReplyErrorStatus(r->str).WithContext("redis " + conn.endpoint().ToString() + " " +
                                                (args.empty() ? "" : args[0]));
  }
  return r;
}

}  // namespace amas::act::redis
