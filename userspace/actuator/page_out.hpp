// Proactive page-out of stopped jobs.
//
// When a job has stayed stopped for `delay` (so a stop undone at once costs
// nothing), a worker thread pushes its memory out to swap: the job cgroup's
// memory.reclaim in freeze mode when the cgroup offers one (a cgroup v2
// memory controller), else process_madvise(MADV_PAGEOUT) over the private
// writable mappings of each of its processes, through pidfds. The running
// jobs then find free memory when they grow, instead of making the kernel
// reclaim (and thrash) at the moment they need it.
//
// The event loop never waits for it: page-out at SD-card speed takes seconds
// per 100 MiB, so the worker goes a chunk at a time and checks, under a lock,
// before each chunk that the job is still stopped. A resume or the job's end
// cancels it; at most the chunk in flight completes after a resume.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "actuator/actuator.hpp"

namespace swamp {

inline constexpr uint64_t kPageOutChunk = 32ull << 20;  // bytes of address space (or to reclaim) per step

class PageOuter {
public:
    // `enabled_now` is asked before each page-out (auto: is there swap?).
    PageOuter(double delay_s, uint64_t chunk, bool (*enabled_now)());
    ~PageOuter();  // cancels everything, waits for the chunk in flight
    PageOuter(const PageOuter&) = delete;
    PageOuter& operator=(const PageOuter&) = delete;

    // The job was stopped: page it out after the delay, unless resumed first.
    void stopped(uint64_t job, PageOutTarget target);
    // The job runs again, or ended: no (more) page-out.
    void running(uint64_t job);
    void all_running();

    std::vector<PageOutReport> take_reports();
    Actuator::PageOutTotals totals() const;
    // Waits until no page-out is due or in flight (tests).
    void wait_idle();

private:
    struct Pending {
        uint64_t due_ns = 0;
        PageOutTarget target;
    };
    void worker();
    PageOutReport page_out(uint64_t job, const PageOutTarget& target);
    bool still_stopped(uint64_t job);

    const uint64_t delay_ns_, chunk_;
    bool (*enabled_now_)();
    mutable std::mutex mu_;
    std::condition_variable cv_, idle_cv_;
    std::map<uint64_t, Pending> pending_;  // stopped jobs waiting for their delay
    std::set<uint64_t> stopped_;           // jobs stopped now (the worker checks it before each chunk)
    uint64_t active_ = 0;                  // job being paged out, 0 if none
    bool quit_ = false;
    std::vector<PageOutReport> reports_;
    Actuator::PageOutTotals totals_;
    std::thread thread_;  // last: starts once the rest is built
};

// Wraps an actuator: after each successful stop, hands the job to a PageOuter;
// resumes and ends cancel it.
class PagingActuator final : public ForwardingActuator {
public:
    PagingActuator(std::unique_ptr<Actuator> inner, const PageOutConfig& config);
    ~PagingActuator() override;

    void on_job_end(uint64_t job) override;
    bool stop(uint64_t job, const std::vector<pid_t>& pids, std::string& error) override;
    bool resume(uint64_t job, const std::vector<pid_t>& pids, std::string& error) override;
    void resume_all() override;
    std::vector<PageOutReport> take_page_out_reports() override { return pager_.take_reports(); }
    PageOutTotals page_out_totals() const override { return pager_.totals(); }

private:
    PageOuter pager_;
};

// Closes the pidfds of a target that will not be used.
void close_page_out_target(PageOutTarget& t);

}  // namespace swamp
