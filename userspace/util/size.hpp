// Parsing sizes such as "16M", "1.5GiB", "512k" or "4096" (bytes).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace swamp {

// Binary units: K/KB/KiB = 1024 … T/TB/TiB; a bare number is bytes.
// Rejects negatives, zero, unknown units and overflow, explaining in `error`.
std::optional<uint64_t> parse_size(const std::string& text, std::string& error);

}  // namespace swamp
