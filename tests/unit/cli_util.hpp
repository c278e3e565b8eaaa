// Running the command line in unit tests, with its output captured.
#pragma once

#include <sstream>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "cli/options.hpp"

namespace swamp::test {

struct Run {
    ParsedCli cli;  // run(): what parse_cli made of it
    int code = 0;   // run_main(): the exit code
    std::string out, err;
};

// `swamp-bpf ARGS…` through parse_cli (parse only), or through run_cli (parse and run).
inline Run run_args(std::vector<std::string> args, bool execute) {
    args.insert(args.begin(), "swamp-bpf");
    std::vector<const char*> argv;
    for (const auto& a : args) argv.push_back(a.c_str());
    argv.push_back(nullptr);
    std::ostringstream out, err;
    Run r;
    if (execute)
        r.code = run_cli(int(args.size()), argv.data(), out, err);
    else
        r.cli = parse_cli(int(args.size()), argv.data(), out, err);
    r.out = out.str();
    r.err = err.str();
    return r;
}
inline Run run(std::vector<std::string> args) { return run_args(std::move(args), false); }
inline Run run_main(std::vector<std::string> args) { return run_args(std::move(args), true); }

inline bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace swamp::test
