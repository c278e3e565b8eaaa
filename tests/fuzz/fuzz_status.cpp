// The status formatters (control/status): `ctl status` text and JSON, the
// status file and the Prometheus metrics, fed job names, reasons and the
// "managing" text made of arbitrary bytes (fields separated by NUL). None
// throws; the JSON parses and is valid UTF-8; every text line is valid UTF-8
// without control characters, so a name can neither forge a line nor drive a
// terminal.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "control/status.hpp"
#include "nul_fields.hpp"
#include "util/printable.hpp"

using namespace swamp;

namespace {

void check_text(const std::string& text) {
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        if (!is_valid_utf8(line)) abort();
        for (unsigned char c : line)
            if (c < 0x20 || c == 0x7f) abort();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    std::vector<std::string> fields = nul_fields(text);
    StatusSnapshot s;
    s.pid = 42;
    s.managing = fields[0];
    s.actuator = "SIGSTOP/SIGCONT";
    s.mem.source = "cgroup";
    for (size_t i = 1; i < fields.size(); i += 2) {
        JobRow j;
        j.id = i;
        j.root_pid = uint32_t(100 + i);
        j.name = fields[i];
        j.state = JobState(i % 3);
        if (i + 1 < fields.size()) j.reason = fields[i + 1];
        j.target = fields[i];  // from argv and the environment: as hostile as the name
        j.package = j.reason;
        s.jobs.push_back(j);
    }
    std::string json = format_status_json(s);
    if (!is_valid_utf8(json) || json.find('\n') != json.size() - 1) abort();
    auto parsed = nlohmann::json::parse(json, nullptr, false);
    if (parsed.is_discarded() || parsed["jobs"].size() != s.jobs.size()) abort();
    check_text(format_status_text(s));
    std::string file = format_status_file(s);
    check_text(file);
    check_text(format_metrics(s));
    size_t job_lines = 0;  // one line per job, whatever its name holds
    for (size_t at = 0; (at = file.find("\njob.", at)) != std::string::npos; at++) job_lines++;
    if (job_lines != s.jobs.size()) abort();
    return 0;
}
