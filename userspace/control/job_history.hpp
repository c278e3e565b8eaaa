// Between the build model and the history store: a job's command is signed at
// its exec (the whole command line, which BpfSource read from /proc), the job
// gets the prediction its past runs give, and its run is recorded when it ends.
// It reads no /proc itself: the sizes of a link's inputs come from `InputsSize`.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "history/history.hpp"
#include "source/event.hpp"
#include "sys/proc.hpp"
#include "tree/tree.hpp"

namespace swamp {

class JobHistory {
public:
    // The total size of the files a process names (relative ones under its working
    // directory): sys/proc.hpp files_size_from_cwd, or a fake in tests.
    using InputsSize = std::function<FilesSize(pid_t pid, const std::vector<std::string>& paths)>;

    JobHistory(std::unique_ptr<History> store, InputsSize inputs_size)
        : store_(std::move(store)), inputs_size_(std::move(inputs_size)) {}

    bool on() const { return store_ && store_->usable(); }
    // After the tree applied `x`: if it named its job (the job's root exec'd,
    // or a wrapper shell's first program did), sign the job and predict it.
    void on_exec(Tree& tree, const ExecEvent& x);
    // Jobs that ended, as they were; `killed`: by a signal, so a peak that is
    // only a lower bound.
    void on_ended(const std::vector<Job>& ended, uint64_t now_ns, bool killed);
    // Jobs that turned into drivers (a recursive make): nothing to record.
    void forget(const std::vector<uint64_t>& dissolved);
    // ", predicted P of J jobs (M outgrew it)", or "" when history is off;
    // and the store's warning if a write failed on the way.
    std::string summary(uint64_t jobs) const;

private:
    struct Signed {
        std::string key, tool, command;
        uint32_t inputs = 0;
        uint64_t input_bytes = 0;
    };
    std::unique_ptr<History> store_;
    InputsSize inputs_size_;
    std::map<uint64_t, Signed> signed_;  // live jobs with a signature, by job id
    uint64_t predicted_ = 0, outgrew_ = 0;
};

}  // namespace swamp
