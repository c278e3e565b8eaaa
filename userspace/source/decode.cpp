#include "source/decode.hpp"

#include <algorithm>
#include <cstring>
#include <type_traits>

#include "events.h"

namespace swamp {

const char* event_name(const Event& e) {
    static constexpr const char* names[] = {"exec", "fork", "exit", "rss", "faults"};
    return names[e.index()];
}

namespace {

// A fixed-size char array from the kernel, up to its first NUL.
template <size_t N>
std::string c_string(const char (&a)[N]) {
    return std::string(a, strnlen(a, N));
}

template <size_t N>
void put_c_string(char (&a)[N], const std::string& s) {
    std::memset(a, 0, N);
    std::memcpy(a, s.data(), std::min(s.size(), N - 1));
}

std::vector<std::string> split_argv(const char* p, size_t len) {
    std::vector<std::string> out;
    size_t i = 0;
    while (i < len) {
        size_t n = strnlen(p + i, len - i);
        out.emplace_back(p + i, n);
        i += n + 1;
    }
    return out;
}

template <typename Raw>
bool read_raw(std::span<const std::byte> bytes, Raw& raw, std::string& error) {
    static_assert(std::is_trivially_copyable_v<Raw>);
    if (bytes.size() < sizeof(Raw)) {
        error = "event too short: " + std::to_string(bytes.size()) + " bytes, need " +
                std::to_string(sizeof(Raw));
        return false;
    }
    std::memcpy(&raw, bytes.data(), sizeof(Raw));
    if (raw.hdr.size != sizeof(Raw)) {
        error = "event size field " + std::to_string(raw.hdr.size) + " does not match its type (" +
                std::to_string(sizeof(Raw)) + ")";
        return false;
    }
    return true;
}

}  // namespace

Decoded decode(std::span<const std::byte> bytes) {
    Decoded out;
    swamp_event_hdr hdr{};
    if (bytes.size() < sizeof(hdr)) {
        out.error = "event shorter than its header: " + std::to_string(bytes.size()) + " bytes";
        return out;
    }
    std::memcpy(&hdr, bytes.data(), sizeof(hdr));
    switch (hdr.type) {
    case SWAMP_EV_EXEC: {
        // A command line longer than argv[] may go on after the struct
        // (userspace fills it in from /proc): hdr.size covers it.
        swamp_ev_exec r;
        size_t tail = bytes.size() > sizeof r ? bytes.size() - sizeof r : 0;
        if (tail) {  // the size field must cover the tail, and nothing else
            std::memcpy(&r, bytes.data(), sizeof r);
            if (r.hdr.size != bytes.size()) {
                out.error = "exec event size field " + std::to_string(r.hdr.size) + " does not match its " +
                            std::to_string(bytes.size()) + " bytes";
                return out;
            }
        } else if (!read_raw(bytes, r, out.error)) {
            return out;
        }
        ExecEvent e{r.hdr.ts_ns, r.pid, r.ppid, c_string(r.comm), c_string(r.filename), {},
                    (r.flags & SWAMP_EXEC_ARGV_TRUNCATED) != 0, (r.flags & SWAMP_EXEC_UNTRACKED) != 0};
        std::string argv(r.argv, std::min<size_t>(r.argv_len, sizeof(r.argv)));
        if (tail && r.argv_len > sizeof(r.argv))
            argv.append(reinterpret_cast<const char*>(bytes.data() + sizeof r),
                        std::min<size_t>(tail, r.argv_len - sizeof(r.argv)));
        e.argv = split_argv(argv.data(), argv.size());
        out.event = std::move(e);
        return out;
    }
    case SWAMP_EV_FORK: {
        swamp_ev_fork r;
        if (!read_raw(bytes, r, out.error)) return out;
        out.event = ForkEvent{r.hdr.ts_ns, r.pid, r.tid, r.ppid, c_string(r.comm), (r.flags & SWAMP_FORK_THREAD) != 0,
                              (r.flags & SWAMP_FORK_UNTRACKED) != 0};
        return out;
    }
    case SWAMP_EV_EXIT: {
        swamp_ev_exit r;
        if (!read_raw(bytes, r, out.error)) return out;
        out.event = ExitEvent{r.hdr.ts_ns, r.pid,     r.ppid,    c_string(r.comm), r.exit_code,
                              r.peak_rss, r.min_flt, r.maj_flt, (r.flags & SWAMP_EXIT_STATUS_UNKNOWN) == 0};
        return out;
    }
    case SWAMP_EV_RSS: {
        swamp_ev_rss r;
        if (!read_raw(bytes, r, out.error)) return out;
        out.event = RssEvent{r.hdr.ts_ns, r.pid, r.rss, r.anon, r.file, r.shmem, r.swap, r.peak_rss};
        return out;
    }
    case SWAMP_EV_FAULTS: {
        swamp_ev_faults r;
        if (!read_raw(bytes, r, out.error)) return out;
        out.event = FaultEvent{r.hdr.ts_ns, r.pid, r.interval_ns, r.min_flt, r.maj_flt};
        return out;
    }
    default:
        out.error = "unknown event type " + std::to_string(hdr.type);
        return out;
    }
}

namespace {

template <typename Raw>
std::vector<std::byte> raw_bytes(Raw& r, uint32_t type, uint64_t ts) {
    r.hdr.type = type;
    r.hdr.size = sizeof(Raw);
    r.hdr.ts_ns = ts;
    std::vector<std::byte> v(sizeof(Raw));
    std::memcpy(v.data(), &r, sizeof(Raw));
    return v;
}

struct Encoder {
    std::vector<std::byte> operator()(const ExecEvent& e) const {
        swamp_ev_exec r{};
        r.pid = e.pid;
        r.ppid = e.ppid;
        put_c_string(r.comm, e.comm);
        put_c_string(r.filename, e.filename);
        size_t n = 0;
        for (const auto& a : e.argv) {
            size_t take = std::min(a.size() + 1, sizeof(r.argv) - n);
            std::memcpy(r.argv + n, a.c_str(), take);
            n += take;
            if (n == sizeof(r.argv)) break;
        }
        r.argv_len = n;
        r.flags = (e.argv_truncated ? SWAMP_EXEC_ARGV_TRUNCATED : 0) | (e.untracked ? SWAMP_EXEC_UNTRACKED : 0);
        std::string whole;  // all of it, NUL-separated: what does not fit argv[] goes after the struct
        for (const auto& a : e.argv) whole.append(a).push_back('\0');
        if (whole.size() <= sizeof(r.argv)) return raw_bytes(r, SWAMP_EV_EXEC, e.ts_ns);
        std::memcpy(r.argv, whole.data(), sizeof(r.argv));
        r.argv_len = uint32_t(whole.size());
        std::vector<std::byte> v = raw_bytes(r, SWAMP_EV_EXEC, e.ts_ns);
        v.insert(v.end(), reinterpret_cast<const std::byte*>(whole.data()) + sizeof(r.argv),
                 reinterpret_cast<const std::byte*>(whole.data()) + whole.size());
        swamp_event_hdr h;
        std::memcpy(&h, v.data(), sizeof h);
        h.size = uint32_t(v.size());
        std::memcpy(v.data(), &h, sizeof h);
        return v;
    }
    std::vector<std::byte> operator()(const ForkEvent& e) const {
        swamp_ev_fork r{};
        r.pid = e.pid;
        r.tid = e.tid;
        r.ppid = e.ppid;
        r.flags = (e.thread ? SWAMP_FORK_THREAD : 0) | (e.untracked ? SWAMP_FORK_UNTRACKED : 0);
        put_c_string(r.comm, e.comm);
        return raw_bytes(r, SWAMP_EV_FORK, e.ts_ns);
    }
    std::vector<std::byte> operator()(const ExitEvent& e) const {
        swamp_ev_exit r{};
        r.pid = e.pid;
        r.ppid = e.ppid;
        r.exit_code = e.wait_status;
        r.peak_rss = e.peak_rss;
        r.min_flt = e.min_flt;
        r.maj_flt = e.maj_flt;
        r.flags = e.status_known ? 0 : SWAMP_EXIT_STATUS_UNKNOWN;
        put_c_string(r.comm, e.comm);
        return raw_bytes(r, SWAMP_EV_EXIT, e.ts_ns);
    }
    std::vector<std::byte> operator()(const RssEvent& e) const {
        swamp_ev_rss r{};
        r.pid = e.pid;
        r.rss = e.rss;
        r.anon = e.anon;
        r.file = e.file;
        r.shmem = e.shmem;
        r.swap = e.swap;
        r.peak_rss = e.peak_rss;
        return raw_bytes(r, SWAMP_EV_RSS, e.ts_ns);
    }
    std::vector<std::byte> operator()(const FaultEvent& e) const {
        swamp_ev_faults r{};
        r.pid = e.pid;
        r.interval_ns = e.interval_ns;
        r.min_flt = e.min_flt;
        r.maj_flt = e.maj_flt;
        return raw_bytes(r, SWAMP_EV_FAULTS, e.ts_ns);
    }
};

}  // namespace

std::vector<std::byte> encode(const Event& e) { return std::visit(Encoder{}, e); }

}  // namespace swamp
