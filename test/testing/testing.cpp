#include "testing/testing.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

namespace amas::testing {

std::string SharedDir() {
  const char* env = std::getenv("AMAS_SHARED_DIR");
  std::string dir = env != nullptr && *env != '\0' ? env : AMAS_SHARED_DIR_DEFAULT;
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return "";
  return std::filesystem::weakly_canonical(dir, ec).string();
}

std::string SharedPath(std::string_view relative) {
  std::string dir = SharedDir();
  if (dir.empty()) return "";
  return dir + "/" + std::string(relative);
}

int SkipMissingShared(std::string_view what) {
  const char* env = std::getenv("AMAS_SHARED_DIR");
  std::cerr << "SKIPPED: " << what << ": ../shared not found (looked in "
            << (env != nullptr && *env != '\0' ? env : AMAS_SHARED_DIR_DEFAULT)
            << "; set AMAS_SHARED_DIR to run it)\n";
  return kSkipExitCode;
}

std::string ReadFile(const std::string& path, bool* ok) {
  std::ifstream in(path, std::ios::binary);
  if (ok != nullptr) *ok = static_cast<bool>(in);
  if (!in) return "";
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string templ = std::string(base != nullptr && *base != '\0' ? base : "/tmp") +
                      "/amas-test-XXXXXX";
  if (mkdtemp(templ.data()) == nullptr) {
    std::perror("mkdtemp");
    std::abort();
  }
  path_ = templ;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

int FreeLoopbackPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  int port = -1;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

}  // namespace amas::testing
