#include <arpa/inet.h>
#include <civetweb.h>
#include <dirent.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <ctime>
#include <exception>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "http/http.h"
#include "http/wire.h"

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

// The date line changes once a second; each worker formats it once a second.
std::string_view CachedDate() {
  thread_local std::time_t last = 0;
  thread_local std::string text;
  const std::time_t now = std::time(nullptr);
  if (now != last) {
    last = now;
    text = HttpDate(now);
  }
  return text;
}

bool HasToken(std::string_view header, std::string_view token) {
  std::string lower(header);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lower.find(token) != std::string::npos;
}

// What civetweb's should_keep_alive decides from the request (keep-alive is on).
bool ClientKeepsAlive(const Request& request, const mg_request_info* info) {
  const auto it = request.headers.find("connection");
  if (it != request.headers.end()) return HasToken(it->second, "keep-alive");
  return info->http_version != nullptr && std::string_view(info->http_version) == "1.1";
}

// One write for the whole response: header and body as two small writes
// would cost a second segment and wake-up, and with Nagle a 40 ms stall.
// A big body goes on its own rather than be copied.
void Send(mg_connection* conn, const Request& request, const Response& response, bool keep_alive) {
  const bool head_only = request.method == "HEAD";
  constexpr size_t kCopyAtMost = 64 << 10;
  if (head_only || response.body.size() <= kCopyAtMost) {
    const std::string out = SerializeResponse(response, head_only, keep_alive, CachedDate());
    mg_write(conn, out.data(), out.size());
    return;
  }
  const std::string head = SerializeResponse(response, true, keep_alive, CachedDate());
  mg_write(conn, head.data(), head.size());
  mg_write(conn, response.body.data(), response.body.size());
}

// After a response answered before the body was read, the connection must
// close: civetweb would otherwise read (discard) the rest of the body, up to
// its request timeout per read. civetweb 1.15 has no call to say "close";
// mg_send_http_error sets its must_close flag and, for a 204 (no body) once
// the response is already out, writes nothing (server_wire_test checks).
void CloseAfterResponse(mg_connection* conn) { mg_send_http_error(conn, 204, "%s", ""); }

enum class BodyRead { kComplete, kTooLarge, kTimedOut, kCutShort };

// Reads the body (content_length < 0: chunked, counted while read) within
// deadline. civetweb's mg_read returns 0 at the end of the body and also
// when a read waited request_timeout_ms for nothing; -1 when the client
// went away. Memory grows with what arrives, not with what is announced.
BodyRead ReadBody(mg_connection* conn, long long content_length, size_t max,
                  std::chrono::steady_clock::time_point deadline, std::string* body) {
  constexpr size_t kChunk = 16384;
  if (content_length > 0) body->reserve(std::min(static_cast<size_t>(content_length), kChunk * 4));
  char chunk[kChunk];
  for (;;) {
    if (content_length >= 0 && body->size() == static_cast<size_t>(content_length)) {
      return BodyRead::kComplete;
    }
    if (std::chrono::steady_clock::now() > deadline) return BodyRead::kTimedOut;
    // A chunked read returns only once it has all it asked for (or the last
    // chunk): ask for no more than one byte past the limit.
    const size_t room = max - body->size();  // body->size() <= max here
    const size_t want = content_length >= 0 || room >= sizeof chunk ? sizeof chunk : room + 1;
    const int n = mg_read(conn, chunk, want);
    if (n < 0) {
      return std::chrono::steady_clock::now() > deadline ? BodyRead::kTimedOut
                                                         : BodyRead::kCutShort;
    }
    if (n == 0) return content_length < 0 ? BodyRead::kComplete : BodyRead::kTimedOut;
    if (body->size() + static_cast<size_t>(n) > max) return BodyRead::kTooLarge;
    body->append(chunk, static_cast<size_t>(n));
  }
}

// As civetweb writes mg_request_info::remote_addr.
std::string HostOf(const sockaddr_storage& a) {
  char text[INET6_ADDRSTRLEN] = "";
  if (a.ss_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&a)->sin_addr, text, sizeof text);
  } else if (a.ss_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&a)->sin6_addr, text, sizeof text);
  }
  return text;
}

int PortOf(const sockaddr_storage& a) {
  if (a.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&a)->sin_port);
  if (a.ss_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6*>(&a)->sin6_port);
  return -1;
}

// Shuts the reading side of the listener's connections (those from
// peer_host:peer_port only, when peer_port is not 0): a worker blocked
// reading one wakes at once. SHUT_RD only: a response being written still leaves. The
// listener's connections are the sockets whose local port is the
// listener's and that have a peer; civetweb 1.15 does not give out its
// sockets, so they are found in /proc/self/fd.
void CutReading(int port, int peer_port = 0, std::string_view peer_host = {}) {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return;
  while (const dirent* entry = readdir(dir)) {
    if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
    const int fd = std::atoi(entry->d_name);
    if (fd == dirfd(dir)) continue;
    sockaddr_storage local{};
    socklen_t len = sizeof local;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) != 0) continue;
    if (PortOf(local) != port) continue;
    sockaddr_storage peer{};
    len = sizeof peer;
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) != 0) continue;
    if (peer_port != 0 && (PortOf(peer) != peer_port || HostOf(peer) != peer_host)) continue;
    shutdown(fd, SHUT_RD);
  }
  closedir(dir);
}

}  // namespace

// Enforces body deadlines: civetweb's mg_read waits for a whole buffer, so a
// client trickling a chunked body would hold it for hours. Once a read is
// past its deadline, its connection's reading side is shut and mg_read
// returns. Checked every 100 ms.
class Server::BodyWatch {
 public:
  explicit BodyWatch(int port) : port_(port), thread_([this] { Run(); }) {}
  BodyWatch(const BodyWatch&) = delete;
  BodyWatch& operator=(const BodyWatch&) = delete;
  ~BodyWatch() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }

  uint64_t Add(std::chrono::steady_clock::time_point deadline, const mg_request_info& peer) {
    std::lock_guard<std::mutex> lock(mu_);
    reads_.emplace(++last_id_, Read{deadline, peer.remote_port, peer.remote_addr});
    return last_id_;
  }
  void Remove(uint64_t id) {
    std::lock_guard<std::mutex> lock(mu_);
    reads_.erase(id);
  }

 private:
  struct Read {
    std::chrono::steady_clock::time_point deadline;
    int peer_port;
    std::string peer_host;
  };

  void Run() {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stop_) {
      wake_.wait_for(lock, std::chrono::milliseconds(100));
      const auto now = std::chrono::steady_clock::now();
      std::vector<Read> late;
      for (auto it = reads_.begin(); it != reads_.end();) {
        if (it->second.deadline < now) {
          late.push_back(std::move(it->second));
          it = reads_.erase(it);
        } else {
          ++it;
        }
      }
      if (late.empty()) continue;
      lock.unlock();
      for (const Read& read : late) CutReading(port_, read.peer_port, read.peer_host);
      lock.lock();
    }
  }

  const int port_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stop_ = false;
  uint64_t last_id_ = 0;
  std::map<uint64_t, Read> reads_;
  std::thread thread_;  // last: starts once the rest is built
};

int Server::LogMessage(const mg_connection* conn, const char* message) {
  const mg_context* ctx = mg_get_context(conn);
  auto* self = ctx == nullptr ? nullptr : static_cast<const Server*>(mg_get_user_data(ctx));
  if (self != nullptr && self->options_.on_error) self->options_.on_error(message);
  return 1;  // handled: civetweb prints nothing itself
}

int Server::ConnectionOpened(const mg_connection* conn, void** /*conn_data*/) {
  auto* self = static_cast<Server*>(mg_get_user_data(mg_get_context(conn)));
  self->connections_.fetch_add(1, std::memory_order_relaxed);
  return 0;
}

void Server::ConnectionClosed(const mg_connection* conn) {
  auto* self = static_cast<Server*>(mg_get_user_data(mg_get_context(conn)));
  self->connections_.fetch_sub(1, std::memory_order_relaxed);
}

int Server::OnRequest(mg_connection* conn, void* self_ptr) {
  const Server* self = static_cast<const Server*>(self_ptr);
  const ServerOptions& options = self->options_;
  const mg_request_info* info = mg_get_request_info(conn);
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(options.body_timeout_ms);
  Request request;
  request.method = info->request_method;
  Response response;
  // Whether a body is (still) on the wire, and whether reading it failed.
  bool body_left = info->content_length > 0 ||
                   (info->content_length < 0 && mg_get_header(conn, "Transfer-Encoding"));
  bool read_failed = false;
  // Reads the body within the deadline, which watch_ enforces.
  auto read = [&](size_t max, std::string* body) {
    const uint64_t watch = self->watch_->Add(deadline, *info);
    const BodyRead result = ReadBody(conn, info->content_length, max, deadline, body);
    self->watch_->Remove(watch);
    return result;
  };
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
      core::Status bad;
      if (info->query_string != nullptr) {
        auto query = ParseQuery(info->query_string);
        if (query.ok()) {
          request.params = std::move(*query);
        } else {
          bad = query.status();
        }
      }
      const Router::Admission admission =
          bad.ok() ? self->router_->Admit(&request) : Router::Admission{};
      const size_t max = std::min(options.max_body_bytes, admission.max_body_bytes);
      if (!bad.ok()) {
        response = Response::Text(400, "bad request: " + bad.message() + "\n");
      } else if (admission.answer) {
        response = *admission.answer;
      } else if (info->content_length > static_cast<long long>(max)) {
        response = self->router_->TooLarge(admission, max);
      } else {
        if (body_left && HasToken(request.Header("expect"), "100-continue")) {
          static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
          mg_write(conn, kContinue.data(), kContinue.size());
        }
        const BodyRead outcome = read(max, &request.body);
        body_left = false;
        read_failed = outcome != BodyRead::kComplete;
        switch (outcome) {
          case BodyRead::kComplete:
            if (request.Header("content-type").starts_with("application/x-www-form-urlencoded")) {
              auto form = ParseQuery(request.body);
              if (!form.ok()) {
                response = Response::Text(400, "bad request: " + form.status().message() + "\n");
                break;
              }
              // Form values first, as before: "query" from the body wins.
              form->insert(form->end(), request.params.begin(), request.params.end());
              request.params = std::move(*form);
            }
            response = self->router_->Serve(admission, request);
            break;
          case BodyRead::kTooLarge:
            response = self->router_->TooLarge(admission, max);
            break;
          case BodyRead::kTimedOut:
            response = Response::Text(408, "request body not received within " +
                                               std::to_string(options.body_timeout_ms) + " ms\n");
            break;
          case BodyRead::kCutShort:
            response = Response::Text(400, "bad request: body cut short\n");
            break;
        }
      }
    }
  } catch (const std::exception& e) {
    response = Response::Text(500, std::string("internal error: ") + e.what() + "\n");
  } catch (...) {
    response = Response::Text(500, "internal error\n");
  }
  // Answered without the body: a small one is read and dropped, since the
  // client may be sending it already and closing on unread data resets the
  // connection, answer and all; a big or chunked one is left unread.
  constexpr long long kDropAtMost = 64 << 10;
  bool close = read_failed;
  if (body_left) {
    std::string dropped;
    close =
        info->content_length > kDropAtMost || read(kDropAtMost, &dropped) != BodyRead::kComplete;
  }
  // A kept-alive connection holds its worker: once three quarters of them
  // are held, answers close their connection so that new clients get one.
  if (!close &&
      self->connections_.load(std::memory_order_relaxed) > std::max(1, options.threads) * 3 / 4) {
    close = ClientKeepsAlive(request, info);
  }
  Send(conn, request, response, !close && ClientKeepsAlive(request, info));
  if (close) CloseAfterResponse(conn);
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
  const std::string request_timeout = std::to_string(std::max(1, options.request_timeout_ms));
  const std::string keep_alive_timeout = std::to_string(std::max(1, options.keep_alive_timeout_ms));
  // Keep-alive with TCP_NODELAY: a connection per request costs more in the
  // kernel than the handler does. Idle kept-alive connections and slow
  // clients are woken at stop (WakeReaders), so stopping stays quick.
  const char* config[] = {"listening_ports",
                          address->civetweb.c_str(),
                          "num_threads",
                          threads.c_str(),
                          "enable_keep_alive",
                          "yes",
                          "keep_alive_timeout_ms",
                          keep_alive_timeout.c_str(),
                          "tcp_nodelay",
                          "1",
                          "request_timeout_ms",
                          request_timeout.c_str(),
                          "linger_timeout_ms",
                          "0",
                          nullptr};
  mg_callbacks callbacks{};
  callbacks.log_message = &Server::LogMessage;
  callbacks.init_connection = &Server::ConnectionOpened;
  callbacks.connection_close = &Server::ConnectionClosed;
  mg_context* ctx = mg_start(&callbacks, server.get(), config);
  if (ctx == nullptr) {
    return core::Status::Unavailable("cannot listen on " + options.listen_address +
                                     " (address in use or not local?)");
  }
  server->ctx_ = ctx;
  mg_server_port ports[4];
  const int n = mg_get_server_ports(ctx, 4, ports);
  if (n <= 0) return core::Status::Internal("civetweb reports no listening port");
  server->port_ = ports[0].port;
  server->poke_host_ = address->host;
  server->watch_ = std::make_unique<BodyWatch>(server->port_);
  mg_set_request_handler(ctx, "/", &Server::OnRequest, server.get());
  return server;
}

Server::Server() = default;

Server::~Server() {
  if (ctx_ == nullptr) return;
  std::atomic<bool> stopped{false};
  std::thread poker([&] {
    while (!stopped.load()) {
      Poke(poke_host_, port_);
      CutReading(port_);  // idle kept-alive and slow clients: now, not in 2 s
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  mg_stop(ctx_);
  stopped = true;
  poker.join();
  watch_.reset();
}

}  // namespace amas::http
