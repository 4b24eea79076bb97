#include "sources/curl_util.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>

namespace amas::sources {

void EnsureCurlGlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

void AppendHeader(CurlSlist* list, const std::string& line) {
  curl_slist* grown = curl_slist_append(list->get(), line.c_str());
  if (grown != nullptr) {
    (void)list->release();  // curl_slist_append returned the same list, now longer
    list->reset(grown);
  }
}

core::Status TransferError(CURL* easy, CURLcode code, const char* errbuf, std::string_view method,
                           std::string_view url) {
  std::string prefix = std::string(method) + " \"" + std::string(url) + "\": ";
  const std::string detail =
      errbuf != nullptr && errbuf[0] != '\0' ? std::string(errbuf) : curl_easy_strerror(code);
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      return core::Status::DeadlineExceeded(prefix + "context deadline exceeded (" + detail + ")");
    case CURLE_COULDNT_CONNECT: {
      long os_errno = 0;
      curl_easy_getinfo(easy, CURLINFO_OS_ERRNO, &os_errno);
      if (os_errno == ECONNREFUSED) return core::Status::Unavailable(prefix + "connection refused");
      if (os_errno != 0) {
        return core::Status::Unavailable(prefix +
                                         "connect: " + std::strerror(static_cast<int>(os_errno)));
      }
      return core::Status::Unavailable(prefix + detail);
    }
    case CURLE_COULDNT_RESOLVE_HOST:
      return core::Status::Unavailable(prefix + "no such host (" + detail + ")");
    case CURLE_PARTIAL_FILE:
      return core::Status::Unavailable(prefix + "unexpected EOF (" + detail + ")");
    case CURLE_GOT_NOTHING:
      return core::Status::Unavailable(prefix + "EOF (" + detail + ")");
    default:
      return core::Status::Unavailable(prefix + detail);
  }
}

core::Result<std::string> ReadSecretFile(const std::string& path, std::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return core::Status::FailedPrecondition("unable to read " + std::string(what) + " " + path +
                                            ": " + std::strerror(errno));
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  const auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  size_t b = 0, e = s.size();
  while (b < e && blank(s[b])) ++b;
  while (e > b && blank(s[e - 1])) --e;
  return s.substr(b, e - b);
}

}  // namespace amas::sources
