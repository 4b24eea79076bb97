#include <civetweb.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <exception>
#include <thread>

#include "http/http.h"

namespace amas::http {
namespace {

struct ListenAddress {
  std::string civetweb;  // the listening_ports value
  std::string host;      // where to connect to reach it from this machine
};

core::Result<ListenAddress> ParseListenAddress(std::string_view address) {
  const size_t colon = address.rfind(':');
  auto bad = [&](std::string_view why) {
    return core::Status::InvalidArgument("invalid listen address \"" + std::string(address) +
                                         "\": " + std::string(why));
  };
  if (colon == std::string_view::npos) return bad("want host:port or :port");
  std::string host(address.substr(0, colon));
  const std::string_view port = address.substr(colon + 1);
  if (port.empty() || port.size() > 5 ||
      !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
      std::stoi(std::string(port)) > 65535) {
    return bad("port must be a number from 0 to 65535");
  }
  if (host == "localhost") host = "127.0.0.1";
  ListenAddress out;
  if (host.empty()) {
    out.civetweb = std::string(port);
    out.host = "127.0.0.1";
  } else {
    out.civetweb = host + ":" + std::string(port);
    out.host = host;
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
      out.host = host.substr(1, host.size() - 2);
    }
    if (out.host == "0.0.0.0") out.host = "127.0.0.1";
    if (out.host == "::") out.host = "::1";
  }
  return out;
}

// Opens and closes one connection: a civetweb worker parked on an idle
// keep-alive socket notices the stop flag sooner.
void Poke(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res) != 0) return;
  const int fd = socket(res->ai_family, res->ai_socktype, res->ai_protocol);
  if (fd >= 0) {
    (void)connect(fd, res->ai_addr, res->ai_addrlen);
    close(fd);
  }
  freeaddrinfo(res);
}

int LogMessage(const mg_connection* conn, const char* message) {
  const mg_context* ctx = mg_get_context(conn);
  auto* options =
      ctx == nullptr ? nullptr : static_cast<const ServerOptions*>(mg_get_user_data(ctx));
  if (options != nullptr && options->on_error) options->on_error(message);
  return 1;  // handled: civetweb prints nothing itself
}

void Send(mg_connection* conn, const Request& request, const Response& response) {
  mg_response_header_start(conn, response.status);
  mg_response_header_add(conn, "Content-Type", response.content_type.c_str(), -1);
  const std::string length = std::to_string(response.body.size());
  mg_response_header_add(conn, "Content-Length", length.c_str(), -1);
  for (const auto& [name, value] : response.headers) {
    mg_response_header_add(conn, name.c_str(), value.c_str(), -1);
  }
  mg_response_header_send(conn);
  if (request.method != "HEAD" && !response.body.empty()) {
    mg_write(conn, response.body.data(), response.body.size());
  }
}

// Reads the body; false when it is longer than max.
bool ReadBody(mg_connection* conn, size_t max, std::string* body) {
  char buf[16384];
  for (;;) {
    const int n = mg_read(conn, buf, sizeof buf);
    if (n <= 0) return true;
    if (body->size() + static_cast<size_t>(n) > max) return false;
    body->append(buf, static_cast<size_t>(n));
  }
}

}  // namespace

int Server::OnRequest(mg_connection* conn, void* self_ptr) {
  const Server* self = static_cast<const Server*>(self_ptr);
  const mg_request_info* info = mg_get_request_info(conn);
  Request request;
  request.method = info->request_method;
  Response response;
  try {
    if (info->local_uri == nullptr) {
      response = Response::Text(400, "bad request: no local path\n");
    } else {
      request.path = info->local_uri;
      for (int i = 0; i < info->num_headers; ++i) {
        std::string name = info->http_headers[i].name;
        std::transform(name.begin(), name.end(), name.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        request.headers[name] = info->http_headers[i].value;
      }
      const size_t max = self->options_.max_body_bytes;
      if (info->content_length > static_cast<long long>(max) ||
          !ReadBody(conn, max, &request.body)) {
        response =
            Response::Text(413, "request body larger than " + std::to_string(max) + " bytes\n");
      } else {
        core::Status bad;
        if (request.Header("content-type").starts_with("application/x-www-form-urlencoded")) {
          auto form = ParseQuery(request.body);
          if (form.ok()) {
            request.params = std::move(*form);
          } else {
            bad = form.status();
          }
        }
        if (bad.ok() && info->query_string != nullptr) {
          auto query = ParseQuery(info->query_string);
          if (query.ok()) {
            request.params.insert(request.params.end(), query->begin(), query->end());
          } else {
            bad = query.status();
          }
        }
        response = bad.ok() ? self->router_->Dispatch(std::move(request))
                            : Response::Text(400, "bad request: " + bad.message() + "\n");
      }
    }
  } catch (const std::exception& e) {
    response = Response::Text(500, std::string("internal error: ") + e.what() + "\n");
  } catch (...) {
    response = Response::Text(500, "internal error\n");
  }
  Send(conn, request, response);
  return response.status;
}

core::Result<std::unique_ptr<Server>> Server::Start(const ServerOptions& options,
                                                    const Router* router) {
  core::Result<ListenAddress> address = ParseListenAddress(options.listen_address);
  if (!address.ok()) return address.status();
  std::unique_ptr<Server> server(new Server());
  server->router_ = router;
  server->options_ = options;
  const std::string threads = std::to_string(std::max(1, options.threads));
  // No keep-alive: a worker parked on an idle keep-alive socket only sees the
  // stop flag after civetweb's 2 s poll quantum, which would break "stop
  // within 1 s". A scrape every few seconds does not miss the reuse.
  const char* config[] = {"listening_ports",
                          address->civetweb.c_str(),
                          "num_threads",
                          threads.c_str(),
                          "enable_keep_alive",
                          "no",
                          "request_timeout_ms",
                          "30000",
                          "linger_timeout_ms",
                          "0",
                          nullptr};
  mg_callbacks callbacks{};
  callbacks.log_message = LogMessage;
  mg_context* ctx = mg_start(&callbacks, &server->options_, config);
  if (ctx == nullptr) {
    return core::Status::Unavailable("cannot listen on " + options.listen_address +
                                     " (address in use or not local?)");
  }
  server->ctx_ = ctx;
  mg_set_request_handler(ctx, "/", &Server::OnRequest, server.get());
  mg_server_port ports[4];
  const int n = mg_get_server_ports(ctx, 4, ports);
  if (n <= 0) return core::Status::Internal("civetweb reports no listening port");
  server->port_ = ports[0].port;
  server->poke_host_ = address->host;
  return server;
}

Server::~Server() {
  if (ctx_ == nullptr) return;
  std::atomic<bool> stopped{false};
  std::thread poker([&] {
    while (!stopped.load()) {
      Poke(poke_host_, port_);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  mg_stop(ctx_);
  stopped = true;
  poker.join();
}

}  // namespace amas::http
