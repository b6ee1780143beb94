// The CLI's Reporter: a progress bar on stderr when stderr is a terminal, warnings always
// (unless -q), info with -v. Nothing ever goes to stdout.
#pragma once

#include <memory>

#include "src/reporter.h"

namespace ferry::cli {

std::unique_ptr<Reporter> MakeTerminalReporter(bool verbose, bool quiet);

}  // namespace ferry::cli
