// btf_without IN OUT NAME: copies the BTF in IN (e.g. /sys/kernel/btf/vmlinux)
// to OUT with the typedef NAME renamed away, so OUT describes a kernel that
// lacks that tracepoint (btf_trace_rss_stat: no kmem:rss_stat). Used to test
// swamp-bpf's "missing tracepoint" error on a kernel that has them all.
#include <bpf/btf.h>

#include <cstdio>
#include <cstring>
#include <string>

int main(int argc, char** argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: btf_without IN OUT TYPEDEF\n");
        return 2;
    }
    struct btf* btf = btf__parse(argv[1], nullptr);
    if (!btf) {
        std::fprintf(stderr, "btf_without: cannot parse %s\n", argv[1]);
        return 1;
    }
    int id = btf__find_by_name_kind(btf, argv[3], BTF_KIND_TYPEDEF);
    if (id < 0) {
        std::fprintf(stderr, "btf_without: no typedef %s in %s\n", argv[3], argv[1]);
        return 1;
    }
    int name = btf__add_str(btf, (std::string(argv[3]) + "_removed").c_str());  // makes the BTF writable
    auto* t = const_cast<struct btf_type*>(btf__type_by_id(btf, id));
    t->name_off = unsigned(name);
    unsigned size = 0;
    const void* raw = btf__raw_data(btf, &size);
    FILE* out = std::fopen(argv[2], "wb");
    if (!out || std::fwrite(raw, 1, size, out) != size || std::fclose(out) != 0) {
        std::fprintf(stderr, "btf_without: cannot write %s\n", argv[2]);
        return 1;
    }
    btf__free(btf);
    return 0;
}
