#include "publish/http_post.h"

#include <curl/curl.h>

#include <memory>

namespace amas::publish::internal {
namespace {

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

size_t Discard(char* /*data*/, size_t size, size_t n, void* /*user*/) { return size * n; }

}  // namespace

PostResult PostJson(const std::string& url, const std::string& body,
                    const std::vector<std::string>& extra_headers, core::Duration timeout,
                    const std::string& tls_ca_file) {
  PostResult result;
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) {
    result.error = "cannot create a curl handle";
    return result;
  }
  std::unique_ptr<curl_slist, SlistDeleter> headers;
  auto add = [&](const std::string& line) {
    headers.reset(curl_slist_append(headers.release(), line.c_str()));
  };
  add("Content-Type: application/json");
  add("User-Agent: amas-scaler");
  for (const std::string& line : extra_headers) add(line);
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_POST, 1L);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.millis()));
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, Discard);
  if (!tls_ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, tls_ca_file.c_str());
  if (const CURLcode rc = curl_easy_perform(c); rc != CURLE_OK) {
    result.error = curl_easy_strerror(rc);
    return result;
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &result.status);
  return result;
}

}  // namespace amas::publish::internal
