// The config file: TOML whose keys stand for the controller's flags, both made from one table
// (config/setting_table.hpp; docs/config.md, "Config file"; every key, with its default, in
// config/swamp-bpf.conf).
// Flags given on the command line override the file.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "config/settings.hpp"

namespace swamp {

// Says whether a file named in the config (sensing.btf) exists; nullptr: no check.
using PathExists = std::function<bool(const std::string& path)>;

// Parses `text` (named `file_name` in errors) and applies its keys over `out`.
// Pure: reads no file. On any error `out` is left as it was and
// UserError(ExitCode::Config, "FILE:LINE:COL: what is wrong; what to do") is thrown.
void apply_config_text(std::string_view text, const std::string& file_name, ControllerOptions& out,
                       const PathExists& exists = nullptr);

// Reads `path` and applies it as above; also checks that sensing.btf exists.
void apply_config_file(const std::string& path, ControllerOptions& out);

// Every key of `o` as a TOML document that apply_config_text reads back to `o`.
std::string format_config(const ControllerOptions& o);

}  // namespace swamp
