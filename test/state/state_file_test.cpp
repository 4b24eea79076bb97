#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "state/state.h"
#include "testing/testing.h"

using amas::state::LoadFile;
using amas::state::SaveFile;

namespace {
void Overwrite(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}
}  // namespace

TEST_CASE("state file: round trip, replacing atomically, no temp files left") {
  amas::testing::TempDir dir;
  const std::string path = dir.path() + "/state.json";
  CHECK(LoadFile(path).status().IsNotFound());
  REQUIRE(SaveFile(path, "{\"v\":1}").ok());
  REQUIRE(SaveFile(path, "{\"v\":2}").ok());
  auto back = LoadFile(path);
  REQUIRE(back.ok());
  CHECK(*back == "{\"v\":2}");
  size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
    (void)e;
    ++files;
  }
  CHECK(files == 1);
  REQUIRE(SaveFile(path, "").ok());
  CHECK(LoadFile(path)->empty());
}

TEST_CASE("state file: corrupt or partial files are errors with a reason, never a crash") {
  amas::testing::TempDir dir;
  const std::string path = dir.path() + "/state.json";
  REQUIRE(SaveFile(path, "0123456789").ok());
  const std::string good = amas::testing::ReadFile(path);

  struct Case {
    std::string bytes;
    std::string reason;
  };
  std::string flipped = good;
  flipped.back() = 'X';
  const Case cases[] = {
      {good.substr(0, good.size() - 3), "expected 10 bytes, found 7"},
      {good + "extra", "expected 10 bytes, found 15"},
      {flipped, "checksum mismatch"},
      {"", "bad header"},
      {"amas-scaler-state 1 10", "truncated header"},
      {"amas-scaler-state 1 ten 0\n0123456789", "bad header"},
      {"{\"v\":1}", "bad header"},
  };
  for (const Case& c : cases) {
    Overwrite(path, c.bytes);
    auto r = LoadFile(path);
    INFO(c.reason);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().IsInvalidArgument());
    CHECK(r.status().message() == path + ": corrupt state file: " + c.reason);
  }
}

TEST_CASE("state file: an unwritable folder is an error, not a crash") {
  auto s = SaveFile("/nonexistent-folder/state.json", "x");
  CHECK_FALSE(s.ok());
  CHECK(s.message().find("create /nonexistent-folder/state.json.tmp.") == 0);
}
