// Fuzz input as several strings: the bytes between NULs (at least one field).
#pragma once

#include <string>
#include <vector>

inline std::vector<std::string> nul_fields(const std::string& text, size_t max = 64) {
    std::vector<std::string> fields;
    for (size_t at = 0; at <= text.size() && fields.size() < max;) {
        size_t end = text.find('\0', at);
        if (end == std::string::npos) end = text.size();
        fields.push_back(text.substr(at, end - at));
        at = end + 1;
    }
    return fields;
}
