// sealtrace-hs-compile: the Vectorscan pattern compiler as a helper process
// for binaries linked with the runtime-only library (the static recorder;
// privacy/hs_compile.h). Reads one request on stdin, compiles it and writes
// one reply on stdout (privacy/hs_compile_internal.h), then exits: 0 when a
// reply was written (a pattern error is a reply), 2 for a malformed request, 3
// when the reply could not be written.
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include "privacy/hs_compile_internal.h"

int main() {
  std::string in;
  char buf[65536];
  for (;;) {
    const ssize_t r = read(0, buf, sizeof buf);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return 2;
    if (r == 0) break;
    in.append(buf, static_cast<size_t>(r));
    if (in.size() > (256u << 20)) return 2;
  }
  std::vector<std::string> exprs;
  std::vector<unsigned> flags, ids;
  if (!sealtrace::privacy::internal::DecodeHsCompileRequest(in, &exprs, &flags, &ids)) return 2;
  std::vector<const char*> cexprs;
  cexprs.reserve(exprs.size());
  for (const std::string& e : exprs) cexprs.push_back(e.c_str());
  sealtrace::privacy::internal::HsCompiled c =
      sealtrace::privacy::internal::CompileHsHere(cexprs, flags, ids);
  return sealtrace::privacy::internal::WriteHsCompileReply(1, c) ? 0 : 3;
}
