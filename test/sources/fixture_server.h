// fixture_server.h: a tiny threaded HTTP/1.1 server on 127.0.0.1 for tests.
// It answers each request with what the handler returns: any status,
// content type, gzip, delays, a hang, an endless or a truncated body. One
// thread per connection, keep-alive supported. The destructor stops every
// connection (hanging ones included) and joins all threads.
#ifndef AMAS_TEST_SOURCES_FIXTURE_SERVER_H_
#define AMAS_TEST_SOURCES_FIXTURE_SERVER_H_

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace amas::testing {

struct FixtureRequest {
  std::string method;
  std::string path;                            // without the query
  std::string query;                           // raw, without '?'
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
};

struct FixtureResponse {
  int status = 200;
  std::string content_type = "text/plain; version=0.0.4; charset=utf-8";  // "" → no header
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  bool gzip = false;          // send body gzip-compressed with Content-Encoding: gzip
  int delay_ms = 0;           // wait before answering
  bool hang = false;          // never answer; the connection stays open until the server stops
  bool endless = false;       // chunked body repeating `body` until the client hangs up
  int chunk_interval_ms = 0;  // endless: pause between chunks
  long truncate_at = -1;      // >= 0: announce the full length, send this many bytes, close
};

class FixtureServer {
 public:
  using Handler = std::function<FixtureResponse(const FixtureRequest&)>;
  explicit FixtureServer(Handler handler);
  ~FixtureServer();
  FixtureServer(const FixtureServer&) = delete;  // owns threads and sockets
  FixtureServer& operator=(const FixtureServer&) = delete;

  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  std::vector<FixtureRequest> requests() const;
  size_t request_count() const;

 private:
  void AcceptLoop();
  void Serve(int fd);
  bool Respond(int fd, const FixtureResponse& r);
  bool Wait(int ms);  // false when the server is stopping

  Handler handler_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<FixtureRequest> requests_;
  std::vector<int> open_fds_;
  std::vector<std::thread> threads_;
  std::thread acceptor_;
};

// gzip (RFC 1952) of data, for fixtures and tests.
std::string Gzip(const std::string& data);

}  // namespace amas::testing

#endif  // AMAS_TEST_SOURCES_FIXTURE_SERVER_H_
