// The isolated (child-process) compile gives the same database behaviour as
// the in-process one, reports bad patterns the same way, and the redactor and
// exclusion matcher work the same with isolation on.
#include "privacy/hs_compile.h"

#include <gtest/gtest.h>

#include <vector>

#include "privacy/hs_compile_internal.h"
#include "privacy/redactor.h"

namespace sealtrace::privacy {
namespace {

int CountMatches(hs_database_t* db, const std::string& text) {
  hs_scratch_t* scratch = nullptr;
  EXPECT_EQ(hs_alloc_scratch(db, &scratch), HS_SUCCESS);
  int n = 0;
  hs_scan(
      db, text.data(), static_cast<unsigned>(text.size()), 0, scratch,
      [](unsigned, unsigned long long, unsigned long long, unsigned, void* ctx) {
        ++*static_cast<int*>(ctx);
        return 0;
      },
      &n);
  hs_free_scratch(scratch);
  return n;
}

// In this process, in a forked child, or in the sealtrace-hs-compile helper
// (the static recorder's way).
enum class Where { kInProcess, kChild, kHelper };

class HsCompileTest : public ::testing::TestWithParam<Where> {
 protected:
  void SetUp() override {
    SetHsCompileIsolation(GetParam() == Where::kChild);
    if (GetParam() == Where::kHelper) SetHsCompilerExecutable(SEALTRACE_HS_COMPILE_HELPER_PATH);
  }
  void TearDown() override {
    SetHsCompileIsolation(false);
    SetHsCompilerExecutable("");
  }
};

TEST_P(HsCompileTest, CompilesAndReportsErrors) {
  auto db = CompileHsBlockDatabase({"foo[0-9]+", "bar"}, {HS_FLAG_SINGLEMATCH, 0}, {0, 1});
  ASSERT_TRUE(db.ok()) << db.status();
  EXPECT_EQ(CountMatches(*db, "xx foo12 bar bar"), 3);  // foo once (single match), bar twice
  hs_free_database(*db);

  int expr = -2;
  auto bad = CompileHsBlockDatabase({"ok", "(unclosed"}, {0, 0}, {0, 1}, &expr);
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(absl::IsInvalidArgument(bad.status())) << bad.status();
  EXPECT_EQ(expr, 1);
  EXPECT_NE(bad.status().message().find("parenthes"), std::string::npos) << bad.status();
}

TEST_P(HsCompileTest, RedactorWorksTheSame) {
  auto r = Redactor::Create({});
  ASSERT_TRUE(r.ok()) << r.status();
  auto out = (*r)->Redact("card 4111 1111 1111 1111 and AKIAIOSFODNN7EXAMPLE");
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->find("4111"), std::string::npos) << *out;
  EXPECT_EQ(out->find("AKIA"), std::string::npos) << *out;
  EXPECT_NE(out->find("card "), std::string::npos) << *out;
}

INSTANTIATE_TEST_SUITE_P(InProcessChildAndHelper, HsCompileTest,
                         ::testing::Values(Where::kInProcess, Where::kChild, Where::kHelper));

TEST(HsCompileHelper, MissingHelperIsAClearErrorNotABadPattern) {
  SetHsCompilerExecutable("/nonexistent/sealtrace-hs-compile");
  auto db = CompileHsBlockDatabase({"foo"}, {0}, {0});
  SetHsCompilerExecutable("");
  ASSERT_FALSE(db.ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(db.status())) << db.status();
  EXPECT_NE(db.status().message().find("/nonexistent/sealtrace-hs-compile"), std::string::npos);
}

TEST(HsCompileHelper, RequestCodecRoundTripsAndRefusesMalformedInput) {
  const std::string req = internal::EncodeHsCompileRequest({"a+", "b[0-9]"}, {1, 2}, {7, 8});
  std::vector<std::string> exprs;
  std::vector<unsigned> flags, ids;
  ASSERT_TRUE(internal::DecodeHsCompileRequest(req, &exprs, &flags, &ids));
  EXPECT_EQ(exprs, (std::vector<std::string>{"a+", "b[0-9]"}));
  EXPECT_EQ(flags, (std::vector<unsigned>{1, 2}));
  EXPECT_EQ(ids, (std::vector<unsigned>{7, 8}));
  // Every truncation, and a trailing byte, is refused.
  for (size_t n = 0; n < req.size(); ++n) {
    std::vector<std::string> e;
    std::vector<unsigned> f, i;
    EXPECT_FALSE(internal::DecodeHsCompileRequest(req.substr(0, n), &e, &f, &i)) << n;
  }
  std::vector<std::string> e;
  std::vector<unsigned> f, i;
  EXPECT_FALSE(internal::DecodeHsCompileRequest(req + "x", &e, &f, &i));
}

}  // namespace
}  // namespace sealtrace::privacy
