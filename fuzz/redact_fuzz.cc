// Fuzzes the redactor: block mode must not crash, findings must be sorted,
// non-overlapping and inside the input, and stream mode (input split at a
// fuzzer-chosen point) must produce exactly the block-mode output.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "privacy/redactor.h"

using sealtrace::privacy::Redactor;
using sealtrace::privacy::StreamRedactor;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static auto redactor = [] {
    sealtrace::privacy::RedactorOptions o;
    o.never_record = {"Project Falcon", "über"};
    auto r = Redactor::Create(o);
    if (!r.ok()) std::abort();
    return *r;
  }();
  if (size == 0) return 0;
  size_t cut = data[0] % (size);
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::vector<sealtrace::privacy::Finding> f;
  auto block = redactor->Redact(text, &f);
  if (!block.ok()) std::abort();
  size_t last = 0;
  for (const auto& x : f) {
    if (x.begin < last || x.end <= x.begin || x.end > text.size()) std::abort();
    last = x.end;
  }
  StreamRedactor s(redactor);
  std::string out;
  cut = std::min(cut, text.size());
  if (!s.Append(text.substr(0, cut), &out, nullptr).ok()) std::abort();
  if (!s.Append(text.substr(cut), &out, nullptr).ok()) std::abort();
  if (!s.EndRun(&out, nullptr).ok()) std::abort();
  if (text.size() <= Redactor::kMaxFindingBytes && out != *block) std::abort();
  return 0;
}
