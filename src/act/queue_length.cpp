#include "act/queue_length.h"

#include <rapidjson/document.h>

#include <map>

#include "act/celery_pidbox.h"

namespace amas::act::celery {

std::vector<std::string> QueueKeys(std::string_view queue, const QueueLengthOptions& options) {
  std::vector<std::string> keys;
  for (int step : options.priority_steps) {
    std::string key = options.key_prefix + std::string(queue);
    if (step != 0) key += std::string(kSep) + std::to_string(step);
    keys.push_back(std::move(key));
  }
  return keys;
}

core::Result<std::string> UnackedRoutingKey(std::string_view value) {
  rapidjson::Document doc;
  doc.Parse(value.data(), value.size());
  if (doc.HasParseError()) {
    return core::Status::InvalidArgument("unacked message: not JSON at offset " +
                                         std::to_string(doc.GetErrorOffset()));
  }
  if (!doc.IsArray() || doc.Size() < 3 || !doc[2].IsString()) {
    return core::Status::InvalidArgument("unacked message: not [message, exchange, routing_key]");
  }
  return std::string(doc[2].GetString(), doc[2].GetStringLength());
}

core::Result<std::vector<QueueLength>> ReadQueueLengths(redis::Conn& broker,
                                                        const std::vector<std::string>& queues,
                                                        const QueueLengthOptions& options) {
  std::vector<std::vector<std::string>> cmds;
  cmds.push_back({"MULTI"});
  for (const std::string& q : queues) {
    for (std::string& key : QueueKeys(q, options)) cmds.push_back({"LLEN", std::move(key)});
  }
  cmds.push_back({"HVALS", options.key_prefix + "unacked"});
  cmds.push_back({"EXEC"});
  core::Result<std::vector<redis::Reply>> replies = broker.Pipeline(cmds);
  if (!replies.ok()) return replies.status().WithContext("celery queue length");
  const redis::Reply& exec = replies->back();
  if (exec.type != redis::Reply::Type::kArray || exec.elements.size() != cmds.size() - 2) {
    return core::Status::Unavailable("celery queue length: transaction failed: " +
                                     (exec.is_error() ? exec.str : std::string("no EXEC array")));
  }
  std::map<std::string, int64_t, std::less<>> unacked_by_key;
  const redis::Reply& values = exec.elements.back();
  for (const redis::Reply& v : values.elements) {
    core::Result<std::string> rk = UnackedRoutingKey(v.str);
    if (rk.ok()) ++unacked_by_key[*rk];
  }
  std::vector<QueueLength> out;
  size_t i = 0;
  for (const std::string& q : queues) {
    QueueLength len{q, 0, 0};
    for (size_t s = 0; s < options.priority_steps.size(); ++s, ++i) {
      const redis::Reply& r = exec.elements[i];
      if (r.is_error()) return core::Status::FailedPrecondition("celery queue " + q + ": " + r.str);
      len.ready += r.integer;
    }
    if (auto it = unacked_by_key.find(q); it != unacked_by_key.end()) len.unacked = it->second;
    out.push_back(std::move(len));
  }
  return out;
}

}  // namespace amas::act::celery
