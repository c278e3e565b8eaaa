// libFuzzer target for the config parser (userspace/config): any input must
// either parse or throw UserError, and what parses must read back unchanged
// from format_config. Seeds: corpus/fuzz_config/.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "config/config.hpp"
#include "util/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    swamp::ControllerOptions options;
    try {
        swamp::apply_config_text(text, "fuzz.conf", options);
    } catch (const swamp::UserError&) {
        return 0;
    }
    std::string formatted = swamp::format_config(options);
    swamp::ControllerOptions again;
    swamp::apply_config_text(formatted, "formatted.conf", again);  // must not throw
    if (swamp::format_config(again) != formatted) abort();
    return 0;
}
