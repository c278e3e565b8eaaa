// Helpers for integration tests: run a command, capture its output.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace swamp::test {

struct Child {
    pid_t pid = -1;
    int out_fd = -1;  // the child's stdout
};

// Starts argv with stdout on a pipe (stderr inherited).
Child spawn(const std::vector<std::string>& argv);
// Reads the child's stdout to EOF and waits; returns the wait status.
int finish(Child& c, std::string& out);
// spawn + finish.
int run(const std::vector<std::string>& argv, std::string& out);

std::vector<nlohmann::json> json_lines(const std::string& text);
bool is_root();

}  // namespace swamp::test
