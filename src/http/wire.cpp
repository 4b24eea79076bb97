#include "http/wire.h"

#include "core/http_status.h"

namespace amas::http {

std::string_view ReasonPhrase(int status) {
  const std::string_view text = core::HttpStatusText(status);
  return text.empty() ? "Unknown" : text;
}

std::string HttpDate(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  const size_t n = std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return std::string(buf, n);
}

std::string SerializeResponse(const Response& response, bool head_only, bool keep_alive,
                              std::string_view date) {
  const std::string length = std::to_string(response.body.size());
  size_t size = 128 + date.size() + response.content_type.size() + length.size();
  for (const auto& [name, value] : response.headers) size += name.size() + value.size() + 4;
  if (!head_only) size += response.body.size();
  std::string out;
  out.reserve(size);
  out += "HTTP/1.1 ";
  out += std::to_string(response.status);
  out += ' ';
  out += ReasonPhrase(response.status);
  out += "\r\nDate: ";
  out += date;
  out += "\r\nContent-Type: ";
  out += response.content_type;
  out += "\r\nContent-Length: ";
  out += length;
  out += "\r\n";
  for (const auto& [name, value] : response.headers) {
    out += name;
    out += ": ";
    out += value;
    out += "\r\n";
  }
  out += keep_alive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n";
  if (!head_only) out += response.body;
  return out;
}

}  // namespace amas::http
