// http.h: the HTTP side of amas-scaler; the only code that includes civetweb.
// A Router maps (method, path) to handlers that take a plain Request and
// return a plain Response, so every handler is tested without sockets. A
// Server serves one Router on one address with a fixed thread pool and stops
// (well under a second) when destroyed. Handlers run concurrently on server
// threads and must be thread-safe. Plain HTTP only: civetweb's TLS is broken
// on Debian 12, terminate TLS in front. A route's Gate sees the headers
// before the body is read (401, 413 without reading it); a body over the
// limit is a 413 and one not received in time a 408, not handler errors.
#ifndef AMAS_HTTP_HTTP_H_
#define AMAS_HTTP_HTTP_H_

#include <atomic>
#include <cstddef>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
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

// What a route decides from the request line and headers alone, before the
// body is read, so a refused client need not send (nor the server buffer) it.
struct Gate {
  struct Verdict {
    std::optional<Response> refusal;  // set: answered at once, body unread
    size_t max_body_bytes = std::numeric_limits<size_t>::max();
  };
  // Called with the body still empty; thread-safe like a Handler.
  std::function<Verdict(const Request& head)> check;
  // The answer to a body over max_body_bytes (by Content-Length or counted).
  std::function<Response(size_t max_body_bytes)> too_large;
};

// Routes are exact paths or patterns with "{name}" segments. Not found is a
// 404; a known path with another method is a 405 listing the allowed ones.
// Add routes before serving; the rest is const and thread-safe.
class Router {
  struct Route;

 public:
  void Handle(std::string method, std::string pattern, Handler handler, Gate gate = {});

  // The route for a request whose body is not read yet: an answer when the
  // request is refused already (404, 405, the gate's refusal), else how much
  // body the route takes. Admit fills head->path_params; Serve calls the
  // handler. Valid while the Router lives.
  struct Admission {
    std::optional<Response> answer;
    size_t max_body_bytes = std::numeric_limits<size_t>::max();
    const Route* route = nullptr;  // for TooLarge and Serve
  };
  Admission Admit(Request* head) const;
  Response TooLarge(const Admission& admission, size_t max_body_bytes) const;
  Response Serve(const Admission& admission, const Request& request) const;
  // All of it at once, for a request whose body is already read.
  Response Dispatch(Request request) const;

 private:
  struct Route {
    std::string method;
    std::vector<std::string> segments;  // "{x}" captures one segment
    Handler handler;
    Gate gate;
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
  // One worker per open connection (kept-alive ones too): enough that a
  // handful of slow clients leave workers for /metrics and /-/healthy.
  int threads = 32;
  size_t max_body_bytes = 10 << 20;
  // The whole request head must arrive within this, and each body read.
  int request_timeout_ms = 5000;
  // The whole body must arrive within this after the head, else a 408.
  int body_timeout_ms = 10000;
  // An idle kept-alive connection is closed after this (it holds a worker).
  int keep_alive_timeout_ms = 500;
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
  Server();
  static int OnRequest(mg_connection* conn, void* self);
  static int LogMessage(const mg_connection* conn, const char* message);
  static int ConnectionOpened(const mg_connection* conn, void** conn_data);
  static void ConnectionClosed(const mg_connection* conn);
  class BodyWatch;  // cuts body reads past their deadline

  const Router* router_ = nullptr;
  ServerOptions options_;
  mg_context* ctx_ = nullptr;
  int port_ = 0;
  std::atomic<int> connections_{0};  // held by workers, kept-alive ones too
  std::string poke_host_;            // where this machine reaches the listener
  std::unique_ptr<BodyWatch> watch_;
};

}  // namespace amas::http

#endif  // AMAS_HTTP_HTTP_H_
