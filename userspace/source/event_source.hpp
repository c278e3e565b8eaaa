// Where the engine's events come from: the BPF ring buffer (BpfSource, live)
// or a recorded trace (ReplaySource). Both hand out decoded events, with the
// bytes they came as when there are any.
#pragma once

#include <cstddef>
#include <functional>
#include <span>

#include "source/event.hpp"

namespace swamp {

class EventSource {
public:
    virtual ~EventSource() = default;
    // `raw`: the kernel's bytes of the event (empty for a hand-written trace line).
    using EventSink = std::function<void(const Event& event, std::span<const std::byte> raw)>;
    // Hands the events that are ready to `sink`, in order; returns how many, or
    // -errno. Live: what the ring buffer holds now. Recorded: the next event
    // (0 at the end of the recording).
    virtual int drain(const EventSink& sink) = 0;
};

}  // namespace swamp
