#include "config/config.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <sstream>
#include <toml++/toml.h>
#include <variant>

#include "config/setting_table.hpp"
#include "util/error.hpp"
#include "util/size.hpp"

namespace swamp {

namespace {

constexpr size_t kMaxFileBytes = 1 << 20;

std::string position(const std::string& file, const toml::source_position& p) {
    return p ? file + ":" + std::to_string(p.line) + ":" + std::to_string(p.column) : file;
}

[[noreturn]] void fail(const std::string& where, const std::string& what) {
    throw UserError(ExitCode::Config, where + ": " + what);
}

std::string quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<size_t> row(b.size() + 1);
    for (size_t j = 0; j <= b.size(); j++) row[j] = j;
    for (size_t i = 1; i <= a.size(); i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= b.size(); j++) {
            size_t up = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (tolower(a[i - 1]) != tolower(b[j - 1]))});
            diag = up;
        }
    }
    return row[b.size()];
}

// " (did you mean X?)" for the closest candidate that is close enough, else "".
std::string did_you_mean(std::string_view typed, const std::vector<std::string>& candidates, bool brackets = false) {
    const std::string* best = nullptr;
    size_t best_d = std::max<size_t>(2, typed.size() / 3) + 1;
    for (const auto& c : candidates)
        if (size_t d = edit_distance(typed, c); d < best_d) best = &c, best_d = d;
    if (!best) return "";
    return " (did you mean " + (brackets ? "[" + *best + "]" : quoted(*best)) + "?)";
}

// "a string", "an integer", "a table" …
std::string type_of(const toml::node& node) {
    std::ostringstream s;
    s << node.type();
    std::string noun = s.str() == "floating-point" ? "decimal number" : s.str();
    return (std::string("aeiou").find(noun[0]) == std::string::npos ? "a " : "an ") + noun;
}

// A value of the file, read as its key needs it; errors point at the value.
class Value {
public:
    Value(const toml::node& node, const std::string& file, std::string key, const PathExists& exists)
        : node_(node), file_(file), where_(position(file, node.source().begin)), key_(std::move(key)),
          exists_(exists) {}

    [[noreturn]] void fail(const std::string& what) const { swamp::fail(where_, key_ + " " + what); }
    [[noreturn]] void wrong_type(const std::string& needed) const {
        fail("is " + type_of(node_) + "; it must be " + needed);
    }

    std::string string() const {
        if (auto v = node_.value_exact<std::string>()) return *v;
        wrong_type("a string in quotes");
    }

    bool boolean() const {
        if (auto v = node_.value_exact<bool>()) return *v;
        wrong_type("true or false");
    }

    // "512M", "1.5G" or a byte count, through the size parser of the command line.
    uint64_t size() const {
        std::string text;
        if (auto s = node_.value_exact<std::string>())
            text = *s;
        else if (auto i = node_.value_exact<int64_t>())
            text = std::to_string(*i);
        else
            wrong_type("a size such as \"512M\" or a byte count");
        std::string error;
        auto v = parse_size(text, error);
        if (!v) swamp::fail(where_, key_ + ": " + error);
        return *v;
    }

    bool node_is(const std::string& text) const { return node_.value_exact<std::string>() == text; }

    int64_t integer(const Setting& s) const {
        auto v = node_.value_exact<int64_t>();
        if (!v) wrong_type("a whole number");
        if (std::string give = out_of_bounds(s, double(*v)); !give.empty())
            fail("= " + std::to_string(*v) + " is out of range; " + give);
        return *v;
    }

    double number(const Setting& s) const {
        auto v = node_.value<double>();  // an integer too
        if (!v || node_.is_boolean()) wrong_type("a number");
        if (std::string give = out_of_bounds(s, *v); !give.empty())
            fail("= " + value_text(SettingValue(*v)) + " is out of range; " + give);
        return *v;
    }

    std::string choice(const std::vector<std::string>& names) const {
        if (!node_.is_string()) wrong_type("one of \"" + joined(names, "\", \"") + "\"");
        std::string v = string();
        if (std::find(names.begin(), names.end(), v) == names.end())
            fail("= " + quoted(v) + " is unknown" + did_you_mean(v, names) + "; give one of " + joined(names, ", "));
        return v;
    }

    std::vector<std::string> strings() const {
        const toml::array* a = node_.as_array();
        if (!a) wrong_type("a list of strings such as [\"make\", \"ninja\"]");
        std::vector<std::string> out;
        for (const toml::node& item : *a) {
            auto s = item.value_exact<std::string>();
            if (!s)
                swamp::fail(position(file_, item.source().begin),
                            key_ + " holds " + type_of(item) + "; every item must be a string in quotes");
            out.push_back(*s);
        }
        return out;
    }

    // An absolute path to an existing file, or "" for none.
    std::string existing_file() const {
        std::string path = absolute_path();
        if (!path.empty() && exists_ && !exists_(path))
            fail("= " + quoted(path) + ": no such file; give the path of an existing file");
        return path;
    }

    // An absolute path, or "" for none.
    std::string absolute_path() const {
        std::string path = string();
        if (!path.empty() && path[0] != '/')
            fail("= " + quoted(path) + " is a relative path; give an absolute one (starting with /)");
        return path;
    }

private:
    const toml::node& node_;
    const std::string& file_;
    std::string where_, key_;
    const PathExists& exists_;
};

// The value of a key, read as its row says.
SettingValue read_value(const Setting& s, const Value& v) {
    if (!s.word.empty() && v.node_is(s.word)) return s.word;
    switch (s.kind) {
        case SettingKind::Size: return v.size();
        case SettingKind::Integer: return v.integer(s);
        case SettingKind::Number: return v.number(s);
        case SettingKind::Choice: return v.choice(s.choices);
        case SettingKind::List: {
            auto items = v.strings();
            for (const auto& item : items)
                if (std::string problem = s.item_problem ? s.item_problem(item) : ""; !problem.empty())
                    v.fail("holds a bad name: " + problem);
            return items;
        }
        case SettingKind::Path: return s.must_exist ? v.existing_file() : v.absolute_path();
        case SettingKind::Text: return v.string();
        case SettingKind::Flag: return v.boolean();
    }
    return {};
}

// The rows of the table that are keys of the file.
const std::vector<const Setting*>& file_keys() {
    static const std::vector<const Setting*> out = [] {
        std::vector<const Setting*> rows;
        for (const Setting& s : settings())
            if (s.has_key()) rows.push_back(&s);
        return rows;
    }();
    return out;
}

std::vector<std::string> table_names() {
    std::vector<std::string> out;
    for (const Setting* k : file_keys())
        if (std::find(out.begin(), out.end(), k->table) == out.end()) out.push_back(k->table);
    return out;
}

std::vector<std::string> key_names(std::string_view table) {
    std::vector<std::string> out;
    for (const Setting* k : file_keys())
        if (k->table == table) out.push_back(k->key);
    return out;
}

const Setting* find_key(std::string_view name, std::string_view table = {}) {
    for (const Setting* k : file_keys())
        if (k->key == name && (table.empty() || k->table == table)) return k;
    return nullptr;
}

// A table's entries in the order they appear in the file, so the first error
// reported is the first in the file.
std::vector<std::pair<const toml::key*, const toml::node*>> in_file_order(const toml::table& t) {
    std::vector<std::pair<const toml::key*, const toml::node*>> out;
    for (const auto& [k, v] : t) out.emplace_back(&k, &v);
    std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
        const auto &pa = a.first->source().begin, &pb = b.first->source().begin;
        return std::pair(pa.line, pa.column) < std::pair(pb.line, pb.column);
    });
    return out;
}

void apply_table(const std::string& file, const std::string& table, const toml::table& t, ControllerOptions& o,
                 const PathExists& exists) {
    for (const auto& [key, node] : in_file_order(t)) {
        std::string where = position(file, key->source().begin);
        const Setting* k = find_key(key->str(), table);
        if (!k) {
            if (const Setting* other = find_key(key->str()))
                fail(where, quoted(key->str()) + " belongs in [" + other->table + "], not [" + table + "]; move it there");
            fail(where, "unknown key " + quoted(key->str()) + " in [" + table + "]" +
                            did_you_mean(key->str(), key_names(table)) + "; the keys of [" + table +
                            "] are: " + joined(key_names(table), ", "));
        }
        k->set(o, read_value(*k, Value(*node, file, table + "." + k->key, exists)));
    }
}

}  // namespace

void apply_config_text(std::string_view text, const std::string& file_name, ControllerOptions& out,
                       const PathExists& exists) {
    toml::table doc;
    try {
        doc = toml::parse(text, std::string_view(file_name));
    } catch (const toml::parse_error& e) {
        std::string what(e.description());
        if (!what.empty()) what[0] = char(tolower((unsigned char)what[0]));
        fail(position(file_name, e.source().begin), "bad TOML: " + what + "; fix the syntax there");
    }
    ControllerOptions o = out;
    for (const auto& [key, node] : in_file_order(doc)) {
        std::string where = position(file_name, key->source().begin), name(key->str());
        auto tables = table_names();
        if (std::find(tables.begin(), tables.end(), name) == tables.end()) {
            if (const Setting* k = find_key(name))
                fail(where, quoted(name) + " is outside any table; put it below a [" + k->table + "] line");
            fail(where, "unknown table [" + name + "]" + did_you_mean(name, tables, true) + "; the tables are: " +
                            joined(tables, ", "));
        }
        const toml::table* t = node->as_table();
        if (!t)
            fail(where, name + " is " + type_of(*node) + ", not a table; write [" + name +
                            "] on a line of its own with its keys below it");
        apply_table(file_name, name, *t, o, exists);
    }
    const auto& p = o.policy;
    if (p.low_watermark && p.high_watermark && p.high_watermark <= p.low_watermark) {
        const toml::node* high = doc.at_path("policy.high-mark").node();
        fail(position(file_name, high ? high->source().begin : toml::source_position{}),
             "policy.high-mark (" + exact_size(p.high_watermark) + ") is not above policy.low-mark (" +
                 exact_size(p.low_watermark) + "); raise high-mark or set it to \"auto\" (3 x low-mark)");
    }
    out = std::move(o);
}

void apply_config_file(const std::string& path, ControllerOptions& out) {
    auto cannot = [&](const char* what, int err) {
        fail(path, std::string(what) + ": " + strerror(err) + "; give the path of a readable TOML file");
    };
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) cannot("cannot open", errno);
    std::string text;
    char buf[16384];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            int err = errno;
            close(fd);
            cannot("cannot read", err);
        }
        if (n == 0) break;
        text.append(buf, size_t(n));
        if (text.size() > kMaxFileBytes) {
            close(fd);
            fail(path, "is larger than 1 MiB, too large for a config file; give the right file");
        }
    }
    close(fd);
    apply_config_text(text, path, out, [](const std::string& p) {
        struct stat st;
        return stat(p.c_str(), &st) == 0 && !S_ISDIR(st.st_mode);
    });
}

std::string format_config(const ControllerOptions& o) {
    toml::table doc;
    for (const Setting* k : file_keys()) {
        if (!doc.contains(k->table)) doc.insert(k->table, toml::table{});
        toml::table& t = *doc[k->table].as_table();
        std::visit(
            [&](const auto& v) {
                using T = std::decay_t<decltype(v)>;
                if constexpr (std::is_same_v<T, std::vector<std::string>>) {
                    toml::array a;
                    for (const auto& s : v) a.push_back(s);
                    t.insert(k->key, std::move(a));
                } else if constexpr (std::is_same_v<T, uint64_t>) {
                    t.insert(k->key, exact_size(v));
                } else {
                    t.insert(k->key, v);
                }
            },
            k->get(o));
    }
    std::ostringstream s;  // tables in the order of the example file
    for (const auto& name : table_names()) s << '[' << name << "]\n" << *doc[name].as_table() << "\n\n";
    return s.str();
}

}  // namespace swamp
