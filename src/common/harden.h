// Process hardening shared by every sealtrace binary.
//
// DisableCoreDumps() sets RLIMIT_CORE to 0 (no core file, whatever the
// system's core_pattern) and marks the process not dumpable
// (PR_SET_DUMPABLE 0: no core to a piped handler either, no ptrace attach or
// /proc/PID/mem reads by other processes of the same user). Key material,
// typed text held by the privacy gate and plaintext released to a reader then
// never reach a crash file. Children inherit RLIMIT_CORE; exec resets
// dumpable, so each binary calls this first thing in main().
//
// Failure: an error names the call that failed; callers log it and go on
// (the process is still correct, only less protected). Thread-safety: call
// once, before starting threads.
#pragma once

#include "absl/status/status.h"

namespace sealtrace {

absl::Status DisableCoreDumps();

}  // namespace sealtrace
