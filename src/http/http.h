// http.h: the HTTP side of amas-scaler; the only code that includes civetweb.
// A Router maps (method, path) to handlers that take a plain Request and
// return a plain Response, so every handler is tested without sockets. A
// Server serves one Router on one address with a fixed thread pool and stops
// (well under a second) when destroyed. Handlers run concurrently on server
// threads and must be thread-safe. Plain HTTP only: civetweb's TLS is broken
// on Debian 12, terminate TLS in front. A request body over the limit is a
// 413, not an error of the handler.
#ifndef AMAS_HTTP_HTTP_H_
#define AMAS_HTTP_HTTP_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/core.h"

struct mg_context;
struct mg_connection;

namespace amas::http {

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string path;    // decoded, without the query string
  // Query string (and form-encoded body) parameters in order; a repeated key
  // ("match[]") appears once per value.
  std::vector<std::pair<std::string, std::string>> params;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  // Segments a route captured: "/api/v1/label/{name}/values" → {"name", ...}.
  std::map<std::string, std::string> path_params;

  // The first value of a parameter, "" if absent.
  std::string_view Param(std::string_view name) const;
  bool HasParam(std::string_view name) const;
  std::vector<std::string> Params(std::string_view name) const;
  std::string_view Header(std::string_view lower_name) const;
};

struct Response {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers

  static Response Text(int status, std::string body);
};

using Handler = std::function<Response(const Request&)>;

// Routes are exact paths or patterns with "{name}" segments. Not found is a
// 404; a known path with another method is a 405 listing the allowed ones.
// Add routes before serving; Dispatch is const and thread-safe.
class Router {
 public:
  void Handle(std::string method, std::string pattern, Handler handler);
  Response Dispatch(Request request) const;

 private:
  struct Route {
    std::string method;
    std::vector<std::string> segments;  // "{x}" captures one segment
    Handler handler;
  };
  std::vector<Route> routes_;
};

// Decodes %XX and '+' (form encoding); false on a malformed escape.
bool UrlDecode(std::string_view in, std::string* out);
// "a=1&b=2&a=3" → {{a,1},{b,2},{a,3}}; InvalidArgument on a bad escape.
core::Result<std::vector<std::pair<std::string, std::string>>> ParseQuery(std::string_view query);

struct ServerOptions {
  // "host:port", ":port" (all interfaces) or "[::1]:port"; port 0 picks one.
  std::string listen_address = "127.0.0.1:0";
  int threads = 8;
  size_t max_body_bytes = 10 << 20;
  std::function<void(std::string_view)> on_error;  // civetweb's own complaints
};

// A listening civetweb server. Neither copyable nor movable: civetweb holds
// a pointer to it; own it through the unique_ptr that Start returns.
class Server {
 public:
  // The router must outlive the Server. Fails if the address cannot be bound.
  static core::Result<std::unique_ptr<Server>> Start(const ServerOptions& options,
                                                     const Router* router);
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
  ~Server();

  int port() const { return port_; }

 private:
  Server() = default;
  static int OnRequest(mg_connection* conn, void* self);

  const Router* router_ = nullptr;
  ServerOptions options_;
  mg_context* ctx_ = nullptr;
  int port_ = 0;
  std::string poke_host_;  // where this machine reaches the listener
};

}  // namespace amas::http

#endif  // AMAS_HTTP_HTTP_H_
