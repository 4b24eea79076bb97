#include "act/celery_pidbox.h"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <array>
#include <cmath>
#include <limits>
#include <optional>

namespace amas::act::celery {
namespace {

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

core::Status Bad(std::string_view what, std::string_view detail = {}) {
  std::string msg = "celery pidbox: " + std::string(what);
  if (!detail.empty()) msg += ": " + std::string(detail);
  return core::Status::InvalidArgument(std::move(msg));
}

core::Result<rapidjson::Document> ParseJson(std::string_view text, std::string_view what) {
  rapidjson::Document doc;
  // Python's json writes Infinity (result_backend_max_retries in `conf`).
  doc.Parse<rapidjson::kParseNanAndInfFlag>(text.data(), text.size());
  if (doc.HasParseError()) {
    return Bad(what, "offset " + std::to_string(doc.GetErrorOffset()) + ": " +
                         rapidjson::GetParseError_En(doc.GetParseError()));
  }
  return doc;
}

std::string Serialize(const rapidjson::Value& v) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer, rapidjson::UTF8<>, rapidjson::UTF8<>,
                    rapidjson::CrtAllocator, rapidjson::kWriteNanAndInfFlag>
      w(buf);
  v.Accept(w);
  return std::string(buf.GetString(), buf.GetSize());
}

// Integer-valued JSON number, also accepting the strings Celery uses for some
// counters ("21"); nullopt otherwise.
std::optional<int64_t> AsInt(const rapidjson::Value& v) {
  if (v.IsInt64()) return v.GetInt64();
  if (v.IsUint64()) {
    const uint64_t u = v.GetUint64();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
    return static_cast<int64_t>(u);
  }
  if (v.IsDouble() && std::isfinite(v.GetDouble()) && std::floor(v.GetDouble()) == v.GetDouble()) {
    return static_cast<int64_t>(v.GetDouble());
  }
  return std::nullopt;
}

}  // namespace

std::string PidboxChannel(int db) { return "/" + std::to_string(db) + ".celery.pidbox"; }

std::string ReplyQueue(std::string_view oid) { return std::string(oid) + ".reply.celery.pidbox"; }

std::string ReplyBinding(std::string_view oid) {
  // routing_key SEP pattern SEP queue, with an empty pattern.
  return std::string(oid) + std::string(kSep) + std::string(kSep) + ReplyQueue(oid);
}

std::string Base64Encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t n = (static_cast<uint8_t>(bytes[i]) << 16) |
                       (static_cast<uint8_t>(bytes[i + 1]) << 8) |
                       static_cast<uint8_t>(bytes[i + 2]);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += kAlphabet[n & 63];
  }
  const size_t rest = bytes.size() - i;
  if (rest > 0) {
    uint32_t n = static_cast<uint8_t>(bytes[i]) << 16;
    if (rest == 2) n |= static_cast<uint8_t>(bytes[i + 1]) << 8;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += rest == 2 ? kAlphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

core::Result<std::string> Base64Decode(std::string_view text) {
  std::array<int, 256> value{};
  value.fill(-1);
  for (size_t i = 0; i < kAlphabet.size(); ++i)
    value[static_cast<uint8_t>(kAlphabet[i])] = static_cast<int>(i);
  std::string out;
  out.reserve(text.size() / 4 * 3);
  uint32_t acc = 0;
  int bits = 0;
  size_t pad = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\n' || c == '\r') continue;
    if (c == '=') {
      ++pad;
      continue;
    }
    if (pad > 0 || value[static_cast<uint8_t>(c)] < 0) {
      return Bad("base64", "unexpected character at offset " + std::to_string(i));
    }
    acc = (acc << 6) | static_cast<uint32_t>(value[static_cast<uint8_t>(c)]);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  if (pad > 2 || bits >= 6) return Bad("base64", "truncated input");
  return out;
}

std::string BuildPidboxEnvelope(const PidboxRequest& request) {
  using rapidjson::StringBuffer;
  using rapidjson::Writer;
  // Body first: it travels base64-encoded inside the envelope.
  StringBuffer body_buf;
  {
    Writer<StringBuffer> w(body_buf);
    w.StartObject();
    w.Key("method");
    w.String(request.method);
    w.Key("arguments");
    rapidjson::Document args;
    args.Parse(request.arguments_json.data(), request.arguments_json.size());
    if (args.HasParseError() || !args.IsObject()) args.SetObject();
    args.Accept(w);
    w.Key("destination");
    if (request.destination.empty()) {
      w.Null();
    } else {
      w.StartArray();
      for (const std::string& d : request.destination) w.String(d);
      w.EndArray();
    }
    w.Key("pattern");
    w.Null();
    w.Key("matcher");
    w.Null();
    if (!request.ticket.empty()) {
      w.Key("ticket");
      w.String(request.ticket);
      w.Key("reply_to");
      w.StartObject();
      w.Key("exchange");
      w.String("reply.celery.pidbox");
      w.Key("routing_key");
      w.String(request.reply_oid);
      w.EndObject();
    }
    w.EndObject();
  }
  StringBuffer buf;
  Writer<StringBuffer> w(buf);
  w.StartObject();
  w.Key("body");
  w.String(Base64Encode(std::string_view(body_buf.GetString(), body_buf.GetSize())));
  w.Key("content-encoding");
  w.String("utf-8");
  w.Key("content-type");
  w.String("application/json");
  w.Key("headers");
  w.StartObject();
  w.Key("clock");
  w.Int(1);
  w.Key("expires");
  w.Double(request.expires_unix_seconds);
  w.EndObject();
  w.Key("properties");
  w.StartObject();
  w.Key("delivery_mode");
  w.Int(2);
  w.Key("delivery_info");
  w.StartObject();
  w.Key("exchange");
  w.String("celery.pidbox");
  w.Key("routing_key");
  w.String("");
  w.EndObject();
  w.Key("priority");
  w.Int(0);
  w.Key("body_encoding");
  w.String("base64");
  w.Key("delivery_tag");
  w.String(request.delivery_tag);
  w.EndObject();
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

core::Result<std::vector<PidboxReply>> ParsePidboxReply(std::string_view envelope) {
  core::Result<rapidjson::Document> doc = ParseJson(envelope, "reply envelope");
  if (!doc.ok()) return doc.status();
  const rapidjson::Value& env = *doc;
  if (!env.IsObject()) return Bad("reply envelope", "not an object");
  std::string ticket;
  if (env.HasMember("headers") && env["headers"].IsObject()) {
    const rapidjson::Value& h = env["headers"];
    if (h.HasMember("ticket") && h["ticket"].IsString()) ticket = h["ticket"].GetString();
  }
  if (!env.HasMember("body") || !env["body"].IsString()) return Bad("reply envelope", "no body");
  std::string body(env["body"].GetString(), env["body"].GetStringLength());
  bool base64 = false;
  if (env.HasMember("properties") && env["properties"].IsObject()) {
    const rapidjson::Value& p = env["properties"];
    base64 = p.HasMember("body_encoding") && p["body_encoding"].IsString() &&
             std::string_view(p["body_encoding"].GetString()) == "base64";
  }
  if (base64) {
    core::Result<std::string> decoded = Base64Decode(body);
    if (!decoded.ok()) return decoded.status();
    body = std::move(decoded).value();
  }
  core::Result<rapidjson::Document> inner = ParseJson(body, "reply body");
  if (!inner.ok()) return inner.status();
  if (!inner->IsObject()) return Bad("reply body", "not an object");
  std::vector<PidboxReply> out;
  for (auto it = inner->MemberBegin(); it != inner->MemberEnd(); ++it) {
    out.push_back({ticket, std::string(it->name.GetString(), it->name.GetStringLength()),
                   Serialize(it->value)});
  }
  return out;
}

core::Result<ControlResult> ParseControlResult(std::string_view result_json) {
  core::Result<rapidjson::Document> doc = ParseJson(result_json, "control result");
  if (!doc.ok()) return doc.status();
  if (!doc->IsObject()) return Bad("control result", "not an object");
  for (const char* key : {"ok", "error"}) {
    if (!doc->HasMember(key)) continue;
    const rapidjson::Value& v = (*doc)[key];
    return ControlResult{
        std::string_view(key) == "ok",
        v.IsString() ? std::string(v.GetString(), v.GetStringLength()) : Serialize(v)};
  }
  return Bad("control result", "neither \"ok\" nor \"error\"");
}

core::Result<WorkerStats> ParseWorkerStats(std::string_view result_json) {
  core::Result<rapidjson::Document> doc = ParseJson(result_json, "stats");
  if (!doc.ok()) return doc.status();
  if (!doc->IsObject()) return Bad("stats", "not an object");
  if (doc->HasMember("error")) {
    const rapidjson::Value& e = (*doc)["error"];
    return Bad("stats", e.IsString() ? e.GetString() : "error reply");
  }
  WorkerStats s;
  if (!doc->HasMember("pool") || !(*doc)["pool"].IsObject())
    return Bad("stats", "no \"pool\" object");
  const rapidjson::Value& pool = (*doc)["pool"];
  if (pool.HasMember("processes") && pool["processes"].IsArray()) {
    s.processes = static_cast<int32_t>(pool["processes"].Size());
  }
  if (pool.HasMember("max-concurrency")) {
    if (std::optional<int64_t> v = AsInt(pool["max-concurrency"]))
      s.max_concurrency = static_cast<int32_t>(*v);
  }
  if (doc->HasMember("prefetch_count")) {
    if (std::optional<int64_t> v = AsInt((*doc)["prefetch_count"])) s.prefetch_count = *v;
  }
  if (doc->HasMember("autoscaler") && (*doc)["autoscaler"].IsObject()) {
    const rapidjson::Value& a = (*doc)["autoscaler"];
    std::optional<int64_t> max, min, current;
    if (a.HasMember("max")) max = AsInt(a["max"]);
    if (a.HasMember("min")) min = AsInt(a["min"]);
    if (a.HasMember("current")) current = AsInt(a["current"]);
    if (!max || !min || !current) return Bad("stats", "autoscaler without max/min/current");
    s.autoscale = true;
    s.autoscale_max = static_cast<int32_t>(*max);
    s.autoscale_min = static_cast<int32_t>(*min);
    s.autoscale_current = static_cast<int32_t>(*current);
  }
  if (s.processes < 0 && s.max_concurrency < 0 && !s.autoscale) {
    return Bad("stats", "pool reports neither processes nor max-concurrency");
  }
  return s;
}

core::Result<int32_t> ParsePrefetchMultiplier(std::string_view conf_result_json) {
  core::Result<rapidjson::Document> doc = ParseJson(conf_result_json, "conf");
  if (!doc.ok()) return doc.status();
  if (!doc->IsObject()) return Bad("conf", "not an object");
  for (const char* key : {"worker_prefetch_multiplier", "CELERYD_PREFETCH_MULTIPLIER"}) {
    if (!doc->HasMember(key)) continue;
    std::optional<int64_t> v = AsInt((*doc)[key]);
    if (!v || *v < 0) return Bad("conf", std::string(key) + " is not a non-negative integer");
    return static_cast<int32_t>(*v);
  }
  return Bad("conf", "no worker_prefetch_multiplier");
}

}  // namespace amas::act::celery
