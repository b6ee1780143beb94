// libFuzzer target: the tokenizer and the flow reader never crash, hang or read out of bounds on
// arbitrary bytes, and an error always names the file.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "src/flow/flow_reader.h"
#include "src/flow/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view src(reinterpret_cast<const char*>(data), size);
  auto toks = ferry::flow::Tokenize(src, "fuzz.py");
  if (!toks.ok() && toks.status().message().rfind("fuzz.py:", 0) != 0) std::abort();
  auto flow = ferry::flow::ReadFlow(src, "fuzz.py");
  if (!flow.ok() && flow.status().message().rfind("fuzz.py", 0) != 0) std::abort();
  if (flow.ok()) {
    for (const auto& s : flow->steps) {
      if (s.kind == ferry::flow::StepEnvKind::kEnvironment &&
          (s.env_index < 0 || static_cast<size_t>(s.env_index) >= flow->environments.size())) {
        std::abort();
      }
    }
  }
  return 0;
}
