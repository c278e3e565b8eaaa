// Turning the sensing flags into a loaded BPF source's settings.
#pragma once

#include <cstdint>
#include <string>

#include "config/settings.hpp"
#include "source/bpf_source.hpp"
#include "source/probe.hpp"

namespace swamp {

BpfOptions bpf_options(const SensingOptions& s);
// The attach plan for what probe_kernel found; throws UserError (KernelFeature
// or BadBtf) when nothing can work.
AttachPlan plan_or_throw(const KernelFeatures& f, const SensingOptions& s);
// "tp_btf", or for the variant without BTF what it cannot see, in a few words.
std::string plan_summary(const AttachPlan& plan);

}  // namespace swamp
