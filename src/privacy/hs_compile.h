// Vectorscan block-mode database compilation for the privacy module, optionally
// isolated in a short-lived child process.
//
// Why: compiling touches most of libhs (the compiler is several MB of code) and
// leaves several MB of freed working memory in the heap that glibc does not
// return. In the recorder, which runs all day on every desktop, that is the
// largest part of its resident memory. With isolation on, the child compiles,
// serialises the database (hs_serialize_database) into a pipe and exits; the
// parent only deserialises it, so it maps the scanning runtime alone.
//
// Isolation is off by default (tests, fuzzers, the vault); the recorder turns
// it on at start-up (SetHsCompileIsolation). If the child cannot be started
// the compile runs in-process, so isolation never changes a result.
// The statically linked recorder goes one step further: it links Vectorscan's
// runtime-only library (no compiler code, and none of the compiler's static
// initialisers run at its start) and compiles through the sealtrace-hs-compile
// helper executable built beside it (SetHsCompilerExecutable).
//
// Failure: INVALID_ARGUMENT for a pattern the compiler refuses (with the index
// of the expression in `error_expression`, -1 if none), RESOURCE_EXHAUSTED if
// the database cannot be allocated, INTERNAL if the child or helper dies or
// sends something malformed, FAILED_PRECONDITION if the helper cannot be
// started or a binary without a compiler has no helper set.
// Thread-safety: CompileHsBlockDatabase may run concurrently; the isolation
// switch is atomic, the helper path is guarded by a mutex.
#pragma once

#include <hs.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace sealtrace::privacy {

void SetHsCompileIsolation(bool on);
bool HsCompileIsolation();

// Compile in the helper executable at `path` (sealtrace-hs-compile, started
// once per compile; "" turns it off). Takes precedence over isolation. The
// statically linked recorder has no in-process compiler (it links Vectorscan's
// runtime-only library) and sets this at start-up; if the helper cannot be
// started, compiling fails with FAILED_PRECONDITION naming it.
void SetHsCompilerExecutable(std::string path);
// False in binaries linked with the runtime-only library.
bool HasInProcessHsCompiler();

// hs_compile_multi(..., HS_MODE_BLOCK, ...). The caller owns the database
// (hs_free_database).
absl::StatusOr<hs_database_t*> CompileHsBlockDatabase(const std::vector<const char*>& exprs,
                                                      const std::vector<unsigned>& flags,
                                                      const std::vector<unsigned>& ids,
                                                      int* error_expression = nullptr);

}  // namespace sealtrace::privacy
