#include "run_util.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <sstream>

namespace swamp::test {

Child spawn(const std::vector<std::string>& argv) {
    int p[2];
    if (pipe(p)) return {};
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], 1);
        close(p[0]);
        close(p[1]);
        std::vector<char*> args;
        for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        execv(args[0], args.data());
        _exit(127);
    }
    close(p[1]);
    return {pid, p[0]};
}

int finish(Child& c, std::string& out) {
    char buf[65536];
    ssize_t n;
    while ((n = read(c.out_fd, buf, sizeof buf)) > 0) out.append(buf, n);
    close(c.out_fd);
    int status = -1;
    waitpid(c.pid, &status, 0);
    return status;
}

int run(const std::vector<std::string>& argv, std::string& out) {
    Child c = spawn(argv);
    return finish(c, out);
}

std::vector<nlohmann::json> json_lines(const std::string& text) {
    std::vector<nlohmann::json> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        if (!line.empty()) out.push_back(nlohmann::json::parse(line));
    return out;
}

bool is_root() { return geteuid() == 0; }

}  // namespace swamp::test
