#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>

#include "state/state.h"

namespace amas::state {
namespace {

using core::Result;
using core::Status;

constexpr std::string_view kMagic = "amas-scaler-state 1 ";

// Owns a file descriptor.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;  // one owner closes it
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  int Release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_;
};

Status Errno(const std::string& what, const std::string& path) {
  return Status::Unavailable(what + " " + path + ": " + std::strerror(errno));
}

Status WriteAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("write", path);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status();
}

uint32_t Crc32(std::string_view data) {
  uLong crc = crc32(0L, Z_NULL, 0);
  // zlib takes uInt lengths: feed large documents in pieces.
  while (!data.empty()) {
    const size_t n = std::min<size_t>(data.size(), 1u << 30);
    crc = crc32(crc, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(n));
    data.remove_prefix(n);
  }
  return static_cast<uint32_t>(crc);
}

std::string Header(std::string_view document) {
  char crc[16];
  std::snprintf(crc, sizeof crc, "%08x", Crc32(document));
  return std::string(kMagic) + std::to_string(document.size()) + " " + crc + "\n";
}

std::string DirName(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

Status SaveFile(const std::string& path, std::string_view document) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (fd.get() < 0) return Errno("create", tmp);
    Status s = WriteAll(fd.get(), Header(document), tmp);
    if (s.ok()) s = WriteAll(fd.get(), document, tmp);
    if (s.ok() && ::fsync(fd.get()) != 0) s = Errno("fsync", tmp);
    if (!s.ok()) {
      ::unlink(tmp.c_str());
      return s;
    }
    if (::close(fd.Release()) != 0) {
      ::unlink(tmp.c_str());
      return Errno("close", tmp);
    }
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Status s = Errno("rename", tmp);
    ::unlink(tmp.c_str());
    return s;
  }
  // The rename is durable only once the folder's entry is on disk too.
  const std::string dir = DirName(path);
  Fd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dfd.get() < 0) return Errno("open folder", dir);
  if (::fsync(dfd.get()) != 0) return Errno("fsync folder", dir);
  return Status();
}

Result<std::string> LoadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (errno == ENOENT) return Status::NotFound(path + ": no state file");
    return Errno("open", path);
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  const std::string all = ss.str();
  auto corrupt = [&](std::string why) {
    return Status::InvalidArgument(path + ": corrupt state file: " + why);
  };
  if (all.compare(0, kMagic.size(), kMagic) != 0) return corrupt("bad header");
  const size_t eol = all.find('\n');
  if (eol == std::string::npos) return corrupt("truncated header");
  std::string_view fields(all.data() + kMagic.size(), eol - kMagic.size());
  const size_t space = fields.find(' ');
  if (space == std::string_view::npos) return corrupt("bad header");
  uint64_t length = 0;
  uint32_t crc = 0;
  auto [p1, e1] = std::from_chars(fields.data(), fields.data() + space, length);
  auto [p2, e2] = std::from_chars(fields.data() + space + 1, fields.data() + fields.size(), crc, 16);
  if (e1 != std::errc() || e2 != std::errc() || p1 != fields.data() + space ||
      p2 != fields.data() + fields.size()) {
    return corrupt("bad header");
  }
  std::string_view body(all.data() + eol + 1, all.size() - eol - 1);
  if (body.size() != length) {
    return corrupt("expected " + std::to_string(length) + " bytes, found " +
                   std::to_string(body.size()));
  }
  if (Crc32(body) != crc) return corrupt("checksum mismatch");
  return std::string(body);
}

}  // namespace amas::state
