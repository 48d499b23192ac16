// Corpus lines for the redactor's identifiers rules (src/privacy/rules_identifiers.cc).
#include "gen_redaction_corpus/corpus_internal.h"

namespace sealtrace::corpus {

void IdentifierPositives(Gen&) {}
void IdentifierNegatives(Gen&) {}

}  // namespace sealtrace::corpus
