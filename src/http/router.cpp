#include <algorithm>

#include "http/http.h"

namespace amas::http {
namespace {

std::vector<std::string> Split(std::string_view path) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    out.emplace_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return out;
}

bool IsCapture(const std::string& segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

bool Matches(const std::vector<std::string>& pattern, const std::vector<std::string>& path,
             std::map<std::string, std::string>* captures) {
  if (pattern.size() != path.size()) return false;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (IsCapture(pattern[i])) {
      if (path[i].empty()) return false;
      if (captures != nullptr) (*captures)[pattern[i].substr(1, pattern[i].size() - 2)] = path[i];
    } else if (pattern[i] != path[i]) {
      return false;
    }
  }
  return true;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string_view Request::Param(std::string_view name) const {
  for (const auto& [k, v] : params) {
    if (k == name) return v;
  }
  return {};
}

bool Request::HasParam(std::string_view name) const {
  return std::any_of(params.begin(), params.end(), [&](const auto& p) { return p.first == name; });
}

std::vector<std::string> Request::Params(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& [k, v] : params) {
    if (k == name) out.push_back(v);
  }
  return out;
}

std::string_view Request::Header(std::string_view lower_name) const {
  auto it = headers.find(std::string(lower_name));
  return it == headers.end() ? std::string_view() : std::string_view(it->second);
}

Response Response::Text(int status, std::string body) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

void Router::Handle(std::string method, std::string pattern, Handler handler, Gate gate) {
  routes_.push_back(Route{std::move(method), Split(pattern), std::move(handler), std::move(gate)});
}

Router::Admission Router::Admit(Request* head) const {
  const std::vector<std::string> path = Split(head->path);
  std::vector<std::string> allowed;
  Admission out;
  for (const Route& route : routes_) {
    if (!Matches(route.segments, path, nullptr)) continue;
    if (route.method != head->method) {
      allowed.push_back(route.method);
      continue;
    }
    Matches(route.segments, path, &head->path_params);
    out.route = &route;
    if (route.gate.check) {
      Gate::Verdict verdict = route.gate.check(*head);
      out.answer = std::move(verdict.refusal);
      out.max_body_bytes = verdict.max_body_bytes;
    }
    return out;
  }
  if (allowed.empty()) {
    out.answer = Response::Text(404, "404 page not found\n");
    return out;
  }
  std::sort(allowed.begin(), allowed.end());
  allowed.erase(std::unique(allowed.begin(), allowed.end()), allowed.end());
  std::string list;
  for (const std::string& m : allowed) list += (list.empty() ? "" : ", ") + m;
  Response r = Response::Text(405, "method " + head->method + " not allowed; use " + list + "\n");
  r.headers.emplace_back("Allow", list);
  out.answer = std::move(r);
  return out;
}

Response Router::TooLarge(const Admission& admission, size_t max_body_bytes) const {
  if (admission.route != nullptr && admission.route->gate.too_large) {
    return admission.route->gate.too_large(max_body_bytes);
  }
  return Response::Text(413,
                        "request body larger than " + std::to_string(max_body_bytes) + " bytes\n");
}

Response Router::Serve(const Admission& admission, const Request& request) const {
  if (admission.answer) return *admission.answer;
  if (admission.route == nullptr) return Response::Text(404, "404 page not found\n");
  return admission.route->handler(request);
}

Response Router::Dispatch(Request request) const {
  std::string body = std::move(request.body);  // a gate sees the head only
  request.body.clear();
  const Admission admission = Admit(&request);
  if (admission.answer) return *admission.answer;
  if (body.size() > admission.max_body_bytes) return TooLarge(admission, admission.max_body_bytes);
  request.body = std::move(body);
  return Serve(admission, request);
}

bool UrlDecode(std::string_view in, std::string* out) {
  out->clear();
  out->reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '+') {
      out->push_back(' ');
    } else if (c == '%') {
      if (i + 2 >= in.size()) return false;
      const int hi = HexValue(in[i + 1]);
      const int lo = HexValue(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out->push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out->push_back(c);
    }
  }
  return true;
}

core::Result<std::vector<std::pair<std::string, std::string>>> ParseQuery(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> out;
  size_t start = 0;
  while (start < query.size()) {
    size_t amp = query.find('&', start);
    if (amp == std::string_view::npos) amp = query.size();
    std::string_view part = query.substr(start, amp - start);
    start = amp + 1;
    if (part.empty()) continue;
    const size_t eq = part.find('=');
    std::string key;
    std::string value;
    if (!UrlDecode(part.substr(0, eq), &key) ||
        (eq != std::string_view::npos && !UrlDecode(part.substr(eq + 1), &value))) {
      return core::Status::InvalidArgument("invalid URL escape in \"" + std::string(part) + "\"");
    }
    out.emplace_back(std::move(key), std::move(value));
  }
  return out;
}

}  // namespace amas::http
