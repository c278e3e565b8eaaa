// The controller's settings, each described once: its flag, its config key, its bounds and its
// help. The command line (cli/options), the config file and `check-config --show` (config/config)
// are made from this table; every default is ControllerOptions{}'s own.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/settings.hpp"

namespace swamp {

// A setting's value as the flag and the key give it and as --show writes it. A size is a
// uint64_t; a word such as "auto" (Setting::word) is a std::string.
using SettingValue = std::variant<std::string, int64_t, uint64_t, double, bool, std::vector<std::string>>;

enum class SettingKind {
    Size,     // "512M" or a byte count
    Integer,  // a whole number within bounds
    Number,   // a decimal number within bounds
    Choice,   // one of `choices`
    List,     // flag: comma-separated; key: a list of strings
    Path,     // key: absolute or ""; flag: made absolute
    Text,     // any string
    Flag,     // flag: given or not; key: true or false
};

// Which command line takes the flag.
enum class FlagOf {
    Controller,  // the top level and `service`
    Service,     // `service` only
    Sensing,     // the controller and `trace`
};

struct Setting {
    std::string flag{};         // "-q,--quiet" as CLI11 takes it; "": not on the command line
    std::string table{}, key{};  // "": not in the config file
    std::string other_flags{}; // for a key without a flag of its own: the flags that set it
    FlagOf flag_of = FlagOf::Controller;
    SettingKind kind = SettingKind::Text;
    std::string value_name{}; // in --help: SIZE, N, S …
    std::string help{};        // what it does; --help adds the default
    std::string default_note{}; // the default when ControllerOptions{} does not hold it (decided at run time)
    Bounds<double> bounds{0, 0};  // Integer, Number
    bool zero_too = false;        // Integer: 0 (none) besides the bounds
    std::string unit{};             // in a range error: " seconds"
    std::vector<std::string> choices{}; // Choice
    std::string word{};  // Size, Number: a word taken instead of a value ("auto")
    bool must_exist = false;  // Path: an existing file
    std::string (*item_problem)(std::string_view item) = nullptr;  // List: why an item is bad, "" if fine
    std::function<void(ControllerOptions&, const SettingValue&)> set{};
    std::function<SettingValue(const ControllerOptions&)> get{};

    bool has_flag() const { return !flag.empty(); }
    bool has_key() const { return !key.empty(); }
    // The long flag: "--quiet" of "-q,--quiet".
    std::string long_flag() const;
};

// In the config file's order: [memory], [policy], [tree], [service], [sensing], [history],
// [control], [output]; --help lists the flags in it too.
const std::vector<Setting>& settings();

// A value as --help and the error messages write it: "128M", "4", "make,ninja".
std::string value_text(const SettingValue& v);

// "… (default 128M)": the help and the default, from `ControllerOptions{}` or the note.
std::string help_with_default(const Setting& s);

// Why `v` is out of the setting's bounds ("give 0.1 to 60 seconds"), or "" if it is within.
std::string out_of_bounds(const Setting& s, double v);

}  // namespace swamp
