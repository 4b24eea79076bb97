#include <curl/curl.h>

#include <catch2/catch.hpp>
#include <chrono>

#include "http/http.h"

namespace amas::http {
namespace {

struct Reply {
  long status = 0;
  std::string body;
  std::string content_type;
};

size_t Collect(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

// One client for several requests, so keep-alive connections stay open
// while the server stops (the slow case of mg_stop).
class Client {
 public:
  Client() : curl_(curl_easy_init()) {}
  ~Client() { curl_easy_cleanup(curl_); }
  Reply Do(const std::string& url, const std::string* post_body = nullptr,
           const char* content_type = nullptr) {
    Reply r;
    curl_easy_reset(curl_);
    curl_easy_setopt(curl_, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, Collect);
    curl_easy_setopt(curl_, CURLOPT_WRITEDATA, &r.body);
    curl_easy_setopt(curl_, CURLOPT_TIMEOUT_MS, 5000L);
    curl_slist* headers = nullptr;
    if (post_body != nullptr) {
      curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, post_body->c_str());
      curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE, static_cast<long>(post_body->size()));
      if (content_type != nullptr) {
        headers =
            curl_slist_append(headers, (std::string("Content-Type: ") + content_type).c_str());
        curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, headers);
      }
    }
    if (curl_easy_perform(curl_) == CURLE_OK) {
      curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &r.status);
      char* ct = nullptr;
      curl_easy_getinfo(curl_, CURLINFO_CONTENT_TYPE, &ct);
      if (ct != nullptr) r.content_type = ct;
    }
    curl_slist_free_all(headers);
    return r;
  }

 private:
  CURL* curl_;
};

Router EchoRouter() {
  Router router;
  auto echo = [](const Request& r) {
    std::string out = r.method + " " + r.path;
    for (const auto& [k, v] : r.params) out += " " + k + "=" + v;
    out += " body=" + r.body + " ua=" + std::string(r.Header("x-test"));
    Response resp = Response::Text(201, out);
    resp.content_type = "application/x-echo";
    resp.headers.emplace_back("X-Extra", "1");
    return resp;
  };
  router.Handle("GET", "/echo/{thing}", echo);
  router.Handle("POST", "/echo/{thing}", echo);
  router.Handle("GET", "/throw", [](const Request&) -> Response { throw std::runtime_error("x"); });
  return router;
}

TEST_CASE("server serves a router on an ephemeral port and stops quickly") {
  Router router = EchoRouter();
  ServerOptions options;
  options.listen_address = "127.0.0.1:0";
  options.max_body_bytes = 64;
  auto server = Server::Start(options, &router);
  REQUIRE(server.ok());
  const int port = (*server)->port();
  REQUIRE(port > 0);
  const std::string base = "http://127.0.0.1:" + std::to_string(port);

  Client client;
  Reply r = client.Do(base + "/echo/x%20y?match%5B%5D=up&match[]=down");
  CHECK(r.status == 201);
  CHECK(r.content_type == "application/x-echo");
  CHECK(r.body == "GET /echo/x y match[]=up match[]=down body= ua=");

  const std::string form = "query=sum(up)&time=12";
  r = client.Do(base + "/echo/f?x=1", &form, "application/x-www-form-urlencoded");
  CHECK(r.status == 201);
  CHECK(r.body == "POST /echo/f query=sum(up) time=12 x=1 body=query=sum(up)&time=12 ua=");

  const std::string big(65, 'x');
  r = client.Do(base + "/echo/big", &big, "text/plain");
  CHECK(r.status == 413);

  CHECK(client.Do(base + "/nope").status == 404);
  CHECK(client.Do(base + "/throw").status == 500);
  CHECK(client.Do(base + "/echo/x?bad=%zz").status == 400);

  const auto start = std::chrono::steady_clock::now();
  server->reset();
  const auto took = std::chrono::steady_clock::now() - start;
  CHECK(took < std::chrono::milliseconds(500));
}

TEST_CASE("server rejects bad or taken addresses") {
  Router router;
  ServerOptions options;
  options.listen_address = "127.0.0.1";
  CHECK(Server::Start(options, &router).status().message() ==
        "invalid listen address \"127.0.0.1\": want host:port or :port");
  options.listen_address = "127.0.0.1:70000";
  CHECK_FALSE(Server::Start(options, &router).ok());

  options.listen_address = "127.0.0.1:0";
  std::vector<std::string> errors;
  options.on_error = [&](std::string_view e) { errors.emplace_back(e); };
  auto first = Server::Start(options, &router);
  REQUIRE(first.ok());
  options.listen_address = "127.0.0.1:" + std::to_string((*first)->port());
  auto second = Server::Start(options, &router);
  REQUIRE_FALSE(second.ok());
  CHECK(second.status().IsUnavailable());
}

TEST_CASE("':port' listens on every interface") {
  Router router = EchoRouter();
  ServerOptions options;
  options.listen_address = ":0";
  auto server = Server::Start(options, &router);
  REQUIRE(server.ok());
  Client client;
  CHECK(client.Do("http://127.0.0.1:" + std::to_string((*server)->port()) + "/echo/a").status ==
        201);
}

}  // namespace
}  // namespace amas::http
