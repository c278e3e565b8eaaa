// Parsing sizes such as "16M", "1.5GiB", "512k" or "4096" (bytes).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace swamp {

// Binary units: K/KB/KiB = 1024 … T/TB/TiB; a bare number is bytes.
// Rejects negatives, zero, unknown units and overflow, explaining in `error`.
std::optional<uint64_t> parse_size(const std::string& text, std::string& error);

// For people: "1.50G", "256.0M", "512K", "0".
std::string human_bytes(uint64_t bytes);
// Exact, so that parse_size reads it back to the same number: "128M", "1536K", "1000".
std::string exact_size(uint64_t bytes);

}  // namespace swamp
