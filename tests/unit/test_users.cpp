// Users and groups from fixture files, without NSS (sys/users.hpp): what the static arm64 binary
// falls back to, and what a launched build runs as, with which environment.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "sys/users.hpp"
#include "util/error.hpp"

using namespace swamp;

namespace {

UserFiles fixtures() {
    auto dir = std::filesystem::path(__FILE__).parent_path().parent_path() / "fixtures" / "users";
    return {(dir / "passwd").string(), (dir / "group").string(), false};
}

bool has(const std::vector<std::string>& env, const std::string& entry) {
    return std::find(env.begin(), env.end(), entry) != env.end();
}

bool has_name(const std::vector<std::string>& env, const std::string& name) {
    return std::any_of(env.begin(), env.end(), [&](const std::string& e) { return e.rfind(name + "=", 0) == 0; });
}

}  // namespace

TEST(Users, FromTheFilesByNameOrUidWithTheirGroups) {
    auto ann = lookup_user("ann", fixtures());
    ASSERT_TRUE(ann);
    EXPECT_EQ(ann->uid, 1000u);
    EXPECT_EQ(ann->gid, 1000u);
    EXPECT_EQ(ann->home, "/home/ann");
    EXPECT_EQ(ann->shell, "/bin/zsh");
    // primary first, then every group listing her; "annie" is not "ann", a bad gid is skipped
    EXPECT_EQ(ann->groups, (std::vector<gid_t>{1000, 100, 29, 250}));

    auto bob = lookup_uid(1001, fixtures());
    ASSERT_TRUE(bob);
    EXPECT_EQ(bob->name, "bob");
    EXPECT_EQ(bob->shell, "");
    EXPECT_EQ(bob->groups, (std::vector<gid_t>{100, 29, 44}));  // users is his primary group, listed once

    EXPECT_EQ(lookup_user("1001", fixtures())->name, "bob");  // a uid given as text
    EXPECT_EQ(lookup_user("1004", fixtures())->uid, 1005u);   // a name wins over a uid
    EXPECT_FALSE(lookup_user("carol", fixtures()));           // in /etc/group only
    EXPECT_FALSE(lookup_user("broken", fixtures()));
    EXPECT_FALSE(lookup_user("short", fixtures()));
    EXPECT_FALSE(lookup_user("+", fixtures()));
    EXPECT_FALSE(lookup_uid(4242, fixtures()));
    EXPECT_EQ(lookup_group("portage", fixtures()), 250u);
    EXPECT_EQ(lookup_group("77", fixtures()), 77u);
    EXPECT_FALSE(lookup_group("nosuchgroup", fixtures()));

    UserFiles missing{"/nonexistent/passwd", "/nonexistent/group", false};
    EXPECT_FALSE(lookup_user("ann", missing));
}

TEST(Users, InvokingUserFromSudoPkexecOrDoas) {
    EXPECT_FALSE(invoking_user({"PATH=/usr/bin", "HOME=/root"}, fixtures()));
    auto sudo = invoking_user({"SUDO_UID=1000", "SUDO_GID=29", "SUDO_USER=ann"}, fixtures());
    ASSERT_TRUE(sudo);
    EXPECT_EQ(sudo->name, "ann");
    EXPECT_EQ(sudo->gid, 29u);  // the group sudo was run with
    EXPECT_EQ(invoking_user({"PKEXEC_UID=1001"}, fixtures())->name, "bob");
    EXPECT_EQ(invoking_user({"DOAS_USER=ann"}, fixtures())->uid, 1000u);
    // set but unresolvable: a clear error that says what to do, never root by accident
    for (const std::vector<std::string>& env : std::vector<std::vector<std::string>>{
             {"SUDO_UID=4242"}, {"SUDO_UID=12abc"}, {"PKEXEC_UID=-1"}, {"DOAS_USER=nobody-here"}}) {
        try {
            invoking_user(env, fixtures());
            ADD_FAILURE() << env[0] << " resolved";
        } catch (const UserError& e) {
            EXPECT_EQ(e.code(), ExitCode::Usage);
            EXPECT_NE(std::string(e.what()).find("--as USER"), std::string::npos) << e.what();
        }
    }
}

TEST(Users, RunAsTakesAsFirstThenTheInvokerAndRootMeansNoChange) {
    std::vector<std::string> env{"SUDO_UID=1000"};
    EXPECT_EQ(run_as_user("", env, fixtures())->name, "ann");
    EXPECT_EQ(run_as_user("bob", env, fixtures())->name, "bob");
    EXPECT_FALSE(run_as_user("root", env, fixtures()));
    EXPECT_FALSE(run_as_user("0", env, fixtures()));
    EXPECT_FALSE(run_as_user("", {}, fixtures()));  // root, directly
    EXPECT_THROW(run_as_user("nobody-here", env, fixtures()), UserError);
}

TEST(Users, EnvironmentHandOver) {
    UserInfo ann = *lookup_user("ann", fixtures());
    std::vector<std::string> sudo_env{"PATH=/usr/local/sbin:/usr/bin", "TERM=xterm", "HOME=/root", "USER=root",
                                      "LOGNAME=root", "SHELL=/bin/bash", "MAIL=/var/mail/root", "SUDO_UID=1000",
                                      "SUDO_GID=1000", "SUDO_USER=ann", "SUDO_COMMAND=/usr/sbin/swamp-bpf -- make",
                                      "XDG_RUNTIME_DIR=/run/user/0", "DBUS_SESSION_BUS_ADDRESS=unix:path=/run/user/0/bus",
                                      "MAKEFLAGS=-j8", "LANG=C.UTF-8", "odd-entry-without-equals"};
    auto env = environment_for(sudo_env, ann, "/run/user/1000");
    EXPECT_TRUE(has(env, "HOME=/home/ann"));
    EXPECT_TRUE(has(env, "USER=ann"));
    EXPECT_TRUE(has(env, "LOGNAME=ann"));
    EXPECT_TRUE(has(env, "SHELL=/bin/zsh"));
    EXPECT_TRUE(has(env, "XDG_RUNTIME_DIR=/run/user/1000"));
    for (const char* kept : {"PATH=/usr/local/sbin:/usr/bin", "TERM=xterm", "MAKEFLAGS=-j8", "LANG=C.UTF-8"})
        EXPECT_TRUE(has(env, kept)) << kept;
    for (const char* gone : {"MAIL", "SUDO_UID", "SUDO_GID", "SUDO_USER", "SUDO_COMMAND", "DBUS_SESSION_BUS_ADDRESS"})
        EXPECT_FALSE(has_name(env, gone)) << gone;
    EXPECT_FALSE(has(env, "odd-entry-without-equals"));
    for (const char* once : {"HOME", "USER", "XDG_RUNTIME_DIR"})
        EXPECT_EQ(std::count_if(env.begin(), env.end(), [&](const std::string& e) { return e.rfind(std::string(once) + "=", 0) == 0; }), 1)
            << once;

    // no runtime directory of theirs: none at all, rather than root's; their own bus is kept
    auto bare = environment_for({"XDG_RUNTIME_DIR=/run/user/0", "DBUS_SESSION_BUS_ADDRESS=unix:path=/run/user/1000/bus"},
                                ann, "");
    EXPECT_FALSE(has_name(bare, "XDG_RUNTIME_DIR"));
    EXPECT_TRUE(has(bare, "DBUS_SESSION_BUS_ADDRESS=unix:path=/run/user/1000/bus"));
    UserInfo bob = *lookup_user("bob", fixtures());
    EXPECT_TRUE(has(environment_for({}, bob, ""), "SHELL=/bin/sh"));  // an empty shell field means /bin/sh
}
