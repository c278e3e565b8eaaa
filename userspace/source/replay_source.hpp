// Reads a recorded trace (JSON lines, see --record) back as events. Lines that
// carry the kernel's raw bytes go through the same decode() as the live ring
// buffer; hand-written lines without "raw" are read from their fields.
#pragma once

#include <cstdint>
#include <istream>
#include <optional>
#include <string>
#include <vector>

#include "source/event.hpp"

namespace swamp {

struct ReplayItem {
    Event event;
    std::vector<std::byte> raw;  // empty for a line without "raw"
    std::string comm;            // the name the recording gave the pid
};

class ReplaySource {
public:
    explicit ReplaySource(std::istream& in, std::string name = "trace");
    // The next event; nullopt at the end. Throws UserError naming the line
    // when a line is malformed.
    std::optional<ReplayItem> next();
    // Origin of the recording's clock (its "start" line), or the first event's time.
    std::optional<uint64_t> start_ns() const { return start_ns_; }
    size_t line() const { return line_; }

private:
    std::istream& in_;
    std::string name_;
    size_t line_ = 0;
    std::optional<uint64_t> start_ns_;
};

}  // namespace swamp
