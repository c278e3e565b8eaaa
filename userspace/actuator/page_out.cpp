#include "actuator/page_out.hpp"

#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>

#include "sys/clock.hpp"
#include "sys/pageout.hpp"

namespace swamp {

void close_page_out_target(PageOutTarget& t) {
    for (auto& [pid, fd] : t.pidfds) ::close(fd);
    t.pidfds.clear();
}

PageOuter::PageOuter(double delay_s, uint64_t chunk, bool (*enabled_now)())
    : delay_ns_(uint64_t(delay_s * 1e9)), chunk_(chunk), enabled_now_(enabled_now), thread_([this] { worker(); }) {}

PageOuter::~PageOuter() {
    {
        std::lock_guard lk(mu_);
        quit_ = true;
        stopped_.clear();
        for (auto& [job, p] : pending_) close_page_out_target(p.target);
        pending_.clear();
    }
    cv_.notify_all();
    thread_.join();
}

void PageOuter::stopped(uint64_t job, PageOutTarget target) {
    std::lock_guard lk(mu_);
    stopped_.insert(job);
    if (target.pidfds.empty() && target.cgroup.empty()) return;
    if (auto it = pending_.find(job); it != pending_.end()) close_page_out_target(it->second.target);
    pending_[job] = {monotonic_ns() + delay_ns_, std::move(target)};
    cv_.notify_all();
}

void PageOuter::running(uint64_t job) {
    std::lock_guard lk(mu_);
    stopped_.erase(job);
    if (auto it = pending_.find(job); it != pending_.end()) {
        close_page_out_target(it->second.target);
        pending_.erase(it);
    }
}

void PageOuter::all_running() {
    std::lock_guard lk(mu_);
    stopped_.clear();
    for (auto& [job, p] : pending_) close_page_out_target(p.target);
    pending_.clear();
}

std::vector<PageOutReport> PageOuter::take_reports() {
    std::lock_guard lk(mu_);
    return std::exchange(reports_, {});
}

Actuator::PageOutTotals PageOuter::totals() const {
    std::lock_guard lk(mu_);
    return totals_;
}

void PageOuter::wait_idle() {
    std::unique_lock lk(mu_);
    idle_cv_.wait(lk, [&] { return quit_ || (pending_.empty() && active_ == 0); });
}

bool PageOuter::still_stopped(uint64_t job) {
    std::lock_guard lk(mu_);
    return !quit_ && stopped_.count(job);
}

void PageOuter::worker() {
    std::set<uint64_t> paged_jobs;
    std::unique_lock lk(mu_);
    while (!quit_) {
        idle_cv_.notify_all();
        auto next = std::min_element(pending_.begin(), pending_.end(),
                                     [](const auto& a, const auto& b) { return a.second.due_ns < b.second.due_ns; });
        if (next == pending_.end()) {
            cv_.wait(lk);
            continue;
        }
        if (uint64_t now = monotonic_ns(); next->second.due_ns > now) {
            cv_.wait_for(lk, std::chrono::nanoseconds(next->second.due_ns - now));
            continue;
        }
        uint64_t job = next->first;
        PageOutTarget target = std::move(next->second.target);
        pending_.erase(next);
        active_ = job;
        lk.unlock();
        std::optional<PageOutReport> report;
        if (enabled_now_()) report = page_out(job, target);
        close_page_out_target(target);
        lk.lock();
        active_ = 0;
        if (report) {
            if (report->paged_out()) {
                totals_.bytes += report->paged_out();
                paged_jobs.insert(job);
                totals_.jobs = paged_jobs.size();
            }
            reports_.push_back(std::move(*report));
        }
    }
    idle_cv_.notify_all();
}

PageOutReport PageOuter::page_out(uint64_t job, const PageOutTarget& target) {
    PageOutReport r;
    r.job = job;
    r.pid = target.pidfds.empty() ? 0 : target.pidfds.front().first;
    r.start_ns = monotonic_ns();
    r.outcome = "done";
    if (cgroup_can_reclaim(target.cgroup)) {
        r.method = "memory.reclaim";
        r.rss_before = cgroup_memory_current(target.cgroup).value_or(0);
        for (;;) {
            if (!still_stopped(job)) {
                r.outcome = "cancelled";
                break;
            }
            int e = cgroup_reclaim(target.cgroup, chunk_);
            if (e == EAGAIN) break;  // nothing more it can push out
            if (e != 0) {
                r.outcome = std::string("failed: memory.reclaim: ") + std::strerror(e);
                break;
            }
            if (cgroup_memory_current(target.cgroup).value_or(0) < chunk_) break;
        }
        r.rss_after = cgroup_memory_current(target.cgroup).value_or(0);
    } else {
        r.method = "process_madvise";
        std::vector<ProcessPager> pagers;
        std::vector<std::optional<ProcMemory>> before;
        for (auto [pid, fd] : target.pidfds) {
            pagers.emplace_back(pid, fd);
            before.push_back(pagers.back().memory());
        }
        for (ProcessPager& p : pagers) {
            while (!p.done() && !p.gone() && !p.error()) {
                if (!still_stopped(job)) {
                    r.outcome = "cancelled";
                    break;
                }
                p.step(chunk_);
            }
            if (p.error()) r.outcome = std::string("failed: process_madvise: ") + std::strerror(p.error());
            if (r.outcome != "done") break;
        }
        for (size_t i = 0; i < pagers.size(); i++) {
            auto after = pagers[i].memory();
            if (!before[i] || !after) continue;  // exited meanwhile: no before/after to compare
            r.rss_before += before[i]->rss;
            r.rss_after += after->rss;
            r.swap_after += after->swap;
        }
    }
    r.end_ns = monotonic_ns();
    return r;
}

PagingActuator::PagingActuator(std::unique_ptr<Actuator> inner, const PageOutConfig& config)
    : ForwardingActuator(std::move(inner)),
      pager_(config.delay_s, kPageOutChunk,
             config.mode == PageOutMode::Auto ? &swap_or_zswap_present : +[] { return true; }) {}

PagingActuator::~PagingActuator() { pager_.all_running(); }

void PagingActuator::on_job_end(uint64_t job) {
    pager_.running(job);
    inner_->on_job_end(job);
}

bool PagingActuator::stop(uint64_t job, const std::vector<pid_t>& pids, std::string& error) {
    if (!inner_->stop(job, pids, error)) return false;
    pager_.stopped(job, inner_->page_out_target(job));
    return true;
}

bool PagingActuator::resume(uint64_t job, const std::vector<pid_t>& pids, std::string& error) {
    pager_.running(job);  // before it runs: no chunk starts on a running job
    return inner_->resume(job, pids, error);
}

void PagingActuator::resume_all() {
    pager_.all_running();
    inner_->resume_all();
}

}  // namespace swamp
