// The sd_notify(3) side of sys/systemd: datagrams to a socket we bind as systemd would
// (a path, or an abstract name given as "@name"), the watchdog's interval and timer, and
// the environment it takes away from what swamp-bpf starts.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "sys/systemd.hpp"

using namespace swamp;

namespace {

// A datagram socket bound where $NOTIFY_SOCKET will point: a path, or an abstract name.
class Listener {
public:
    explicit Listener(const std::string& notify_socket) : name_(notify_socket) {
        fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        notify_socket.copy(addr.sun_path, sizeof addr.sun_path - 1);
        if (notify_socket[0] == '@') addr.sun_path[0] = '\0';
        if (notify_socket[0] == '/') unlink(notify_socket.c_str());
        bind_ok_ = bind(fd_, reinterpret_cast<sockaddr*>(&addr),
                        socklen_t(offsetof(sockaddr_un, sun_path) + notify_socket.size())) == 0;
    }
    ~Listener() {
        close(fd_);
        if (name_[0] == '/') unlink(name_.c_str());
    }
    bool bound() const { return bind_ok_; }
    // The next datagram within `ms`, or "" if none came.
    std::string next(int ms = 2000) {
        pollfd p{fd_, POLLIN, 0};
        if (poll(&p, 1, ms) != 1) return "";
        char buf[512];
        ssize_t n = recv(fd_, buf, sizeof buf, 0);
        return n > 0 ? std::string(buf, size_t(n)) : "";
    }

private:
    std::string name_;
    int fd_ = -1;
    bool bind_ok_ = false;
};

std::string unique_name(const char* what) {
    return std::string(what) + "-" + std::to_string(getpid()) + "-" +
           std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
}

void clear_env() {
    for (const char* name : {"NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"}) unsetenv(name);
}

// A clean environment with $NOTIFY_SOCKET set to `name`.
void notify_socket_is(const std::string& name) {
    clear_env();
    setenv("NOTIFY_SOCKET", name.c_str(), 1);
}

// What systemd sets for WatchdogSec=: the interval, and the pid it is meant for.
void watchdog_is(const char* usec, pid_t pid) {
    setenv("WATCHDOG_USEC", usec, 1);
    setenv("WATCHDOG_PID", std::to_string(pid).c_str(), 1);
}

}  // namespace

TEST(ServiceManager, SendsToAPathSocketAndUnsetsTheEnvironment) {
    std::string path = (std::filesystem::temp_directory_path() / unique_name("notify")).string();
    Listener l(path);
    ASSERT_TRUE(l.bound()) << path;
    notify_socket_is(path);
    ServiceManager m;
    EXPECT_EQ(getenv("NOTIFY_SOCKET"), nullptr) << "a launched build or the watchdog must not inherit it";
    ASSERT_TRUE(m.present());
    EXPECT_EQ(m.watchdog_fd(), -1);
    EXPECT_EQ(m.watchdog_usec(), 0u);
    EXPECT_TRUE(m.notify("READY=1"));
    EXPECT_EQ(l.next(), "READY=1");
    EXPECT_TRUE(m.notify("STOPPING=1"));
    EXPECT_EQ(l.next(), "STOPPING=1");
}

TEST(ServiceManager, SendsToAnAbstractSocket) {
    std::string name = "@" + unique_name("swamp-notify");
    Listener l(name);
    ASSERT_TRUE(l.bound()) << name;
    notify_socket_is(name);
    ServiceManager m;
    ASSERT_TRUE(m.present());
    EXPECT_TRUE(m.notify("READY=1"));
    EXPECT_EQ(l.next(), "READY=1");
}

TEST(ServiceManager, StatusIsSentOnceForEachChange) {
    std::string name = "@" + unique_name("swamp-status");
    Listener l(name);
    ASSERT_TRUE(l.bound());
    notify_socket_is(name);
    ServiceManager m;
    m.set_status("1 build, 2 jobs running, 0 waiting");
    m.set_status("1 build, 2 jobs running, 0 waiting");
    m.set_status("1 build, 1 job running, 1 waiting");
    EXPECT_EQ(l.next(), "STATUS=1 build, 2 jobs running, 0 waiting");
    EXPECT_EQ(l.next(), "STATUS=1 build, 1 job running, 1 waiting");
    EXPECT_EQ(l.next(200), "") << "the same status twice is sent once";
}

// WatchdogSec=400ms: WATCHDOG_USEC=400000 and our pid; the timer fires every half of it.
TEST(ServiceManager, WatchdogTimerFiresAtHalfTheIntervalAndEachTickSendsWatchdog) {
    std::string name = "@" + unique_name("swamp-watchdog");
    Listener l(name);
    ASSERT_TRUE(l.bound());
    notify_socket_is(name);
    watchdog_is("400000", getpid());
    ServiceManager m;
    EXPECT_EQ(getenv("WATCHDOG_USEC"), nullptr);
    EXPECT_EQ(getenv("WATCHDOG_PID"), nullptr);
    EXPECT_EQ(m.watchdog_usec(), 400000u);
    ASSERT_GE(m.watchdog_fd(), 0);
    auto t0 = std::chrono::steady_clock::now();
    pollfd p{m.watchdog_fd(), POLLIN, 0};
    ASSERT_EQ(poll(&p, 1, 2000), 1);
    double waited_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_GT(waited_ms, 150);
    EXPECT_LT(waited_ms, 400) << "half of WatchdogSec, well within it";
    m.watchdog_tick();
    EXPECT_EQ(l.next(), "WATCHDOG=1");
    p.revents = 0;
    EXPECT_EQ(poll(&p, 1, 0), 0) << "the tick acknowledged the timer";
    ASSERT_EQ(poll(&p, 1, 2000), 1) << "and it fires again";
}

TEST(ServiceManager, WatchdogMeantForAnotherPidOrWithoutASocketIsOff) {
    std::string name = "@" + unique_name("swamp-other");
    Listener l(name);
    ASSERT_TRUE(l.bound());
    notify_socket_is(name);
    watchdog_is("1000000", getpid() + 1);
    {
        ServiceManager m;
        EXPECT_TRUE(m.present());
        EXPECT_EQ(m.watchdog_usec(), 0u);
        EXPECT_EQ(m.watchdog_fd(), -1);
    }
    clear_env();
    setenv("WATCHDOG_USEC", "1000000", 1);
    ServiceManager none;
    EXPECT_FALSE(none.present());
    EXPECT_EQ(none.watchdog_fd(), -1);
    EXPECT_FALSE(none.notify("READY=1"));
}

TEST(ServiceManager, NoSocketOrABadOneIsANoOp) {
    for (const char* bad : {"", "relative/path", "@", "/"}) {
        notify_socket_is(bad);
        ServiceManager m;
        EXPECT_FALSE(m.present()) << bad;
        EXPECT_FALSE(m.notify("READY=1")) << bad;
        m.set_status("x");  // nothing to send to, nothing happens
    }
    notify_socket_is("/" + std::string(200, 'x'));
    EXPECT_FALSE(ServiceManager().present());
    clear_env();
}

TEST(ServiceManager, NobodyListeningIsAFailedSendNotAnError) {
    clear_env();
    std::string path = (std::filesystem::temp_directory_path() / unique_name("gone")).string();
    setenv("NOTIFY_SOCKET", path.c_str(), 1);
    ServiceManager m;
    EXPECT_TRUE(m.present());
    EXPECT_FALSE(m.notify("READY=1"));
}
