#include "sys/users.hpp"

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>

#include "sys/cgroupfs.hpp"
#include "util/error.hpp"
#include "util/printable.hpp"

extern char** environ;

namespace swamp {

namespace {

// A whole decimal id, or nullopt.
std::optional<unsigned long> parse_id(std::string_view text) {
    unsigned long v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size() || v >= 0xffffffffUL) return std::nullopt;
    return v;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
    std::vector<std::string_view> out;
    for (size_t start = 0;;) {
        size_t end = s.find(sep, start);
        out.push_back(s.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
        if (end == std::string_view::npos) return out;
        start = end + 1;
    }
}

UserInfo from_passwd(const passwd& pw) {
    return {pw.pw_uid, pw.pw_gid, pw.pw_name ? pw.pw_name : "", pw.pw_dir ? pw.pw_dir : "",
            pw.pw_shell ? pw.pw_shell : "", {}};
}

std::optional<UserInfo> nss_user(const std::string* name, const uid_t* uid) {
    std::vector<char> buf(16384);
    passwd pw{}, *found = nullptr;
    int err = name ? getpwnam_r(name->c_str(), &pw, buf.data(), buf.size(), &found)
                   : getpwuid_r(*uid, &pw, buf.data(), buf.size(), &found);
    if (err || !found) return std::nullopt;
    return from_passwd(pw);
}

// NSS's groups of `u`, or nullopt when NSS cannot tell.
std::optional<std::vector<gid_t>> nss_groups(const UserInfo& u) {
    int n = 64;
    for (int tries = 0; tries < 4; tries++) {
        std::vector<gid_t> groups(static_cast<size_t>(n));
        int got = n;
        if (getgrouplist(u.name.c_str(), u.gid, groups.data(), &got) >= 0) {
            groups.resize(size_t(got));
            return groups;
        }
        if (got <= n) return std::nullopt;
        n = got;
    }
    return std::nullopt;
}

std::optional<UserInfo> find_user(const std::string* name, const uid_t* uid, const UserFiles& files) {
    std::optional<UserInfo> u = files.nss ? nss_user(name, uid) : std::nullopt;
    bool from_nss = u.has_value();
    std::optional<std::string> passwd = u ? std::nullopt : read_file(files.passwd);
    if (!u && passwd) u = passwd_entry(*passwd, name, uid);
    if (!u) return std::nullopt;
    std::optional<std::vector<gid_t>> groups = from_nss ? nss_groups(*u) : std::nullopt;
    if (!groups) {
        std::optional<std::string> group = read_file(files.group);
        groups = group ? member_groups(*group, u->name, u->gid) : std::vector<gid_t>{u->gid};
    }
    u->groups = *groups;
    return u;
}

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

std::string_view value_of(const std::vector<std::string>& env, std::string_view name) {
    for (const std::string& e : env)
        if (e.size() > name.size() && starts_with(e, name) && e[name.size()] == '=') return std::string_view(e).substr(name.size() + 1);
    return {};
}

UserError unresolved(const std::string& what) {
    return UserError(ExitCode::Usage, what +
                                          ": no such user in the user database (NSS) nor in /etc/passwd; run the build "
                                          "as someone else with --as USER, or as root with --as root");
}

}  // namespace

std::optional<UserInfo> passwd_entry(std::string_view passwd, const std::string* name, const uid_t* uid) {
    for (std::string_view line : split(passwd, '\n')) {
        if (line.empty() || line[0] == '#' || line[0] == '+' || line[0] == '-') continue;  // NIS compat lines
        auto f = split(line, ':');
        if (f.size() < 7) continue;
        auto id = parse_id(f[2]), gid = parse_id(f[3]);
        if (!id || !gid || f[0].empty()) continue;
        if ((name && f[0] == *name) || (uid && *id == *uid))
            return UserInfo{uid_t(*id), gid_t(*gid), std::string(f[0]), std::string(f[5]), std::string(f[6]), {}};
    }
    return std::nullopt;
}

std::vector<gid_t> member_groups(std::string_view group, const std::string& user, gid_t primary) {
    std::vector<gid_t> out{primary};
    for (std::string_view line : split(group, '\n')) {
        if (line.empty() || line[0] == '#') continue;
        auto f = split(line, ':');
        if (f.size() < 4) continue;
        auto gid = parse_id(f[2]);
        if (!gid) continue;
        auto members = split(f[3], ',');
        if (std::find(members.begin(), members.end(), user) != members.end() &&
            std::find(out.begin(), out.end(), gid_t(*gid)) == out.end())
            out.push_back(gid_t(*gid));
    }
    return out;
}

std::optional<UserInfo> lookup_user(const std::string& who, const UserFiles& files) {
    if (auto u = find_user(&who, nullptr, files)) return u;
    if (auto id = parse_id(who)) return lookup_uid(uid_t(*id), files);
    return std::nullopt;
}

std::optional<UserInfo> lookup_uid(uid_t uid, const UserFiles& files) { return find_user(nullptr, &uid, files); }

std::optional<gid_t> lookup_group(const std::string& who, const UserFiles& files) {
    if (files.nss) {
        std::vector<char> buf(65536);
        group gr{}, *found = nullptr;
        if (getgrnam_r(who.c_str(), &gr, buf.data(), buf.size(), &found) == 0 && found) return found->gr_gid;
    }
    if (std::optional<std::string> text = read_file(files.group))
        for (std::string_view line : split(*text, '\n')) {
            auto f = split(line, ':');
            if (f.size() >= 3 && f[0] == who && parse_id(f[2])) return gid_t(*parse_id(f[2]));
        }
    if (auto id = parse_id(who)) return gid_t(*id);
    return std::nullopt;
}

std::string describe_uid(uid_t uid) {
    std::string out = "uid " + std::to_string(uid);
    if (auto u = lookup_uid(uid); u && !u->name.empty()) out += " (" + printable(u->name) + ")";
    return out;
}

std::optional<UserInfo> invoking_user(const std::vector<std::string>& env, const UserFiles& files) {
    if (std::string_view sudo = value_of(env, "SUDO_UID"); !sudo.empty()) {
        auto id = parse_id(sudo);
        std::string what = "the user who ran sudo (SUDO_UID=" + printable(std::string(sudo)) + ")";
        if (!id) throw unresolved(what);
        auto u = lookup_uid(uid_t(*id), files);
        if (!u) throw unresolved(what);
        if (auto gid = parse_id(value_of(env, "SUDO_GID")); gid && gid_t(*gid) != u->gid) {
            u->gid = gid_t(*gid);
            if (std::find(u->groups.begin(), u->groups.end(), u->gid) == u->groups.end())
                u->groups.insert(u->groups.begin(), u->gid);
        }
        return u;
    }
    if (std::string_view pk = value_of(env, "PKEXEC_UID"); !pk.empty()) {
        auto id = parse_id(pk);
        std::string what = "the user who ran pkexec (PKEXEC_UID=" + printable(std::string(pk)) + ")";
        auto u = id ? lookup_uid(uid_t(*id), files) : std::nullopt;
        if (!u) throw unresolved(what);
        return u;
    }
    if (std::string_view doas = value_of(env, "DOAS_USER"); !doas.empty()) {
        std::string name(doas);
        auto u = find_user(&name, nullptr, files);
        if (!u) throw unresolved("the user who ran doas (DOAS_USER=" + printable(std::string(doas)) + ")");
        return u;
    }
    return std::nullopt;
}

std::optional<UserInfo> our_invoking_user() {
    try {
        return invoking_user(current_environment());
    } catch (const UserError&) {
        return std::nullopt;
    }
}

std::optional<UserInfo> run_as_user(const std::string& as, const std::vector<std::string>& env,
                                    const UserFiles& files) {
    std::optional<UserInfo> u = as.empty() ? invoking_user(env, files) : lookup_user(as, files);
    if (!u && !as.empty()) throw unresolved("--as " + printable(as));
    if (u && u->uid == 0) return std::nullopt;  // root: the build runs as we do, in our environment
    return u;
}

std::vector<std::string> environment_for(const std::vector<std::string>& env, const UserInfo& u,
                                         const std::string& runtime_dir) {
    std::string own_bus = "/run/user/" + std::to_string(u.uid) + "/";
    std::vector<std::string> out;
    for (const std::string& e : env) {
        std::string_view name = std::string_view(e).substr(0, e.find('='));
        if (name == e || starts_with(name, "SUDO_") || name == "PKEXEC_UID" || name == "DOAS_USER" || name == "MAIL" ||
            name == "HOME" || name == "USER" || name == "LOGNAME" || name == "SHELL" || name == "XDG_RUNTIME_DIR")
            continue;
        if (name == "DBUS_SESSION_BUS_ADDRESS" && e.find(own_bus) == std::string::npos) continue;
        out.push_back(e);
    }
    out.push_back("HOME=" + (u.home.empty() ? std::string("/") : u.home));
    out.push_back("USER=" + u.name);
    out.push_back("LOGNAME=" + u.name);
    out.push_back("SHELL=" + (u.shell.empty() ? std::string("/bin/sh") : u.shell));
    if (!runtime_dir.empty()) out.push_back("XDG_RUNTIME_DIR=" + runtime_dir);
    return out;
}

std::string runtime_dir_of(uid_t uid) {
    std::string dir = "/run/user/" + std::to_string(uid);
    struct stat st;
    return lstat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == uid ? dir : "";
}

std::vector<std::string> current_environment() {
    std::vector<std::string> out;
    for (char** e = environ; e && *e; e++) out.emplace_back(*e);
    return out;
}

}  // namespace swamp
