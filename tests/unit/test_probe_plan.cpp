#include <gtest/gtest.h>

#include "source/probe.hpp"
#include "sys/tracefs.hpp"

using namespace swamp;

namespace {

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// A modern kernel with its own BTF and every feature.
KernelFeatures full_kernel() {
    KernelFeatures f;
    f.release = "6.8.0-1-amd64";
    f.machine = "x86_64";
    f.kernel_btf = true;
    f.btf_source = "/sys/kernel/btf/vmlinux";
    f.ringbuf = true;
    f.tp_fork = f.tp_exec = f.tp_exit = f.tp_rss_stat = f.tp_page_fault_user = true;
    f.rss_stat_has_count = false;
    return f;
}

// A kernel without BTF, given a BTF file that the probe could read.
KernelFeatures no_btf_kernel_with_file(const std::string& file) {
    KernelFeatures f = full_kernel();
    f.kernel_btf = false;
    f.btf_source = file;
    return f;
}

// Format files as tracefs shows them (events/<sys>/<name>/format), trimmed.
constexpr const char* kCommon =
    "format:\n"
    "\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n"
    "\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n"
    "\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n"
    "\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n";
const std::string kFork618 = std::string("name: sched_process_fork\nID: 366\n") + kCommon +
                             "\tfield:__data_loc char[] parent_comm;\toffset:8;\tsize:4;\tsigned:0;\n"
                             "\tfield:pid_t parent_pid;\toffset:12;\tsize:4;\tsigned:1;\n"
                             "\tfield:__data_loc char[] child_comm;\toffset:16;\tsize:4;\tsigned:0;\n"
                             "\tfield:pid_t child_pid;\toffset:20;\tsize:4;\tsigned:1;\n\n"
                             "print fmt: \"comm=%s pid=%d child_comm=%s child_pid=%d\", __get_str(parent_comm), "
                             "REC->parent_pid, __get_str(child_comm), REC->child_pid\n";
const std::string kFork61 = std::string("name: sched_process_fork\nID: 290\n") + kCommon +
                            "\tfield:char parent_comm[16];\toffset:8;\tsize:16;\tsigned:0;\n"
                            "\tfield:pid_t parent_pid;\toffset:24;\tsize:4;\tsigned:1;\n"
                            "\tfield:char child_comm[16];\toffset:28;\tsize:16;\tsigned:0;\n"
                            "\tfield:pid_t child_pid;\toffset:44;\tsize:4;\tsigned:1;\n";
const std::string kNewtask = std::string("name: task_newtask\n") + kCommon +
                             "\tfield:pid_t pid;\toffset:8;\tsize:4;\tsigned:1;\n"
                             "\tfield:char comm[16];\toffset:12;\tsize:16;\tsigned:0;\n"
                             "\tfield:u64 clone_flags;\toffset:32;\tsize:8;\tsigned:0;\n"
                             "\tfield:short oom_score_adj;\toffset:40;\tsize:2;\tsigned:1;\n";
const std::string kExec = std::string("name: sched_process_exec\n") + kCommon +
                          "\tfield:__data_loc char[] filename;\toffset:8;\tsize:4;\tsigned:0;\n"
                          "\tfield:pid_t pid;\toffset:12;\tsize:4;\tsigned:1;\n"
                          "\tfield:pid_t old_pid;\toffset:16;\tsize:4;\tsigned:1;\n";
const std::string kExit61 = std::string("name: sched_process_exit\n") + kCommon +
                            "\tfield:char comm[16];\toffset:8;\tsize:16;\tsigned:0;\n"
                            "\tfield:pid_t pid;\toffset:24;\tsize:4;\tsigned:1;\n"
                            "\tfield:int prio;\toffset:28;\tsize:4;\tsigned:1;\n";
const std::string kExit618 = kExit61 + "\tfield:bool group_dead;\toffset:32;\tsize:1;\tsigned:0;\n";
// the same record before and after 6.2, whose prototype lost `count`
const std::string kRss = std::string("name: rss_stat\n") + kCommon +
                         "\tfield:unsigned int mm_id;\toffset:8;\tsize:4;\tsigned:0;\n"
                         "\tfield:unsigned int curr;\toffset:12;\tsize:4;\tsigned:0;\n"
                         "\tfield:int member;\toffset:16;\tsize:4;\tsigned:1;\n"
                         "\tfield:long size;\toffset:24;\tsize:8;\tsigned:1;\n";

std::map<std::string, std::string> formats_6_18() {
    return {{"task/task_newtask", kNewtask}, {"sched/sched_process_exec", kExec},
            {"sched/sched_process_exit", kExit618}, {"kmem/rss_stat", kRss}};
}
std::map<std::string, std::string> formats_6_1() {
    auto f = formats_6_18();
    f["sched/sched_process_exit"] = kExit61;
    return f;
}

// A kernel built without BTF (Raspberry Pi OS), its tracefs readable.
KernelFeatures no_btf_kernel(const std::string& release, const std::map<std::string, std::string>& formats) {
    KernelFeatures f = full_kernel();
    f.release = release;
    f.kernel_btf = false;
    f.btf_source = "";
    f.rss_stat_has_count = std::nullopt;
    f.host.psi = true;
    f.tracefs = "/sys/kernel/tracing";
    f.tp_formats = formats;
    return f;
}

}  // namespace

TEST(PlanAttach, KernelBtfGivesTpBtf) {
    AttachPlan p = plan_attach(full_kernel(), {});
    EXPECT_TRUE(p.error.empty()) << p.error;
    EXPECT_EQ(p.kind, AttachKind::TpBtf);
    EXPECT_TRUE(p.custom_btf.empty());
    EXPECT_FALSE(p.rss_old_signature);
    EXPECT_FALSE(p.error_is_btf_file);
}

TEST(PlanAttach, NoBtfAtAllGivesTheTracepointVariant) {
    KernelFeatures f = no_btf_kernel("6.18.1", formats_6_18());
    AttachPlan p = plan_attach(f, {});
    EXPECT_TRUE(p.error.empty()) << p.error;
    EXPECT_EQ(p.kind, AttachKind::Tracepoint);
    EXPECT_TRUE(p.custom_btf.empty());
    EXPECT_EQ(p.tp_layout.rss_size.offset, 24u);
    EXPECT_FALSE(p.losses.empty());
    bool psi_said = false;
    for (const auto& l : p.losses) psi_said |= contains(l, "psi=1");
    EXPECT_FALSE(psi_said) << "PSI is on here";
    f.host.psi = false;
    p = plan_attach(f, {});
    for (const auto& l : p.losses) psi_said |= contains(l, "psi=1");
    EXPECT_TRUE(psi_said) << "the lost fault counts leave PSI, which is off";
}

TEST(PlanAttach, NoBtfAndNoTracefsIsAnError) {
    KernelFeatures f = no_btf_kernel("6.6.51+rpt-rpi-v8", {});
    f.tracefs = "";
    f.tracefs_error = "cannot mount tracefs on /sys/kernel/tracing: Operation not permitted";
    AttachPlan p = plan_attach(f, {});
    EXPECT_TRUE(contains(p.error, "tracefs")) << p.error;
    EXPECT_TRUE(contains(p.error, "Operation not permitted")) << p.error;
    EXPECT_FALSE(p.error_is_btf_file);
}

TEST(PlanAttach, NoBtfAndAMissingTracepointIsAnError) {
    auto formats = formats_6_18();
    formats.erase("task/task_newtask");
    AttachPlan p = plan_attach(no_btf_kernel("6.18.1", formats), {});
    EXPECT_TRUE(contains(p.error, "task/task_newtask")) << p.error;
}

TEST(PlanAttach, ForcedCoreVariantWithoutBtfIsAnError) {
    AttachRequest req;
    req.force = AttachKind::RawTp;
    AttachPlan p = plan_attach(no_btf_kernel("6.18.1", formats_6_18()), req);
    EXPECT_TRUE(contains(p.error, "needs BTF")) << p.error;
}

TEST(PlanAttach, ForcedTracepointWithKernelBtf) {
    KernelFeatures f = full_kernel();
    f.tracefs = "/sys/kernel/tracing";
    f.tp_formats = formats_6_18();
    AttachRequest req;
    req.force = AttachKind::Tracepoint;
    AttachPlan p = plan_attach(f, req);
    EXPECT_TRUE(p.error.empty()) << p.error;
    EXPECT_EQ(p.kind, AttachKind::Tracepoint);
    EXPECT_TRUE(p.custom_btf.empty());
}

// The record layouts the no-BTF variant reads, as the kernels' format files
// give them: 6.18 (fork's comms are __data_loc since ~6.16, exit has
// group_dead) and 6.1 (Debian's arm64 kernel: char[16] comms, no group_dead,
// the old rss_stat prototype with the same record).
TEST(TracepointLayout, FromTheFormatsOf6_18And6_1) {
    std::string error;
    auto l18 = tracepoint_layout(formats_6_18(), error);
    ASSERT_TRUE(l18) << error;
    EXPECT_EQ(l18->newtask_pid.offset, 8u);
    EXPECT_EQ(l18->newtask_clone_flags.offset, 32u);
    EXPECT_EQ(l18->newtask_clone_flags.size, 8u);
    EXPECT_EQ(l18->exec_filename.offset, 8u);
    EXPECT_EQ(l18->exit_group_dead.offset, 32u);
    EXPECT_EQ(l18->exit_group_dead.size, 1u);
    EXPECT_EQ(l18->rss_mm_id.offset, 8u);
    EXPECT_EQ(l18->rss_curr.offset, 12u);
    EXPECT_EQ(l18->rss_member.offset, 16u);
    EXPECT_EQ(l18->rss_size.offset, 24u);
    EXPECT_EQ(l18->rss_size.size, 8u);

    auto l61 = tracepoint_layout(formats_6_1(), error);
    ASSERT_TRUE(l61) << error;
    EXPECT_EQ(l61->exit_group_dead.size, 0u) << "no group_dead before 6.16";
    EXPECT_EQ(l61->rss_size.offset, 24u);
    EXPECT_EQ(l61->rss_member.offset, 16u);
    EXPECT_EQ(l61->newtask_clone_flags.size, 8u);
    AttachPlan p = plan_attach(no_btf_kernel("6.1.0-41-arm64", formats_6_1()), {});
    EXPECT_TRUE(p.rss_old_signature);
    bool leader_said = false;
    for (const auto& l : p.losses) leader_said |= contains(l, "main thread");
    EXPECT_TRUE(leader_said);
}

TEST(TracepointLayout, AnUnexpectedFieldIsRefused) {
    auto formats = formats_6_18();
    // a filename that is not a __data_loc string
    formats["sched/sched_process_exec"] = "format:\n\tfield:char filename[64];\toffset:8;\tsize:64;\tsigned:0;\n";
    std::string error;
    EXPECT_FALSE(tracepoint_layout(formats, error));
    EXPECT_TRUE(contains(error, "filename")) << error;
    formats = formats_6_18();
    formats["kmem/rss_stat"] = "format:\n\tfield:int member;\toffset:16;\tsize:4;\tsigned:1;\n";
    EXPECT_FALSE(tracepoint_layout(formats, error));
    EXPECT_TRUE(contains(error, "mm_id")) << error;
}

TEST(TpFormat, ParsesBothForkLayouts) {
    // sched_process_fork's child_pid moved from 44 to 20 when its comms became __data_loc
    auto old_fork = parse_tp_format(kFork61);
    ASSERT_TRUE(old_fork);
    EXPECT_EQ(old_fork->at("child_pid").offset, 44u);
    EXPECT_EQ(old_fork->at("child_comm").size, 16u);
    EXPECT_FALSE(old_fork->at("child_comm").data_loc);
    auto new_fork = parse_tp_format(kFork618);
    ASSERT_TRUE(new_fork);
    EXPECT_EQ(new_fork->at("child_pid").offset, 20u);
    EXPECT_TRUE(new_fork->at("child_comm").data_loc);
    EXPECT_EQ(new_fork->at("common_pid").offset, 4u);
    EXPECT_FALSE(parse_tp_format("name: x\nID: 1\nformat:\n\nprint fmt: \"\"\n"));
    EXPECT_FALSE(parse_tp_format(""));
}

TEST(PlanAttach, CustomBtfWithoutKernelBtfGivesRawTp) {
    const std::string file = "/boot/vmlinux.btf";
    AttachRequest req;
    req.btf_file = file;
    AttachPlan p = plan_attach(no_btf_kernel_with_file(file), req);
    EXPECT_TRUE(p.error.empty()) << p.error;
    EXPECT_EQ(p.kind, AttachKind::RawTp);
    EXPECT_EQ(p.custom_btf, file);
}

TEST(PlanAttach, CustomBtfWithKernelBtfStillPassesTheFile) {
    const std::string file = "/boot/vmlinux.btf";
    KernelFeatures f = full_kernel();
    f.btf_source = file;
    AttachRequest req;
    req.btf_file = file;
    AttachPlan p = plan_attach(f, req);
    EXPECT_TRUE(p.error.empty()) << p.error;
    EXPECT_EQ(p.kind, AttachKind::TpBtf);
    EXPECT_EQ(p.custom_btf, file);
}

TEST(PlanAttach, ForcedTpBtfNeedsKernelBtf) {
    const std::string file = "/boot/vmlinux.btf";
    AttachRequest req;
    req.btf_file = file;
    req.force = AttachKind::TpBtf;
    AttachPlan p = plan_attach(no_btf_kernel_with_file(file), req);
    EXPECT_FALSE(p.error.empty());
    EXPECT_TRUE(contains(p.error, "raw_tp")) << p.error;
    EXPECT_FALSE(p.error_is_btf_file);
}

TEST(PlanAttach, ForcedRawTpWithKernelBtf) {
    AttachRequest req;
    req.force = AttachKind::RawTp;
    AttachPlan p = plan_attach(full_kernel(), req);
    EXPECT_TRUE(p.error.empty()) << p.error;
    EXPECT_EQ(p.kind, AttachKind::RawTp);
    bool noted = false;
    for (const auto& n : p.notes) noted |= contains(n, "forced") && contains(n, "raw_tp");
    EXPECT_TRUE(noted);
}

TEST(PlanAttach, UnreadableBtfFileIsABtfFileError) {
    KernelFeatures f = full_kernel();  // probe fell back to nothing for the file
    f.kernel_btf = false;
    f.btf_source = "";
    f.btf_error = "/tmp/junk is not a BTF file (or an ELF with a .BTF section)";
    AttachRequest req;
    req.btf_file = "/tmp/junk";
    AttachPlan p = plan_attach(f, req);
    EXPECT_TRUE(p.error_is_btf_file);
    EXPECT_EQ(p.error, f.btf_error);

    // even when the kernel has BTF of its own
    KernelFeatures k = full_kernel();
    AttachPlan q = plan_attach(k, req);
    EXPECT_TRUE(q.error_is_btf_file);
    EXPECT_TRUE(contains(q.error, "/tmp/junk")) << q.error;
}

TEST(PlanAttach, NoRingBuffer) {
    KernelFeatures f = full_kernel();
    f.ringbuf = false;
    AttachPlan p = plan_attach(f, {});
    EXPECT_TRUE(contains(p.error, "5.8")) << p.error;
    EXPECT_FALSE(p.error_is_btf_file);

    f.ringbuf_probe_failed = true;
    AttachPlan q = plan_attach(f, {});
    EXPECT_TRUE(contains(q.error, "root")) << q.error;
}

// ringbuf_probe_failed is false: a probe that ran and answered
// "no ring buffer" (false) must not be reported as a permission problem.
TEST(PlanAttach, RingBufferProbeThatDidNotFailMeansNoRingBuffer) {
    KernelFeatures f = full_kernel();
    f.ringbuf = false;
    f.ringbuf_probe_failed = false;
    AttachPlan p = plan_attach(f, {});
    EXPECT_TRUE(contains(p.error, "5.8")) << p.error;
}

TEST(PlanAttach, MissingTracepoints) {
    struct Case {
        std::optional<bool> KernelFeatures::*tp;
        const char* name;
    } cases[] = {{&KernelFeatures::tp_fork, "sched_process_fork"},
                 {&KernelFeatures::tp_exec, "sched_process_exec"},
                 {&KernelFeatures::tp_exit, "sched_process_exit"},
                 {&KernelFeatures::tp_rss_stat, "rss_stat"}};
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        KernelFeatures f = full_kernel();
        f.*c.tp = false;
        AttachPlan p = plan_attach(f, {});
        EXPECT_TRUE(contains(p.error, c.name)) << p.error;
    }
}

TEST(PlanAttach, UnknownTracepointsAreNotErrors) {
    // a reduced BTF holds no tracepoint typedefs: the probe reports nullopt
    const std::string file = "/boot/min.btf";
    KernelFeatures f = no_btf_kernel_with_file(file);
    f.tp_fork = f.tp_exec = f.tp_exit = f.tp_rss_stat = f.tp_page_fault_user = std::nullopt;
    f.rss_stat_has_count = std::nullopt;
    f.release = "5.15.0-100-generic";
    AttachRequest req;
    req.btf_file = file;
    AttachPlan p = plan_attach(f, req);
    EXPECT_TRUE(p.error.empty()) << p.error;
    EXPECT_EQ(p.kind, AttachKind::RawTp);
    EXPECT_TRUE(p.rss_old_signature);
}

TEST(PlanAttach, MissingPageFaultTracepointIsNotFatal) {
    KernelFeatures f = full_kernel();
    f.tp_page_fault_user = false;
    AttachPlan p = plan_attach(f, {});
    EXPECT_TRUE(p.error.empty()) << p.error;
}

TEST(PlanAttach, RssStatSignatureFromBtf) {
    KernelFeatures f = full_kernel();
    f.release = "6.18.1";  // the BTF wins over the version
    f.rss_stat_has_count = true;
    EXPECT_TRUE(plan_attach(f, {}).rss_old_signature);
    f.release = "5.10.0";
    f.rss_stat_has_count = false;
    AttachPlan p = plan_attach(f, {});
    EXPECT_FALSE(p.rss_old_signature);
    for (const auto& n : p.notes) EXPECT_FALSE(contains(n, "guessed")) << n;
}

TEST(PlanAttach, RssStatSignatureGuessedFromVersion) {
    struct Case {
        const char* release;
        bool old;
    } cases[] = {{"6.1.0-41-arm64", true}, {"6.18.1", false}, {"6.2.0", false}, {"6.1.99", true},
                 {"5.19.0", true},         {"7.0.0", false},  {"10.1", false}};
    for (const auto& c : cases) {
        SCOPED_TRACE(c.release);
        KernelFeatures f = full_kernel();
        f.release = c.release;
        f.rss_stat_has_count = std::nullopt;
        AttachPlan p = plan_attach(f, {});
        EXPECT_TRUE(p.error.empty()) << p.error;
        EXPECT_EQ(p.rss_old_signature, c.old);
        bool noted = false;
        for (const auto& n : p.notes) noted |= contains(n, "guessed");
        EXPECT_TRUE(noted);
    }
}

TEST(KernelVersion, Parses) {
    EXPECT_EQ(kernel_version("6.1.0-41-arm64"), std::make_pair(6, 1));
    EXPECT_EQ(kernel_version("6.18.1"), std::make_pair(6, 18));
    EXPECT_EQ(kernel_version("5.10.0-28-amd64"), std::make_pair(5, 10));
    EXPECT_EQ(kernel_version("4.19"), std::make_pair(4, 19));
    EXPECT_EQ(kernel_version("6.8.0-rc3+"), std::make_pair(6, 8));
}

TEST(KernelVersion, Unparsable) {
    EXPECT_EQ(kernel_version(""), std::make_pair(0, 0));
    EXPECT_EQ(kernel_version("6"), std::make_pair(0, 0));
    EXPECT_EQ(kernel_version("linux"), std::make_pair(0, 0));
    EXPECT_EQ(kernel_version("v6.1"), std::make_pair(0, 0));
}

TEST(AttachKindName, Names) {
    EXPECT_STREQ(attach_kind_name(AttachKind::TpBtf), "tp_btf");
    EXPECT_STREQ(attach_kind_name(AttachKind::RawTp), "raw_tp");
    EXPECT_STREQ(attach_kind_name(AttachKind::Tracepoint), "tracepoint");
}
