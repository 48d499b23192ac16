// Corpus lines for the redactor's credentials rules (src/privacy/rules_credentials.cc).
#include "gen_redaction_corpus/corpus_internal.h"

namespace sealtrace::corpus {

void CredentialPositives(Gen&) {}
void CredentialNegatives(Gen&) {}

}  // namespace sealtrace::corpus
