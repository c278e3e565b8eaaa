#include "sys/tracefs.hpp"

#include <sys/mount.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "sys/cgroupfs.hpp"

namespace swamp {

namespace {

constexpr long kTracefsMagic = 0x74726163;  // TRACEFS_MAGIC
constexpr const char* kTracing = "/sys/kernel/tracing";
constexpr const char* kDebugTracing = "/sys/kernel/debug/tracing";

bool is_tracefs(const char* dir) {
    struct statfs st {};
    return statfs(dir, &st) == 0 && long(st.f_type) == kTracefsMagic;
}

// The number after "key:" in `line`, up to its ';'.
std::optional<uint32_t> number_after(std::string_view line, std::string_view key) {
    auto at = line.find(key);
    if (at == std::string_view::npos) return std::nullopt;
    std::string digits(line.substr(at + key.size(), line.find(';', at) - at - key.size()));
    char* end = nullptr;
    unsigned long v = std::strtoul(digits.c_str(), &end, 10);
    if (end == digits.c_str() || v > UINT32_MAX) return std::nullopt;
    return uint32_t(v);
}

}  // namespace

// "\tfield:__data_loc char[] filename;\toffset:8;\tsize:4;\tsigned:0;"
std::optional<std::map<std::string, TpField>> parse_tp_format(std::string_view text) {
    std::map<std::string, TpField> fields;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t eol = text.find('\n', pos);
        std::string_view line = text.substr(pos, eol == std::string_view::npos ? std::string_view::npos : eol - pos);
        pos = eol == std::string_view::npos ? text.size() : eol + 1;
        auto f = line.find("field:");
        auto semi = line.find(';');
        if (f == std::string_view::npos || semi == std::string_view::npos || semi < f) continue;
        std::string_view decl = line.substr(f + 6, semi - f - 6);  // "__data_loc char[] filename", "char comm[16]"
        auto name_end = decl.find('[', decl.rfind(' ') == std::string_view::npos ? 0 : decl.rfind(' '));
        std::string_view head = decl.substr(0, name_end);
        auto sp = head.rfind(' ');
        if (sp == std::string_view::npos) continue;
        std::string name(head.substr(sp + 1));
        auto offset = number_after(line, "offset:");
        auto size = number_after(line, "size:");
        if (name.empty() || !offset || !size) continue;
        fields[name] = TpField{*offset, *size, decl.find("__data_loc") != std::string_view::npos};
    }
    if (fields.empty()) return std::nullopt;
    return fields;
}

Tracefs find_tracefs(bool mount) {
    Tracefs t;
    if (is_tracefs(kTracing)) {
        t.dir = kTracing;
    } else if (access((std::string(kDebugTracing) + "/events").c_str(), R_OK) == 0) {
        t.dir = kDebugTracing;
    } else if (!mount) {
        t.error = "tracefs is not mounted on /sys/kernel/tracing";
    } else if (::mount("tracefs", kTracing, "tracefs", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) == 0) {
        t.dir = kTracing;
        t.mounted = true;
    } else {
        t.error = std::string("cannot mount tracefs on /sys/kernel/tracing: ") + strerror(errno);
    }
    return t;
}

std::optional<std::string> read_tp_format(const std::string& dir, const std::string& system, const std::string& name) {
    return read_file(dir + "/events/" + system + "/" + name + "/format");
}

}  // namespace swamp
