// Fuzzes the dashboard's parsers of untrusted request data (form bodies,
// cookies, datetime-local values, Origin/Referer) and checks the HTML escaper's
// promise: its output never contains a raw markup or quote character and is
// valid UTF-8 without control characters other than \n and \t.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "dashboard/html.h"

namespace {

bool ValidUtf8NoControls(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7F) return false;
      ++i;
      continue;
    }
    size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += n;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  using namespace sealtrace::dashboard;
  const std::string esc = Escape(in);
  if (esc.find_first_of("<>\"'`") != std::string::npos) std::abort();
  if (!ValidUtf8NoControls(esc)) std::abort();
  if (auto form = ParseForm(in)) {
    for (const auto& [k, v] : *form) (void)Escape(k + v);
  }
  (void)CookieValue(in, "st_session");
  if (auto t = ParseDateTimeLocal(in)) {
    // Whatever parses must format back to the same minute.
    if (FormatDateTimeLocal(*t) != in.substr(0, 16)) std::abort();
  }
  const size_t cut = in.find('\n');
  const std::string_view origin = in.substr(0, cut);
  const std::string_view referer = cut == std::string_view::npos ? "" : in.substr(cut + 1);
  if (SameOriginRequest(origin, referer, "", "http://127.0.0.1:8420", {}) && !origin.empty() &&
      origin != "http://127.0.0.1:8420") {
    std::abort();
  }
  return 0;
}
