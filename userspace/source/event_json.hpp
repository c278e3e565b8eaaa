// The trace's JSON-lines schema (documented in the docs/trace.md, "Trace output and JSON schema").
// One object per line; `v` is the schema version.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>

#include "source/event.hpp"
#include "util/json_line.hpp"

namespace swamp {

constexpr int kJsonSchemaVersion = 1;

// `start_ns`: the trace's origin on the kernel's monotonic clock, for "t".
// `comm`: the process name userspace knows for pids whose event carries none.
nlohmann::json event_to_json(const Event& e, uint64_t start_ns, const std::string& comm);

// Parses one object of the schema; nullopt (with `error`) when it is not an
// event line (for example a decision or a start line) or is malformed.
std::optional<Event> event_from_json(const nlohmann::json& j, std::string& error);

std::string hex_encode(std::span<const std::byte> bytes);
std::optional<std::vector<std::byte>> hex_decode(const std::string& hex);

}  // namespace swamp
