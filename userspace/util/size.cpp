#include "util/size.hpp"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <utility>

namespace swamp {

std::optional<uint64_t> parse_size(const std::string& text, std::string& error) {
    auto bad = [&](const std::string& why) -> std::optional<uint64_t> {
        error = "invalid size \"" + text + "\": " + why + " (use e.g. 512M, 1.5G or 4096)";
        return std::nullopt;
    };
    size_t i = 0;
    while (i < text.size() && (isdigit((unsigned char)text[i]) || text[i] == '.')) i++;
    if (i == 0) return bad(text.empty() || text[0] != '-' ? "no number" : "it is negative");
    std::string number = text.substr(0, i), unit = text.substr(i);
    if (number.find('.') != number.rfind('.') || number == ".") return bad("not a number");
    double value = strtod(number.c_str(), nullptr);

    std::string u;
    for (char c : unit) u += (char)toupper((unsigned char)c);
    double scale;
    if (u == "" || u == "B")
        scale = 1;
    else if (u == "K" || u == "KB" || u == "KIB")
        scale = 1024.0;
    else if (u == "M" || u == "MB" || u == "MIB")
        scale = 1024.0 * 1024;
    else if (u == "G" || u == "GB" || u == "GIB")
        scale = 1024.0 * 1024 * 1024;
    else if (u == "T" || u == "TB" || u == "TIB")
        scale = 1024.0 * 1024 * 1024 * 1024;
    else
        return bad("unknown unit \"" + unit + "\"");

    double bytes = std::floor(value * scale);
    if (bytes >= 18446744073709549568.0) return bad("too large");
    if (bytes < 1) return bad("it must be more than 0");
    return (uint64_t)bytes;
}

std::string human_bytes(uint64_t b) {
    char buf[32];
    if (b >= (1ull << 30))
        snprintf(buf, sizeof buf, "%.2fG", b / double(1ull << 30));
    else if (b >= (1ull << 20))
        snprintf(buf, sizeof buf, "%.1fM", b / double(1ull << 20));
    else if (b >= 1024)
        snprintf(buf, sizeof buf, "%.0fK", b / 1024.0);
    else
        snprintf(buf, sizeof buf, "%llu", (unsigned long long)b);
    return buf;
}

std::string exact_size(uint64_t bytes) {
    static const std::pair<int, const char*> units[] = {{40, "T"}, {30, "G"}, {20, "M"}, {10, "K"}};
    for (auto [shift, unit] : units)
        if (bytes && bytes % (1ull << shift) == 0) return std::to_string(bytes >> shift) + unit;
    return std::to_string(bytes);
}

}  // namespace swamp
