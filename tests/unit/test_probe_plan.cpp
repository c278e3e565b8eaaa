#include <gtest/gtest.h>

#include "source/probe.hpp"

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

}  // namespace

TEST(PlanAttach, KernelBtfGivesTpBtf) {
    AttachPlan p = plan_attach(full_kernel(), {});
    EXPECT_TRUE(p.error.empty()) << p.error;
    EXPECT_EQ(p.kind, AttachKind::TpBtf);
    EXPECT_TRUE(p.custom_btf.empty());
    EXPECT_FALSE(p.rss_old_signature);
    EXPECT_FALSE(p.error_is_btf_file);
}

TEST(PlanAttach, NoBtfAtAllIsAnError) {
    KernelFeatures f = full_kernel();
    f.kernel_btf = false;
    f.btf_source = "";
    f.tp_fork = f.tp_exec = f.tp_exit = f.tp_rss_stat = f.tp_page_fault_user = std::nullopt;
    f.rss_stat_has_count = std::nullopt;
    AttachPlan p = plan_attach(f, {});
    EXPECT_FALSE(p.error.empty());
    EXPECT_TRUE(contains(p.error, "--btf")) << p.error;
    EXPECT_FALSE(p.error_is_btf_file);
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
}
