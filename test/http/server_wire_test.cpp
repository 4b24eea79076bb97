// The server on the wire, with a raw socket client: keep-alive, answers
// given before the body is read (and the connection closed without reading
// it), chunked bodies counted, body deadlines (408), Expect: 100-continue,
// slow clients beside prompt ones, and a quick stop with clients attached.
// Deadlines here are functional (an answer comes at all), not timings,
// except the stop, which the contract promises within a second.
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "http/http.h"
#include "http/wire.h"

namespace amas::http {
namespace {

using Clock = std::chrono::steady_clock;

class Conn {
 public:
  explicit Conn(int port) : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  ~Conn() { close(fd_); }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  bool connected() const { return connected_; }
  bool Send(std::string_view data) {
    while (!data.empty()) {
      const ssize_t n = send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }
  // Everything received until `done` says so, the peer closes, or 10 s pass.
  std::string ReadUntil(const std::function<bool(const std::string&)>& done) {
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    while (!done(got_) && Clock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      char buf[4096];
      const ssize_t n = recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        closed_ = true;
        break;
      }
      got_.append(buf, static_cast<size_t>(n));
    }
    return got_;
  }
  // True iff something (or the close) is waiting to be read.
  bool Readable() {
    pollfd p{fd_, POLLIN, 0};
    return poll(&p, 1, 0) > 0;
  }
  // One whole response (head and Content-Length body), taken off the input.
  std::string Response() {
    auto complete = [](const std::string& s) { return ResponseLength(s) > 0; };
    ReadUntil(complete);
    const size_t n = ResponseLength(got_);
    if (n == 0) return {};
    std::string out = got_.substr(0, n);
    got_.erase(0, n);
    return out;
  }
  // True iff the server closed the connection (within 10 s).
  bool Closed() {
    ReadUntil([this](const std::string&) { return closed_; });
    return closed_;
  }
  // What arrived after the responses taken so far.
  const std::string& Rest() const { return got_; }

 private:
  static size_t ResponseLength(const std::string& s) {
    const size_t end = s.find("\r\n\r\n");
    if (end == std::string::npos) return 0;
    size_t body = 0;
    const size_t cl = s.find("Content-Length: ");
    if (cl != std::string::npos && cl < end) body = std::stoul(s.substr(cl + 16));
    if (s.starts_with("HTTP/1.1 100 ")) body = 0;
    return s.size() >= end + 4 + body ? end + 4 + body : 0;
  }

  int fd_;
  bool connected_ = false;
  bool closed_ = false;
  std::string got_;
};

// A slow client: one body byte every 50 ms until the server answers (5 s at most).
void TrickleUntilAnswered(Conn* c) {
  for (int i = 0; i < 100 && !c->Readable(); ++i) {
    c->Send("x");
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

std::string Post(std::string_view path, std::string_view body, std::string_view extra = "") {
  return "POST " + std::string(path) +
         " HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" +
         std::string(extra) + "\r\n" + std::string(body);
}

std::string BodyOf(const std::string& response) {
  const size_t end = response.find("\r\n\r\n");
  return end == std::string::npos ? "" : response.substr(end + 4);
}

struct Fixture {
  Router router;
  std::unique_ptr<Server> server;
  int port = 0;
  std::vector<std::string> gate_saw;  // bodies the gate saw (must be empty)

  explicit Fixture(ServerOptions options = {}) {
    router.Handle("GET", "/hello", [](const Request&) { return Response::Text(200, "hello"); });
    router.Handle("POST", "/echo", [](const Request& r) { return Response::Text(200, r.body); });
    Gate gate;
    gate.check = [this](const Request& head) {
      gate_saw.push_back(head.body);
      Gate::Verdict v;
      if (head.Header("authorization") != "Bearer t") {
        v.refusal = Response::Text(401, "who are you\n");
      }
      v.max_body_bytes = 16;
      return v;
    };
    gate.too_large = [](size_t max) {
      return Response::Text(413, "gated: more than " + std::to_string(max) + "\n");
    };
    router.Handle(
        "POST", "/gated", [](const Request& r) { return Response::Text(200, "got " + r.body); },
        std::move(gate));
    options.listen_address = "127.0.0.1:0";
    auto started = Server::Start(options, &router);
    REQUIRE(started.ok());
    server = std::move(*started);
    port = server->port();
  }
};

TEST_CASE("a response is one buffer: status, date, type, length, headers, connection, body") {
  Response r = Response::Text(201, "hi");
  r.headers.emplace_back("X-A", "1");
  CHECK(SerializeResponse(r, false, true, "Tue, 15 Nov 1994 08:12:31 GMT") ==
        "HTTP/1.1 201 Created\r\nDate: Tue, 15 Nov 1994 08:12:31 GMT\r\n"
        "Content-Type: text/plain; charset=utf-8\r\nContent-Length: 2\r\nX-A: 1\r\n"
        "Connection: keep-alive\r\n\r\nhi");
  // HEAD: the length of the body that GET would send, no body
  CHECK(SerializeResponse(Response::Text(404, "nope\n"), true, false, "D") ==
        "HTTP/1.1 404 Not Found\r\nDate: D\r\nContent-Type: text/plain; charset=utf-8\r\n"
        "Content-Length: 5\r\nConnection: close\r\n\r\n");
  CHECK(ReasonPhrase(408) == "Request Timeout");
  CHECK(ReasonPhrase(413) == "Request Entity Too Large");  // Go's text, as Prometheus sends
  CHECK(ReasonPhrase(299) == "Unknown");
  CHECK(HttpDate(784887151) == "Tue, 15 Nov 1994 08:12:31 GMT");
}

TEST_CASE("a gate decides on the head alone; Dispatch runs it like the server") {
  Fixture f;
  Request req;
  req.method = "POST";
  req.path = "/gated";
  req.body = "0123456789abcdef";  // exactly the gate's 16 bytes
  CHECK(f.router.Dispatch(req).status == 401);
  req.headers["authorization"] = "Bearer t";
  CHECK(f.router.Dispatch(req).body == "got 0123456789abcdef");
  req.body += "!";
  const Response big = f.router.Dispatch(req);
  CHECK(big.status == 413);
  CHECK(big.body == "gated: more than 16\n");
  CHECK(f.gate_saw == std::vector<std::string>{"", "", ""});
  // 404 and 405 come from Admit too, before any body
  req.path = "/nowhere";
  Request head = req;
  head.body.clear();
  CHECK(f.router.Admit(&head).answer->status == 404);
  head.path = "/hello";
  CHECK(f.router.Admit(&head).answer->status == 405);
}

TEST_CASE("keep-alive: several requests on one connection, each answered whole") {
  Fixture f;
  Conn c(f.port);
  REQUIRE(c.connected());
  for (int i = 0; i < 3; ++i) {
    REQUIRE(c.Send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
    const std::string r = c.Response();
    CHECK(r.starts_with("HTTP/1.1 200 OK\r\n"));
    CHECK(r.find("\r\nConnection: keep-alive\r\n") != std::string::npos);
    CHECK(r.find("\r\nDate: ") != std::string::npos);
    CHECK(BodyOf(r) == "hello");
  }
  REQUIRE(c.Send(Post("/echo", "abc")));
  CHECK(BodyOf(c.Response()) == "abc");
  // the client's "close" is honoured and said
  REQUIRE(c.Send("GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  CHECK(c.Response().find("\r\nConnection: close\r\n") != std::string::npos);
  CHECK(c.Closed());
}

TEST_CASE("refusals come before the body is read, and the connection closes") {
  ServerOptions options;
  options.request_timeout_ms = 30000;  // reading the body would take that long
  Fixture f(options);
  const std::string ten_mb_head = "POST /gated HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n";
  SECTION("no token: 401 at once, body never sent") {
    Conn c(f.port);
    REQUIRE(c.Send(ten_mb_head + "\r\n"));
    const std::string r = c.Response();
    CHECK(r.starts_with("HTTP/1.1 401 Unauthorized\r\n"));
    CHECK(r.find("\r\nConnection: close\r\n") != std::string::npos);
    CHECK(BodyOf(r) == "who are you\n");
    CHECK(c.Closed());        // not after 30 s of waiting for 10 MB
    CHECK(c.Rest().empty());  // and nothing after the answer
  }
  SECTION("Content-Length over the route's limit: the route's 413 at once") {
    Conn c(f.port);
    REQUIRE(c.Send(ten_mb_head + "Authorization: Bearer t\r\n\r\n" + std::string(1000, 'x')));
    const std::string r = c.Response();
    CHECK(r.starts_with("HTTP/1.1 413 Request Entity Too Large\r\n"));
    CHECK(BodyOf(r) == "gated: more than 16\n");
    CHECK(c.Closed());
  }
  SECTION("over the server's limit on a route without a gate") {
    Conn c(f.port);
    REQUIRE(c.Send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n"));
    const std::string r = c.Response();
    CHECK(r.starts_with("HTTP/1.1 413 "));
    CHECK(BodyOf(r) == "request body larger than 10485760 bytes\n");
    CHECK(c.Closed());
  }
  SECTION("unknown path with a body: 404 at once") {
    Conn c(f.port);
    REQUIRE(c.Send("POST /nope HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\n\r\n"));
    CHECK(c.Response().starts_with("HTTP/1.1 404 "));
    CHECK(c.Closed());
  }
  SECTION("a small body already sent is read and dropped; the connection stays") {
    Conn c(f.port);
    REQUIRE(c.Send(Post("/gated", "tiny")));
    CHECK(c.Response().starts_with("HTTP/1.1 401 "));
    REQUIRE(c.Send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
    CHECK(BodyOf(c.Response()) == "hello");
  }
  CHECK(f.gate_saw == std::vector<std::string>(f.gate_saw.size(), ""));
}

TEST_CASE("chunked bodies are counted while read") {
  Fixture f;
  const std::string head =
      "POST /gated HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t\r\n"
      "Transfer-Encoding: chunked\r\n\r\n";
  {
    Conn c(f.port);
    REQUIRE(c.Send(head + "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"));
    CHECK(BodyOf(c.Response()) == "got hello world");
  }
  Conn c(f.port);
  REQUIRE(c.Send(head + "10\r\n0123456789abcdef\r\n10\r\n0123456789abcdef\r\n"));
  const std::string r = c.Response();
  CHECK(r.starts_with("HTTP/1.1 413 "));
  CHECK(BodyOf(r) == "gated: more than 16\n");
  CHECK(c.Closed());
}

TEST_CASE("Expect: 100-continue gets its 100 only when the body is wanted") {
  Fixture f;
  Conn c(f.port);
  REQUIRE(
      c.Send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
             "Expect: 100-continue\r\n\r\n"));
  CHECK(c.Response() == "HTTP/1.1 100 Continue\r\n\r\n");
  REQUIRE(c.Send("abc"));
  CHECK(BodyOf(c.Response()) == "abc");

  Conn refused(f.port);
  REQUIRE(
      refused.Send("POST /gated HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
                   "Expect: 100-continue\r\n\r\n"));
  CHECK(refused.Response().starts_with("HTTP/1.1 401 "));
}

TEST_CASE("a body not received within body_timeout_ms is a 408") {
  ServerOptions options;
  options.body_timeout_ms = 300;
  Fixture f(options);
  SECTION("announced length, trickled") {
    Conn c(f.port);
    REQUIRE(c.Send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n"));
    TrickleUntilAnswered(&c);
    const std::string r = c.Response();
    CHECK(r.starts_with("HTTP/1.1 408 Request Timeout\r\n"));
    CHECK(c.Closed());
  }
  SECTION("chunked, one byte at a time (civetweb waits for a full buffer)") {
    Conn c(f.port);
    REQUIRE(
        c.Send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
               "1000\r\n"));
    TrickleUntilAnswered(&c);
    const std::string r = c.Response();
    CHECK(r.starts_with("HTTP/1.1 408 "));
    CHECK(c.Closed());
  }
  SECTION("nothing after the head") {
    Conn c(f.port);
    REQUIRE(c.Send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n"));
    CHECK(c.Response().starts_with("HTTP/1.1 408 "));
  }
}

TEST_CASE("slow clients leave workers for the others") {
  Fixture f;  // default options: the server's own worker count
  std::vector<std::unique_ptr<Conn>> slow;
  for (int i = 0; i < 9; ++i) {
    slow.push_back(std::make_unique<Conn>(f.port));
    REQUIRE(slow.back()->Send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nx"));
  }
  for (int i = 0; i < 9; ++i) {
    slow.push_back(std::make_unique<Conn>(f.port));
    REQUIRE(slow.back()->Send("GET /hello HTTP/1.1\r\nHo"));  // unfinished head
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  Conn c(f.port);
  REQUIRE(c.Send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
  CHECK(BodyOf(c.Response()) == "hello");
}

TEST_CASE("kept-alive connections do not starve new clients") {
  ServerOptions options;
  options.threads = 4;
  options.keep_alive_timeout_ms = 30000;  // an idle client would hold its worker that long
  Fixture f(options);
  std::vector<std::unique_ptr<Conn>> held;
  for (int i = 0; i < 6; ++i) {  // more clients than workers, each keeping its connection
    held.push_back(std::make_unique<Conn>(f.port));
    REQUIRE(held.back()->Send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
    CHECK(BodyOf(held.back()->Response()) == "hello");
  }
  // the first three keep their connection, later ones are told to close
  CHECK(held[0]->Send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
  CHECK(BodyOf(held[0]->Response()) == "hello");
  CHECK(held[5]->Closed());
}

TEST_CASE("stopping is quick with idle kept-alive and slow clients attached") {
  ServerOptions options;
  options.request_timeout_ms = 30000;
  options.keep_alive_timeout_ms = 30000;
  Fixture f(options);
  Conn idle(f.port);
  REQUIRE(idle.Send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
  CHECK(BodyOf(idle.Response()) == "hello");
  Conn slow_body(f.port);
  REQUIRE(slow_body.Send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nx"));
  Conn slow_head(f.port);
  REQUIRE(slow_head.Send("GET /hello HTTP/1.1\r\nHo"));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const auto start = Clock::now();
  f.server.reset();
  CHECK(Clock::now() - start < std::chrono::seconds(1));
  CHECK(idle.Closed());
}

}  // namespace
}  // namespace amas::http
