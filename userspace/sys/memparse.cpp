#include "sys/memparse.hpp"

#include <charconv>
#include <cstdlib>

namespace swamp {

namespace memparse {

namespace {

// Calls f(line) for every line of `text` (without the '\n').
template <typename F>
void for_lines(std::string_view text, F&& f) {
    while (!text.empty()) {
        size_t nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        f(line);
        if (nl == std::string_view::npos) break;
        text.remove_prefix(nl + 1);
    }
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\0'))
        s.remove_suffix(1);
    return s;
}

std::optional<uint64_t> to_u64(std::string_view s) {
    s = trim(s);
    uint64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p == s.data()) return std::nullopt;
    return v;
}

// Splits on runs of spaces/tabs.
std::vector<std::string_view> words(std::string_view s) {
    std::vector<std::string_view> out;
    size_t i = 0;
    while (i < s.size()) {
        while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) i++;
        size_t j = i;
        while (j < s.size() && s[j] != ' ' && s[j] != '\t') j++;
        if (j > i) out.push_back(s.substr(i, j - i));
        i = j;
    }
    return out;
}

std::string unescape_mount(std::string_view s) {
    std::string out;
    for (size_t i = 0; i < s.size(); i++) {
        if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '7' && s[i + 2] >= '0' &&
            s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
            out += char((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
            i += 3;
        } else {
            out += s[i];
        }
    }
    return out;
}

}  // namespace

MemInfo parse_meminfo(std::string_view text) {
    MemInfo m;
    for_lines(text, [&](std::string_view line) {
        size_t colon = line.find(':');
        if (colon == std::string_view::npos) return;
        std::string_view key = line.substr(0, colon);
        if (key != "MemTotal" && key != "MemAvailable") return;
        auto w = words(line.substr(colon + 1));
        if (w.empty()) return;
        auto v = to_u64(w[0]);
        if (!v) return;
        uint64_t bytes = *v;
        if (w.size() > 1 && (w[1] == "kB" || w[1] == "KB" || w[1] == "kiB")) bytes *= 1024;
        (key == "MemTotal" ? m.total : m.available) = bytes;
    });
    return m;
}

std::optional<uint64_t> key_value(std::string_view text, std::string_view key) {
    // runs at every decision over memory.stat: no allocation per line
    std::optional<uint64_t> out;
    auto blank = [](char c) { return c == ' ' || c == '\t'; };
    for_lines(text, [&](std::string_view line) {
        if (out) return;
        while (!line.empty() && blank(line.front())) line.remove_prefix(1);
        if (!line.starts_with(key) || line.size() == key.size() || !blank(line[key.size()])) return;
        line.remove_prefix(key.size());
        while (!line.empty() && blank(line.front())) line.remove_prefix(1);
        size_t end = 0;
        while (end < line.size() && !blank(line[end])) end++;
        if (end > 0) out = to_u64(line.substr(0, end));
    });
    return out;
}

std::optional<double> psi_avg10(std::string_view text, std::string_view kind) {
    std::optional<double> out;
    for_lines(text, [&](std::string_view line) {
        if (out) return;
        auto w = words(line);
        if (w.empty() || w[0] != kind) return;
        for (size_t i = 1; i < w.size(); i++) {
            if (w[i].substr(0, 6) != "avg10=") continue;
            std::string num(w[i].substr(6));
            char* end = nullptr;
            errno = 0;
            double d = std::strtod(num.c_str(), &end);
            if (end != num.c_str() && *end == '\0' && errno == 0) out = d;
            return;
        }
    });
    return out;
}

uint64_t oom_control_kills(std::string_view text) { return key_value(text, "oom_kill").value_or(0); }

std::vector<CgroupLine> parse_proc_cgroup(std::string_view text) {
    std::vector<CgroupLine> out;
    for_lines(text, [&](std::string_view line) {
        size_t c1 = line.find(':');
        if (c1 == std::string_view::npos) return;
        size_t c2 = line.find(':', c1 + 1);
        if (c2 == std::string_view::npos) return;
        auto id = to_u64(line.substr(0, c1));
        if (!id) return;
        CgroupLine l;
        l.id = int(*id);
        std::string_view ctrls = line.substr(c1 + 1, c2 - c1 - 1);
        while (!ctrls.empty()) {
            size_t comma = ctrls.find(',');
            std::string_view c = ctrls.substr(0, comma);
            if (!c.empty()) l.controllers.emplace_back(c);
            if (comma == std::string_view::npos) break;
            ctrls.remove_prefix(comma + 1);
        }
        l.path = std::string(line.substr(c2 + 1));  // paths may contain ':'
        while (!l.path.empty() && (l.path.back() == '\r' || l.path.back() == ' ')) l.path.pop_back();
        out.push_back(std::move(l));
    });
    return out;
}

std::optional<std::string> v1_cgroup_path(const std::vector<CgroupLine>& lines, std::string_view controller) {
    for (const auto& l : lines) {
        if (l.id == 0) continue;
        for (const auto& c : l.controllers)
            if (c == controller) return l.path;
    }
    return std::nullopt;
}

std::optional<std::string> v2_cgroup_path(const std::vector<CgroupLine>& lines) {
    for (const auto& l : lines)
        if (l.id == 0 && l.controllers.empty()) return l.path;
    return std::nullopt;
}

std::optional<std::string> find_mount(std::string_view mounts, std::string_view fstype, std::string_view option) {
    std::optional<std::string> out;
    for_lines(mounts, [&](std::string_view line) {
        if (out) return;
        auto w = words(line);  // device mountpoint fstype options dump pass
        if (w.size() < 4 || w[2] != fstype) return;
        if (!option.empty()) {
            bool found = false;
            std::string_view opts = w[3];
            while (!opts.empty() && !found) {
                size_t comma = opts.find(',');
                if (opts.substr(0, comma) == option) found = true;
                if (comma == std::string_view::npos) break;
                opts.remove_prefix(comma + 1);
            }
            if (!found) return;
        }
        out = unescape_mount(w[1]);
    });
    return out;
}

std::optional<uint64_t> parse_limit(std::string_view text, uint64_t mem_total) {
    text = trim(text);
    if (text.empty() || text == "max") return std::nullopt;
    auto v = to_u64(text);
    if (!v) return std::nullopt;
    if (*v >= (uint64_t(1) << 60)) return std::nullopt;
    if (mem_total != 0 && *v >= mem_total) return std::nullopt;
    return v;
}

std::optional<std::string> parent_cgroup(const std::string& path) {
    std::string p = path;
    while (p.size() > 1 && p.back() == '/') p.pop_back();
    if (p.empty() || p == "/") return std::nullopt;
    size_t slash = p.rfind('/');
    if (slash == std::string::npos) return std::nullopt;
    if (slash == 0) return std::string("/");
    return p.substr(0, slash);
}

}  // namespace memparse

}  // namespace swamp
