#include "dashboard/html.h"

#include <gtest/gtest.h>

namespace sealtrace::dashboard {
namespace {

TEST(EscapeTest, EscapesMarkupAndQuotes) {
  EXPECT_EQ(Escape("<script>alert(1)</script>"), "&lt;script&gt;alert(1)&lt;/script&gt;");
  EXPECT_EQ(Escape("a&b \"c\" 'd' `e`"), "a&amp;b &quot;c&quot; &#39;d&#39; &#96;e&#96;");
  EXPECT_EQ(Escape("\" onmouseover=\"x"), "&quot; onmouseover=&quot;x");
  EXPECT_EQ(Escape("&amp;"), "&amp;amp;");  // no double-decoding assumptions
}

TEST(EscapeTest, KeepsValidUtf8AndReplacesControlAndInvalidBytes) {
  EXPECT_EQ(Escape("Grüße — 日本"), "Grüße — 日本");
  EXPECT_EQ(Escape("a\nb\tc"), "a\nb\tc");
  EXPECT_EQ(Escape(std::string("a\0b", 3)),
            "a\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(Escape("\x1b[31m"), "\xEF\xBF\xBD[31m");
  EXPECT_EQ(Escape("\xC0\xBC"), "\xEF\xBF\xBD\xEF\xBF\xBD");                  // overlong '<'
  EXPECT_EQ(Escape("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
  EXPECT_EQ(Escape("x\xE2\x82"), "x\xEF\xBF\xBD\xEF\xBF\xBD");                // truncated
  EXPECT_EQ(Escape("\xC2\x85"), "\xEF\xBF\xBD");                              // C1 control (NEL)
  EXPECT_EQ(Escape("\xF0\x9F\x98\x80"), "\xF0\x9F\x98\x80");                  // emoji kept
}

TEST(FormTest, ParsesUrlEncodedBodies) {
  auto f = ParseForm("csrf=ab%2Bc&title=%3Cb%3E+x&empty=&flag");
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->at("csrf"), "ab+c");
  EXPECT_EQ(f->at("title"), "<b> x");
  EXPECT_EQ(f->at("empty"), "");
  EXPECT_EQ(f->at("flag"), "");
  auto first = ParseForm("a=1&a=2");
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->at("a"), "1");
  EXPECT_FALSE(ParseForm("a=%2").has_value());
  EXPECT_FALSE(ParseForm("a=%zz").has_value());
  EXPECT_FALSE(ParseForm("a=%").has_value());
  EXPECT_TRUE(ParseForm("").has_value());
}

TEST(CookieTest, FindsTheNamedCookieOnly) {
  EXPECT_EQ(CookieValue("a=1; st_session=abc; b=2", "st_session"), "abc");
  EXPECT_EQ(CookieValue("xst_session=evil; st_session=good", "st_session"), "good");
  EXPECT_EQ(CookieValue("a=1", "st_session"), "");
  EXPECT_EQ(CookieValue("", "st_session"), "");
}

TEST(TimeTest, DateTimeLocalRoundTrips) {
  auto t = ParseDateTimeLocal("2026-11-29T01:02");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(FormatDateTimeLocal(*t), "2026-11-29T01:02");
  EXPECT_EQ(FormatTimeUtc(*t), "2026-11-29 01:02:00 UTC");
  EXPECT_EQ(*ParseDateTimeLocal("1970-01-01T00:00:05"), 5'000'000);
  EXPECT_FALSE(ParseDateTimeLocal("2026-02-30T00:00").has_value());
  EXPECT_FALSE(ParseDateTimeLocal("2026-13-01T00:00").has_value());
  EXPECT_FALSE(ParseDateTimeLocal("2026-01-01 00:00").has_value());
  EXPECT_FALSE(ParseDateTimeLocal("<script>").has_value());
  EXPECT_TRUE(ParseDateTimeLocal("2024-02-29T23:59").has_value());
  EXPECT_EQ(FormatTimeUtc(0), "never");
  EXPECT_EQ(FormatDuration(3'723'000'000), "1 h 02 min");
  EXPECT_EQ(FormatDuration(65'000'000), "1 min 05 s");
  EXPECT_EQ(FormatBytes(0), "0 B");
  EXPECT_EQ(FormatBytes(1023), "1023 B");
  EXPECT_EQ(FormatBytes(1536), "1.5 KiB");
  EXPECT_EQ(FormatBytes(12 * 1024 * 1024), "12.0 MiB");
  EXPECT_EQ(FormatBytes(-5), "0 B");
}

TEST(OriginTest, RequiresSameOrigin) {
  const std::string me = "http://127.0.0.1:8420";
  EXPECT_TRUE(SameOriginRequest(me, "", "same-origin", me, {}));
  EXPECT_TRUE(SameOriginRequest(me, "", "", me, {}));
  EXPECT_FALSE(SameOriginRequest("http://evil.example", "", "", me, {}));
  EXPECT_FALSE(SameOriginRequest("null", "", "", me, {}));
  EXPECT_FALSE(SameOriginRequest(me, "", "cross-site", me, {}));
  EXPECT_FALSE(SameOriginRequest(me, "", "same-site", me, {}));
  EXPECT_FALSE(SameOriginRequest("http://127.0.0.1:8421", "", "", me, {}));
  // Without Origin, the Referer's origin decides; without both, refuse.
  EXPECT_TRUE(SameOriginRequest("", me + "/dashboard/me", "", me, {}));
  EXPECT_FALSE(SameOriginRequest("", "http://127.0.0.1:8420.evil.example/x", "", me, {}));
  EXPECT_FALSE(SameOriginRequest("", "", "", me, {}));
  EXPECT_TRUE(SameOriginRequest("https://vault.example", "", "", me, {"https://vault.example"}));
}

}  // namespace
}  // namespace sealtrace::dashboard
