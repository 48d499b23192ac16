// `sealtrace audit verify|checkpoint`: flag parsing only; the logic is in
// audit/verify.h and audit/audit_log.h (unit-tested there).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "audit/audit_log.h"
#include "audit/signer.h"
#include "audit/sqlite_store.h"
#include "audit/verify.h"
#include "cli/commands.h"
#include "common/env.h"

namespace sealtrace::cli {

void RegisterAuditCommand(CLI::App& app) {
  auto* audit = app.add_subcommand("audit", "Verify and inspect the tamper-evident audit log");
  audit->require_subcommand(1);

  struct VerifyFlags {
    std::string log, checkpoint, contributor;
    std::vector<std::string> keys;
  };
  auto vf = std::make_shared<VerifyFlags>();
  auto* verify = audit->add_subcommand(
      "verify", "Check the log (or one contributor's entries) against a saved checkpoint");
  verify->add_option("--log", vf->log, "Audit log database (SQLite)")->required();
  verify->add_option("--checkpoint", vf->checkpoint, "Saved signed checkpoint file")->required();
  verify->add_option("--key", vf->keys, "Verifier key <name>+<hex id>+<base64> (repeatable)")
      ->required();
  verify->add_option("--contributor", vf->contributor, "Only prove this contributor's entries");
  verify->callback([vf] {
    auto note = Env::Default()->ReadFile(vf->checkpoint);
    if (!note.ok()) {
      std::fprintf(stderr, "FAIL cannot read checkpoint: %s\n",
                   std::string(note.status().message()).c_str());
      throw CLI::RuntimeError(kExitError);
    }
    const audit::VerifyResult r =
        audit::VerifyAuditLogFile(vf->log, *note, vf->keys, vf->contributor);
    for (const auto& line : r.lines) std::printf("%s\n", line.c_str());
    if (!r.ok) throw CLI::RuntimeError(kExitError);
  });

  struct CheckpointFlags {
    std::string log, key_file, origin = audit::kDefaultOrigin;
    bool fresh = false;
  };
  auto cf = std::make_shared<CheckpointFlags>();
  auto* checkpoint = audit->add_subcommand("checkpoint", "Print the latest signed checkpoint");
  checkpoint->add_option("--log", cf->log, "Audit log database (SQLite)")->required();
  checkpoint->add_option("--key-file", cf->key_file, "Audit signing key file")->required();
  checkpoint->add_option("--origin", cf->origin, "Log origin / key name");
  checkpoint->add_flag("--new", cf->fresh, "Sign and store a checkpoint of the current tree first");
  checkpoint->callback([cf] {
    auto fail = [](const absl::Status& s) {
      std::fprintf(stderr, "FAIL %s\n", std::string(s.message()).c_str());
      throw CLI::RuntimeError(kExitError);
    };
    auto signer = audit::AuditSigner::Open(Env::Default(), cf->key_file);
    if (!signer.ok()) fail(signer.status());
    audit::SqliteAuditStore::Options opt;
    opt.create_if_missing = false;
    auto store = audit::SqliteAuditStore::Open(cf->log, opt);
    if (!store.ok()) fail(store.status());
    audit::AuditLogOptions lo;
    lo.origin = cf->origin;
    auto log = audit::AuditLog::Open(*std::move(store), signer->get(), lo);  // verifies the log
    if (!log.ok()) fail(log.status());
    auto note = cf->fresh ? (*log)->Checkpoint() : (*log)->LatestCheckpoint();
    if (!note.ok()) fail(note.status());
    std::fputs(note->c_str(), stdout);
  });
}

}  // namespace sealtrace::cli
