// Stand-in for the in-process compiler in binaries linked with Vectorscan's
// runtime-only library (the static recorder, cmake/StaticDeps.cmake): they
// compile patterns only through the sealtrace-hs-compile helper.
#include "privacy/hs_compile_internal.h"

namespace sealtrace::privacy::internal {

bool HaveInProcessHsCompiler() { return false; }

HsCompiled CompileHsHere(const std::vector<const char*>&, const std::vector<unsigned>&,
                         const std::vector<unsigned>&) {
  HsCompiled out;
  out.error = "this binary has no pattern compiler; it uses the sealtrace-hs-compile helper";
  return out;
}

}  // namespace sealtrace::privacy::internal
