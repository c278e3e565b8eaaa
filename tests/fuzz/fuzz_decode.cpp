// Ring buffer records: arbitrary bytes through decode(), as BpfSource feeds it,
// then through the live trace's printing (text, JSON and the recording).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <sstream>

#include "source/decode.hpp"
#include "trace/printer.hpp"

using namespace swamp;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
    Decoded d = decode(bytes);
    if (!d.event) {
        if (d.error.empty()) abort();  // a rejection must say why
        return 0;
    }
    // What decode() accepts encodes back to bytes it accepts. One round trip
    // may cut a name that filled its array without a NUL; after it, none is lost.
    Decoded again = decode(encode(*d.event));
    if (!again.event) abort();
    Decoded third = decode(encode(*again.event));
    if (!third.event || *third.event != *again.event) abort();

    // What TracePrinter::on_raw() does with it in `swamp-bpf trace`.
    std::ostringstream out, record;
    TracePrinter text(PrinterOptions{false, true}, out, &record, 0);
    text.on_event(*d.event, bytes);
    TracePrinter json(PrinterOptions{true, true}, out, nullptr, event_ts(*d.event) / 2);
    json.on_event(*d.event, bytes);
    return 0;
}
