// Recorded traces: arbitrary text through `swamp-bpf replay` (ReplaySource and
// the printer), from a stream. A malformed line may only throw UserError.
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

#include "cli/commands.hpp"
#include "util/error.hpp"

using namespace swamp;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    // Text output without threads and JSON output with them: both printers.
    for (bool json : {false, true}) {
        std::istringstream in(text);
        std::ostringstream out;
        try {
            run_replay(ReplayOptions{"fuzz.jsonl", json, json}, in, out);
        } catch (const UserError&) {
        }
    }
    return 0;
}
