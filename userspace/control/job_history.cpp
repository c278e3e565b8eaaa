#include "control/job_history.hpp"

#include <ctime>

#include "history/signature.hpp"

namespace swamp {

void JobHistory::on_exec(Tree& tree, const ExecEvent& x) {
    if (!on()) return;
    const Process* p = tree.process(x.pid);
    const Job* j = p && p->job ? tree.job(p->job) : nullptr;
    if (!j || signed_.count(j->id)) return;
    if (x.pid != j->root_pid && p->ppid != j->root_pid) return;  // neither its root nor a wrapper's program
    const std::vector<std::string>& argv = x.argv;  // whole: BpfSource reads what the kernel side cut from /proc
    auto sig = command_signature(argv);
    if (!sig) return;
    Signed s{sig->key, sig->tool, join_argv(argv)};
    if (sig->is_link) {
        FilesSize inputs = inputs_size_(pid_t(x.pid), sig->link_inputs);
        s.inputs = inputs.count;
        s.input_bytes = inputs.bytes;
    }
    if (auto pred = store_->predict(s.key, s.input_bytes)) {
        tree.set_prediction(j->id, pred->peak, pred->duration_s, pred->peak_at_s, pred->runs, pred->at_least);
        if (!pred->at_least) predicted_++;
    }
    signed_[j->id] = std::move(s);
}

void JobHistory::on_ended(const std::vector<Job>& ended, uint64_t now_ns, bool killed) {
    for (const Job& j : ended) {
        auto it = signed_.find(j.id);
        if (it == signed_.end()) continue;
        if (j.predicted_peak && !j.predicted_at_least && j.peak > j.predicted_peak) outgrew_++;
        RunRecord r;
        r.key = it->second.key;
        r.tool = it->second.tool;
        r.command = it->second.command;
        r.target = job_target(j.command);
        r.package = j.package;
        r.peak = j.peak;
        r.duration_s = j.run_ns(now_ns) / 1e9;
        r.peak_at_s = j.peak_run_ns / 1e9;
        r.inputs = it->second.inputs;
        r.input_bytes = it->second.input_bytes;
        r.complete = !killed;
        r.unix_time = int64_t(std::time(nullptr));
        store_->record(std::move(r));
        signed_.erase(it);
    }
}

void JobHistory::forget(const std::vector<uint64_t>& dissolved) {
    for (uint64_t id : dissolved) signed_.erase(id);
}

std::string JobHistory::summary(uint64_t jobs) const {
    if (!on()) return "";
    std::string s = ", predicted " + std::to_string(predicted_) + " of " + std::to_string(jobs) + " jobs (" +
                    std::to_string(outgrew_) + " outgrew it)";
    if (!store_->warning().empty()) s += " [history: " + store_->warning() + "]";
    return s;
}

}  // namespace swamp
