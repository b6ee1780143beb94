// Activation: the process environment for running a command inside a materialized prefix.
#pragma once

#include <map>
#include <string>

#include "src/status.h"

namespace ferry::store {

// Returns `base` (e.g. the current environ) changed as `conda activate` would:
//  - PATH = <prefix>/bin:<PATH>; CONDA_PREFIX = <prefix>; CONDA_DEFAULT_ENV = <prefix>;
//    CONDA_SHLVL = 1;
//  - conda-meta/state "env_vars" and etc/conda/env_vars.d/*.json (sorted by name) applied;
//  - only if etc/conda/activate.d/*.sh exist: they are sourced, in name order, by /bin/sh with
//    that environment (their stdout sent to stderr), and every variable they set, change or unset
//    is applied (found by diffing `env -0` before and after, as conda-run/pixi do).
// Without activate.d scripts no process is started. Error (kUser) naming the script if the shell
// cannot be run or a script makes it exit non-zero. Thread-compatible; forks a child only.
Result<std::map<std::string, std::string>> ActivatedEnvironment(
    const std::string& prefix, std::map<std::string, std::string> base);

// The current process environment as a map.
std::map<std::string, std::string> CurrentEnvironment();

}  // namespace ferry::store
