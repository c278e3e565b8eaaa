// Users and groups: who a name or uid is, who ran us through sudo, pkexec or
// doas, and what a build run as that user gets (docs/usage.md, "Who the build runs as").
//
// Lookups go through glibc's NSS first (LDAP, systemd-userdb…), then read
// /etc/passwd and /etc/group themselves: a static binary (the arm64 package)
// loads NSS modules at run time, which fails with another glibc than its own.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace swamp {

struct UserInfo {
    uid_t uid = 0;
    gid_t gid = 0;  // primary group
    std::string name, home, shell;
    std::vector<gid_t> groups;  // supplementary groups, the primary one included
};

// Where the file fallback reads; tests point it at fixtures and skip NSS.
struct UserFiles {
    std::string passwd = "/etc/passwd";
    std::string group = "/etc/group";
    bool nss = true;
};

// A user by name, or by uid when `who` is all digits (a name is tried first). nullopt when
// neither NSS nor the files know it. `groups` is filled in.
std::optional<UserInfo> lookup_user(const std::string& who, const UserFiles& files = {});
std::optional<UserInfo> lookup_uid(uid_t uid, const UserFiles& files = {});
// A group by name, or by gid when `who` is all digits; nullopt when unknown.
std::optional<gid_t> lookup_group(const std::string& who, const UserFiles& files = {});
// "uid 1000 (ann)", or "uid 1000" when it has no name.
std::string describe_uid(uid_t uid);

// The file formats, for the fallback and its tests: the entry of `passwd` (a whole
// /etc/passwd) whose name is `name` (or whose uid is `uid`); and the groups of
// /etc/group text that list `user` as a member, with `primary` first.
std::optional<UserInfo> passwd_entry(std::string_view passwd, const std::string* name, const uid_t* uid);
std::vector<gid_t> member_groups(std::string_view group, const std::string& user, gid_t primary);

// Who ran us through sudo (SUDO_UID, SUDO_GID), pkexec (PKEXEC_UID) or doas (DOAS_USER), from
// `env` (NAME=value strings); nullopt when none did. Throws UserError(Usage) when one of them is
// set but names no user we can resolve. A SUDO_GID that parses becomes the primary group.
std::optional<UserInfo> invoking_user(const std::vector<std::string>& env, const UserFiles& files = {});

// invoking_user() of our own environment; nullopt also when it names no user we know.
std::optional<UserInfo> our_invoking_user();

// Who a launched build runs as: `as` ("--as USER": a name, a uid or "root"; "" when not given),
// else the invoking user; nullopt when that is none, or root: the build runs as we do. Throws UserError(Usage) with what
// to do when the user cannot be resolved.
std::optional<UserInfo> run_as_user(const std::string& as, const std::vector<std::string>& env,
                                    const UserFiles& files = {});

// The environment a build run as `u` gets from ours (`env`, as sudo left it): HOME, USER,
// LOGNAME and SHELL are `u`'s; what would make it act as root or as the invoker of sudo goes
// (SUDO_*, PKEXEC_UID, DOAS_USER, MAIL, and XDG_RUNTIME_DIR or a session bus address that are
// not /run/user/UID's); XDG_RUNTIME_DIR is set to `runtime_dir` when that is not "".
// Everything else is kept. Pure.
std::vector<std::string> environment_for(const std::vector<std::string>& env, const UserInfo& u,
                                         const std::string& runtime_dir);
// /run/user/UID when that directory exists and belongs to `uid`, else "".
std::string runtime_dir_of(uid_t uid);
// Our own environment, as NAME=value strings.
std::vector<std::string> current_environment();

}  // namespace swamp
