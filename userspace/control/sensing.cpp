#include "control/sensing.hpp"

#include <time.h>

#include "util/error.hpp"

namespace swamp {

BpfOptions bpf_options(const SensingOptions& s) {
    BpfOptions b;
    b.rss_step = s.rss_step;
    b.fault_interval_ns = uint64_t(s.fault_interval_ms) * 1'000'000;
    b.ringbuf_bytes = s.ringbuf_size;
    b.max_tasks = s.max_tasks;
    b.verbose = s.verbose;
    return b;
}

AttachPlan plan_or_throw(const KernelFeatures& f, const SensingOptions& s) {
    AttachPlan plan = plan_attach(f, {s.attach, s.btf_file});
    if (!plan.error.empty())
        throw UserError(plan.error_is_btf_file ? ExitCode::BadBtf : ExitCode::KernelFeature, plan.error);
    return plan;
}

std::string plan_summary(const AttachPlan& plan) {
    if (plan.kind != AttachKind::Tracepoint) return attach_kind_name(plan.kind);
    return "tracepoint variant, no BTF: no fault counts nor exit status (swamp-bpf probe lists what it loses)";
}

}  // namespace swamp
