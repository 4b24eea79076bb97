#include "act/dry_run.h"

#include <catch2/catch.hpp>

namespace amas::act {
namespace {

TEST_CASE("dry_run keeps its count in memory") {
  DryRunActuator a("backend", 3);
  CHECK(a.kind() == "dry_run");
  CHECK(a.Describe() == "dry_run backend");
  CHECK(*a.Current() == 3);
  CHECK(a.Apply(7, {}).ok());
  CHECK(*a.Current() == 7);
  CHECK(a.Apply(7, {}).ok());
  CHECK(a.Apply(-1, {}).IsInvalidArgument());
  CHECK(*a.Current() == 7);
}

}  // namespace
}  // namespace amas::act
