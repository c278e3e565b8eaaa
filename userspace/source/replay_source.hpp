// Reads a recorded trace (JSON lines, see --record) back as events. Lines that
// carry the kernel's raw bytes go through the same decode() as the live ring
// buffer; hand-written lines without "raw" are read from their fields.
#pragma once

#include <cstdint>
#include <functional>
#include <istream>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "source/event_source.hpp"
#include "source/event.hpp"

namespace swamp {

struct ReplayItem {
    Event event;
    std::vector<std::byte> raw;  // empty for a line without "raw"
    std::string comm;            // the name the recording gave the pid
};

class ReplaySource : public EventSource {
public:
    explicit ReplaySource(std::istream& in, std::string name = "trace");
    // EventSource: hands the next event to `sink` (1), or nothing at the end (0).
    int drain(const EventSink& sink) override;
    // The next event; nullopt at the end. Throws UserError naming the line
    // when a line is malformed.
    std::optional<ReplayItem> next();
    // Origin of the recording's clock (its "start" line), or the first event's time.
    std::optional<uint64_t> start_ns() const { return start_ns_; }
    size_t line() const { return line_; }
    // Called for each line that is not a kernel event ("start", "memory",
    // "decision", "drops", …), in file order, before next() goes on.
    using AnnotationHandler = std::function<void(const nlohmann::json& line, size_t number)>;
    void on_annotation(AnnotationHandler h) { on_annotation_ = std::move(h); }

private:
    std::istream& in_;
    std::string name_;
    size_t line_ = 0;
    std::optional<uint64_t> start_ns_;
    AnnotationHandler on_annotation_;
};

}  // namespace swamp
