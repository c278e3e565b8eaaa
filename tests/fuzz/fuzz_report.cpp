// `swamp-bpf report`'s trace reader (report/timeline) and the SVG it draws:
// any JSON-lines text. A malformed line may only throw UserError; what reads
// is drawn as well-formed UTF-8.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>

#include "report/svg.hpp"
#include "report/timeline.hpp"
#include "util/error.hpp"
#include "util/printable.hpp"

using namespace swamp;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
    Timeline t;
    try {
        t = read_timeline(in, "fuzz.jsonl");
    } catch (const UserError&) {
        return 0;
    }
    if (t.jobs.size() > 2000) return 0;  // drawing is linear in jobs; the reader is what is fuzzed
    if (!is_valid_utf8(render_svg(t))) abort();
    return 0;
}
