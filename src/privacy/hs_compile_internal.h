// Internals of privacy/hs_compile.h shared by its implementations: the
// in-process compiler (hs_compile_inproc.cc, full libhs) or its stand-in for
// binaries linked with Vectorscan's runtime-only library
// (hs_compile_external.cc), and the pattern compiler helper executable
// (sealtrace-hs-compile, hs_compile_main.cc).
//
// Wire format between a process and the compiler it starts (a forked child or
// the helper), all integers little-endian as on the host (the two ends are
// the same build on the same machine):
//   request (helper's stdin):  u32 count, then per pattern
//                              u32 flags, u32 id, u32 length, bytes
//   reply (child/helper out):  u8 ok, i32 error expression, u64 length, bytes
//                              (the hs_serialize_database bytes if ok, else
//                              the compiler's error message)
#pragma once

#include <hs.h>

#include <string>
#include <string_view>
#include <vector>

namespace sealtrace::privacy::internal {

struct HsCompiled {
  hs_database_t* db = nullptr;
  int error_expression = -1;
  std::string error;  // empty on success
};

// hs_compile_multi in this process. Binaries linked without the compiler get
// an error saying so (the helper must be used).
HsCompiled CompileHsHere(const std::vector<const char*>& exprs, const std::vector<unsigned>& flags,
                         const std::vector<unsigned>& ids);
// True when CompileHsHere can compile (full libhs linked).
bool HaveInProcessHsCompiler();

std::string EncodeHsCompileRequest(const std::vector<const char*>& exprs,
                                   const std::vector<unsigned>& flags,
                                   const std::vector<unsigned>& ids);
// False for a malformed request (short, trailing bytes, > 100,000 patterns or
// a pattern longer than 1 MiB).
bool DecodeHsCompileRequest(std::string_view in, std::vector<std::string>* exprs,
                            std::vector<unsigned>* flags, std::vector<unsigned>* ids);
// Serialises the result (frees c.db) and writes the reply to fd.
bool WriteHsCompileReply(int fd, HsCompiled& c);

}  // namespace sealtrace::privacy::internal
