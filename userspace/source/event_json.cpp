#include "source/event_json.hpp"

#include <cmath>
#include <limits>
#include <type_traits>

namespace swamp {

using nlohmann::json;

namespace {

double round_to(double v, double unit) { return std::round(v / unit) * unit; }

struct ToJson {
    json& j;
    void operator()(const ExecEvent& e) const {
        j["ppid"] = e.ppid;
        j["filename"] = e.filename;
        j["argv"] = e.argv;
        j["argv_truncated"] = e.argv_truncated;
        if (e.untracked) j["untracked"] = true;  // only then: the task map was full
    }
    void operator()(const ForkEvent& e) const {
        j["ppid"] = e.ppid;
        j["tid"] = e.tid;
        j["thread"] = e.thread;
        if (e.untracked) j["untracked"] = true;
    }
    void operator()(const ExitEvent& e) const {
        j["ppid"] = e.ppid;
        j["exit_code"] = e.exit_code();
        j["signal"] = e.signal();
        j["wait_status"] = e.wait_status;
        j["peak_rss"] = e.peak_rss;
        j["min_flt"] = e.min_flt;
        j["maj_flt"] = e.maj_flt;
        if (!e.status_known) j["status_known"] = false;  // only then: the no-BTF variant
    }
    void operator()(const RssEvent& e) const {
        j["rss"] = e.rss;
        j["anon"] = e.anon;
        j["file"] = e.file;
        j["shmem"] = e.shmem;
        j["swap"] = e.swap;
        j["peak_rss"] = e.peak_rss;
    }
    void operator()(const FaultEvent& e) const {
        j["interval_ns"] = e.interval_ns;
        j["min_flt"] = e.min_flt;
        j["maj_flt"] = e.maj_flt;
        j["min_flt_per_s"] = round_to(e.min_per_s(), 0.1);
        j["maj_flt_per_s"] = round_to(e.maj_per_s(), 0.1);
    }
};

// A count, id or time: a whole number that fits T. get<T>() would wrap a
// negative or too large integer, and casting a float beyond T is undefined.
template <typename T>
T whole_number(const json& v, const char* name) {
    if (v.is_number_integer() && (v.is_number_unsigned() || v.get<int64_t>() >= 0) &&
        v.get<uint64_t>() <= std::numeric_limits<T>::max())
        return T(v.get<uint64_t>());
    throw std::runtime_error(std::string("field \"") + name + "\" is not a whole number from 0 to " +
                             std::to_string(std::numeric_limits<T>::max()));
}

template <typename T>
T field(const json& j, const char* name) {
    auto it = j.find(name);
    if (it == j.end()) throw std::runtime_error(std::string("missing field \"") + name + "\"");
    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>)
        return whole_number<T>(*it, name);
    else
        return it->get<T>();
}

// An optional field: `fallback` when it is absent.
template <typename T>
T field_or(const json& j, const char* name, T fallback) {
    return j.contains(name) ? field<T>(j, name) : fallback;
}

}  // namespace

json event_to_json(const Event& e, uint64_t start_ns, const std::string& comm) {
    uint64_t ts = event_ts(e);
    json j;
    j["v"] = kJsonSchemaVersion;
    j["t"] = round_to(ts >= start_ns ? (ts - start_ns) / 1e9 : -((start_ns - ts) / 1e9), 1e-6);
    j["ts_ns"] = ts;
    j["event"] = event_name(e);
    j["pid"] = event_pid(e);
    j["comm"] = comm;
    std::visit(ToJson{j}, e);
    return j;
}

std::optional<Event> event_from_json(const json& j, std::string& error) {
    try {
        if (!j.is_object()) throw std::runtime_error("not a JSON object");
        auto kind = field<std::string>(j, "event");
        auto ts = field<uint64_t>(j, "ts_ns");
        auto pid = field<uint32_t>(j, "pid");
        auto c = j.find("comm");
        std::string comm = c != j.end() && c->is_string() ? c->get<std::string>() : "";
        if (kind == "exec")
            return ExecEvent{ts, pid, field<uint32_t>(j, "ppid"), comm, field<std::string>(j, "filename"),
                             field<std::vector<std::string>>(j, "argv"), field_or(j, "argv_truncated", false),
                             field_or(j, "untracked", false)};
        if (kind == "fork")
            return ForkEvent{ts, pid, field_or(j, "tid", pid), field<uint32_t>(j, "ppid"), comm,
                             field_or(j, "thread", false), field_or(j, "untracked", false)};
        if (kind == "exit")
            return ExitEvent{ts, pid, field<uint32_t>(j, "ppid"), comm, field<uint32_t>(j, "wait_status"),
                             field<uint64_t>(j, "peak_rss"), field_or<uint64_t>(j, "min_flt", 0),
                             field_or<uint64_t>(j, "maj_flt", 0), field_or(j, "status_known", true)};
        if (kind == "rss")
            return RssEvent{ts, pid, field<uint64_t>(j, "rss"), field_or<uint64_t>(j, "anon", 0),
                            field_or<uint64_t>(j, "file", 0), field_or<uint64_t>(j, "shmem", 0),
                            field_or<uint64_t>(j, "swap", 0), field_or<uint64_t>(j, "peak_rss", 0)};
        if (kind == "faults")
            return FaultEvent{ts, pid, field<uint64_t>(j, "interval_ns"), field<uint64_t>(j, "min_flt"),
                              field<uint64_t>(j, "maj_flt")};
        error = "not a kernel event: \"" + kind + "\"";
    } catch (const std::exception& ex) {
        error = ex.what();
    }
    return std::nullopt;
}

std::string hex_encode(std::span<const std::byte> bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (std::byte b : bytes) {
        out += digits[std::to_integer<unsigned>(b) >> 4];
        out += digits[std::to_integer<unsigned>(b) & 15];
    }
    return out;
}

std::optional<std::vector<std::byte>> hex_decode(const std::string& hex) {
    auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    if (hex.size() % 2) return std::nullopt;
    std::vector<std::byte> out(hex.size() / 2);
    for (size_t i = 0; i < out.size(); i++) {
        int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) return std::nullopt;
        out[i] = std::byte(hi << 4 | lo);
    }
    return out;
}

}  // namespace swamp
