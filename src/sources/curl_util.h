// curl_util.h (internal): RAII for libcurl handles and errors in people's words.
// Every CURL*, CURLM* and curl_slist* lives in one of these owners. Error texts
// follow what Prometheus shows for the same failure ("connection refused",
// "context deadline exceeded", "server returned HTTP status 500 Internal
// Server Error") so operators recognise them.
#ifndef AMAS_SOURCES_CURL_UTIL_H_
#define AMAS_SOURCES_CURL_UTIL_H_

#include <curl/curl.h>

#include <memory>
#include <string>
#include <string_view>

#include "core/core.h"

namespace amas::sources {

struct CurlEasyDeleter {
  void operator()(CURL* h) const { curl_easy_cleanup(h); }
};
struct CurlMultiDeleter {
  void operator()(CURLM* h) const { curl_multi_cleanup(h); }
};
struct CurlSlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using CurlEasy = std::unique_ptr<CURL, CurlEasyDeleter>;
using CurlMulti = std::unique_ptr<CURLM, CurlMultiDeleter>;
using CurlSlist = std::unique_ptr<curl_slist, CurlSlistDeleter>;

// curl_global_init once per process (thread-safe).
void EnsureCurlGlobalInit();

// Appends one header line; keeps the list owned by *list.
void AppendHeader(CurlSlist* list, const std::string& line);

// A failed transfer as a Status: timeouts → DeadlineExceeded ("... context
// deadline exceeded"), the rest → Unavailable, each prefixed `Get "URL": `.
// errbuf is curl's CURLOPT_ERRORBUFFER (may be empty).
core::Status TransferError(CURL* easy, CURLcode code, const char* errbuf, std::string_view method,
                           std::string_view url);

// Whole file with surrounding whitespace trimmed (as Prometheus reads
// bearer_token_file and password_file); errors name the file.
core::Result<std::string> ReadSecretFile(const std::string& path, std::string_view what);

}  // namespace amas::sources

#endif  // AMAS_SOURCES_CURL_UTIL_H_
