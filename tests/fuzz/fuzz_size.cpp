// Size flags (--mem-budget 4XB, --reserve 1.5G, …): arbitrary text through parse_size().
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "util/size.hpp"

using namespace swamp;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    std::string error;
    auto bytes = parse_size(text, error);
    // Exactly one of a size above zero and an error that quotes the text.
    if (bytes ? (*bytes == 0 || !error.empty()) : error.find('"' + text + '"') == std::string::npos) abort();
    // A size prints as a bare number of bytes that parses back to itself.
    if (bytes && parse_size(std::to_string(*bytes), error) != bytes) abort();
    return 0;
}
