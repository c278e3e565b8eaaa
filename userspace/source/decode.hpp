// Decodes the ring buffer's bytes (bpf/events.h) into Event values. The live
// BPF source and the replay of a recorded trace both go through decode().
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>

#include "source/event.hpp"

namespace swamp {

struct Decoded {
    std::optional<Event> event;  // empty on error
    std::string error;           // why the bytes were rejected
};

Decoded decode(std::span<const std::byte> bytes);

// The bytes the kernel would have sent for `e` (used by tests and by replay of
// hand-written fixtures that carry no raw bytes).
std::vector<std::byte> encode(const Event& e);

}  // namespace swamp
