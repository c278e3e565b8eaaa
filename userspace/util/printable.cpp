#include "util/printable.hpp"

namespace swamp {

size_t utf8_char_at(std::string_view s, size_t i) {
    auto byte = [&](size_t k) { return k < s.size() ? static_cast<unsigned char>(s[k]) : 0u; };
    unsigned b = byte(i);
    if (b < 0x80) return i < s.size() ? 1 : 0;
    size_t n;
    unsigned lo = 0x80, hi = 0xbf;  // the second byte's range (RFC 3629, table 3-7 of Unicode)
    if (b >= 0xc2 && b <= 0xdf) n = 2;
    else if (b == 0xe0) n = 3, lo = 0xa0;
    else if (b == 0xed) n = 3, hi = 0x9f;  // no surrogates
    else if (b >= 0xe1 && b <= 0xef) n = 3;
    else if (b == 0xf0) n = 4, lo = 0x90;
    else if (b == 0xf4) n = 4, hi = 0x8f;  // nothing beyond U+10FFFF
    else if (b >= 0xf1 && b <= 0xf3) n = 4;
    else return 0;
    if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
    for (size_t k = 2; k < n; k++)
        if (byte(i + k) < 0x80 || byte(i + k) > 0xbf) return 0;
    return n;
}

bool is_valid_utf8(std::string_view s) {
    for (size_t i = 0; i < s.size();) {
        size_t n = utf8_char_at(s, i);
        if (!n) return false;
        i += n;
    }
    return true;
}

std::string printable(std::string_view s) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(s.size());
    auto hex = [&](unsigned char b) { out += {'\\', 'x', digits[b >> 4], digits[b & 15]}; };
    for (size_t i = 0; i < s.size();) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        size_t n = utf8_char_at(s, i);
        if (c == '\n') out += "\\n";
        else if (c == '\r') out += "\\r";
        else if (c == '\t') out += "\\t";
        else if (c == '\\') out += "\\\\";
        else if (c < 0x20 || c == 0x7f) hex(c);
        else if (n == 2 && c == 0xc2 && static_cast<unsigned char>(s[i + 1]) < 0xa0) hex(c), hex(s[i + 1]);  // C1
        else if (n) out.append(s.substr(i, n));
        else hex(c);
        i += n ? n : 1;
    }
    return out;
}

std::string utf8_prefix(std::string_view s, size_t max) {
    if (s.size() <= max) return std::string(s);
    size_t end = max;
    while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xc0) == 0x80) end--;
    return std::string(s.substr(0, end));
}

std::string valid_utf8(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size();) {
        size_t n = utf8_char_at(s, i);
        if (n) out.append(s.substr(i, n));
        else out += "\xef\xbf\xbd";
        i += n ? n : 1;
    }
    return out;
}

}  // namespace swamp
