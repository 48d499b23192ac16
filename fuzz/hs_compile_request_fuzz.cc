// Fuzzes the request the sealtrace-hs-compile helper reads on its stdin
// (privacy/hs_compile_internal.h): any input is decoded or refused, never a
// crash; what decodes re-encodes to the same bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "privacy/hs_compile_internal.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> exprs;
  std::vector<unsigned> flags, ids;
  if (!sealtrace::privacy::internal::DecodeHsCompileRequest(in, &exprs, &flags, &ids)) return 0;
  if (exprs.size() != flags.size() || exprs.size() != ids.size()) std::abort();
  std::vector<const char*> c;
  for (const std::string& e : exprs) c.push_back(e.c_str());
  if (sealtrace::privacy::internal::EncodeHsCompileRequest(c, flags, ids) != in) std::abort();
  return 0;
}
