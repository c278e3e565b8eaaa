#include "config/settings.hpp"

#include "events.h"

namespace swamp {

const std::map<std::string, ActionKind>& action_names() {
    static const std::map<std::string, ActionKind> names{
        {"signal", ActionKind::Signal}, {"freeze", ActionKind::Freeze}, {"dry-run", ActionKind::DryRun}};
    return names;
}

const std::map<std::string, AttachKind>& attach_names() {
    static const std::map<std::string, AttachKind> names{
        {"tp_btf", AttachKind::TpBtf}, {"raw_tp", AttachKind::RawTp}, {"tracepoint", AttachKind::Tracepoint}};
    return names;
}

const std::map<std::string, PageOutMode>& page_out_names() {
    static const std::map<std::string, PageOutMode> names{
        {"auto", PageOutMode::Auto}, {"on", PageOutMode::On}, {"off", PageOutMode::Off}};
    return names;
}

namespace {

template <typename Map>
std::vector<std::string> keys_of(const Map& m) {
    std::vector<std::string> keys;
    for (const auto& [k, v] : m) keys.push_back(k);
    return keys;
}

}  // namespace

std::vector<std::string> action_choices() { return keys_of(action_names()); }

std::vector<std::string> page_out_choices() { return {"auto", "on", "off"}; }

std::vector<std::string> attach_choices() {
    auto names = keys_of(attach_names());
    names.insert(names.begin(), "auto");
    return names;
}

std::string driver_name_problem(std::string_view name) {
    if (name.empty()) return "a driver name is empty";
    if (name.size() >= SWAMP_COMM_LEN)
        return "driver \"" + std::string(name) + "\" is longer than " + std::to_string(SWAMP_COMM_LEN - 1) +
               " characters, so no process name (comm) can match it; give its first " +
               std::to_string(SWAMP_COMM_LEN - 1) + " characters";
    return "";
}

std::string joined(const std::vector<std::string>& names, const std::string& separator) {
    std::string out;
    for (size_t i = 0; i < names.size(); i++) out += (i ? separator : "") + names[i];
    return out;
}

}  // namespace swamp
