// The human-readable trace: one aligned line per event.
#pragma once

#include <cstdint>
#include <string>

#include "source/event.hpp"
#include "util/size.hpp"  // human_bytes

namespace swamp {

// "12.3k", "950", "1.2M"
std::string human_count(double n);

// A process name for a text column of `width` bytes: printable(), then cut
// there without splitting a character.
std::string comm_column(const std::string& comm, size_t width = 15);

std::string text_header();
// `comm`: the name userspace knows for the pid (events such as rss carry none).
std::string text_line(const Event& e, uint64_t start_ns, const std::string& comm);

}  // namespace swamp
