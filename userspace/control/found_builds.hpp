// The builds that --user and service mode find on their own: when each was
// found, which jobs are its own, and its stops, holds and resumes, for one log
// line when it is found and one when it ends. Pure: fed with the tree and the
// controller's actions.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "policy/policy.hpp"
#include "source/event.hpp"
#include "tree/tree.hpp"

namespace swamp {

class FoundBuilds {
public:
    // `pid` just entered the tree (found running, or adopted at its exec): it starts a
    // build if it is a driver whose parent is not followed. Returns the line to log, or "".
    std::string on_entered(const Tree& tree, uint32_t pid, uint64_t now_ns);
    // Counts each started job for the build it runs under; forgets ended jobs.
    void on_delta(const Tree& tree, const TreeDelta& d);
    void on_action(const Action& a);
    // The line to log if `e` ended a build's root, or "".
    std::string on_exit(const ExitEvent& e);
    size_t count() const { return builds_.size(); }  // builds found and not ended

private:
    struct Tally {
        uint64_t found_ns = 0;
        uint64_t jobs = 0;
        ActionCounts actions;
    };
    std::map<uint32_t, Tally> builds_;        // by the root's pid
    std::map<uint64_t, uint32_t> build_of_job_;
};

}  // namespace swamp
