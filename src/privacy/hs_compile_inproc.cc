// The in-process Vectorscan compiler (full libhs): every binary except the
// statically linked recorder, which links Vectorscan's runtime-only library
// and compiles through the sealtrace-hs-compile helper (hs_compile.h).
#include "privacy/hs_compile_internal.h"

namespace sealtrace::privacy::internal {

bool HaveInProcessHsCompiler() { return true; }

HsCompiled CompileHsHere(const std::vector<const char*>& exprs, const std::vector<unsigned>& flags,
                         const std::vector<unsigned>& ids) {
  HsCompiled out;
  hs_compile_error_t* err = nullptr;
  if (hs_compile_multi(exprs.data(), flags.data(), ids.data(),
                       static_cast<unsigned>(exprs.size()), HS_MODE_BLOCK, nullptr, &out.db,
                       &err) != HS_SUCCESS) {
    out.db = nullptr;
    out.error = err && err->message ? err->message : "unknown error";
    out.error_expression = err ? err->expression : -1;
    if (err) hs_free_compile_error(err);
  }
  return out;
}

}  // namespace sealtrace::privacy::internal
