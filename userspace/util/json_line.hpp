// Every JSON writer's one way to print an object, and a lenient field reader.
#pragma once

#include <exception>
#include <nlohmann/json.hpp>
#include <string>

namespace swamp {

// `j` on one line (or indented by `indent`): every JSON writer goes through
// this. Strings from processes may hold any bytes (a comm or an argv cut inside
// a character): bytes that are not UTF-8 become U+FFFD instead of making
// dump() throw. "raw" keeps a trace event's exact bytes.
template <typename Json>
std::string json_line(const Json& j, int indent = -1) {
    return j.dump(indent, ' ', false, Json::error_handler_t::replace);
}

// `j[key]` as a T, or `fallback` where it is missing, null or of another type.
template <typename T>
T get_or(const nlohmann::json& j, const char* key, T fallback) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return fallback;
    try {
        return it->get<T>();
    } catch (const std::exception&) {
        return fallback;
    }
}

}  // namespace swamp
