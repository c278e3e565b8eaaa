// `swamp-bpf top`: the live view on a terminal (ncurses). What it shows is
// top/top_view; this file only talks to the controller and the terminal.
#include "cli/commands.hpp"
#include "util/error.hpp"

#ifdef SWAMP_WITH_TOP
#include <curses.h>
#include <langinfo.h>
#include <signal.h>
#include <unistd.h>

#include <clocale>
#include <cstring>

#include "top/top_view.hpp"
#endif

namespace swamp {

#ifndef SWAMP_WITH_TOP

int run_top(const TopOptions&) {
    throw UserError(ExitCode::Failure,
                    "this swamp-bpf was built without ncurses, so it has no top; use `swamp-bpf ctl status` "
                    "(and pause, resume, limit, drain, run JOB)");
}

#else

namespace {

volatile sig_atomic_t g_quit = 0;
void on_quit(int) { g_quit = 1; }

// The terminal in curses mode while alive; back to normal on every way out.
struct Screen {
    Screen() {
        initscr();
        cbreak();
        noecho();
        keypad(stdscr, TRUE);
        curs_set(0);
        if (has_colors()) {
            start_color();
            use_default_colors();
            init_pair(1, COLOR_GREEN, -1);    // running, the build's RSS
            init_pair(2, COLOR_YELLOW, -1);   // stopped, other use
            init_pair(3, COLOR_MAGENTA, -1);  // held
            init_pair(4, COLOR_RED, -1);      // warnings
            init_pair(5, COLOR_CYAN, -1);     // run now, keys
        }
    }
    ~Screen() { endwin(); }
    Screen(const Screen&) = delete;
    Screen& operator=(const Screen&) = delete;
};

attr_t attr_of(Paint p) {
    switch (p) {
    case Paint::Title: return A_BOLD;
    case Paint::Dim: return A_DIM;
    case Paint::Tree:
    case Paint::Running: return COLOR_PAIR(1);
    case Paint::Other:
    case Paint::Stopped: return COLOR_PAIR(2);
    case Paint::Held: return COLOR_PAIR(3);
    case Paint::Warn: return COLOR_PAIR(4);
    case Paint::RunNow: return COLOR_PAIR(5) | A_BOLD;
    case Paint::Key: return COLOR_PAIR(5);
    case Paint::Selected: return A_REVERSE;
    case Paint::Mark: return A_BOLD;
    case Paint::Free:
    case Paint::Plain: break;
    }
    return A_NORMAL;
}

// Without a UTF-8 locale the terminal cannot show other characters: '?' for them.
std::string for_terminal(const std::string& s, bool utf8) {
    if (utf8) return s;
    std::string out;
    for (unsigned char c : s)
        if (c < 0x80) out += char(c);
        else if ((c & 0xC0) != 0x80) out += '?';
    return out;
}

void draw(const std::vector<ScreenLine>& lines, bool utf8) {
    erase();
    int y = 0;
    for (const ScreenLine& l : lines) {
        move(y++, 0);
        for (const Span& s : l) {
            attrset(attr_of(s.paint));
            addstr(for_terminal(s.text, utf8).c_str());
        }
    }
    attrset(A_NORMAL);
    refresh();
}

}  // namespace

int run_top(const TopOptions& o) {
    // the first answer before the screen changes: a clear error if nothing is there
    std::string first = ctl_exchange(o.socket, "status json");
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
        throw UserError(ExitCode::Usage, "top needs a terminal; for a script, use `swamp-bpf ctl status --json`");
    setlocale(LC_ALL, "");
    const bool utf8 = strcmp(nl_langinfo(CODESET), "UTF-8") == 0;
    struct sigaction sa{};
    sa.sa_handler = on_quit;  // no SA_RESTART: getch() returns, the loop ends, the screen is restored
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGHUP, &sa, nullptr);

    Screen screen;
    timeout(int(o.interval_s * 1000));
    TopFrame f;
    f.socket = o.socket;
    std::string text = first;
    bool fetched = true;
    while (!g_quit) {
        if (!fetched) {
            try {
                text = ctl_exchange(o.socket, "status json");
            } catch (const UserError& e) {
                text.clear();
                f.error = e.what();
            }
        }
        fetched = false;
        std::string parse_error;
        f.status = text.empty() ? std::nullopt : parse_status_json(text, parse_error);
        if (!text.empty() && !f.status) f.error = "the swamp-bpf on " + o.socket + " sent " + parse_error;
        if (f.status) f.selected = move_selection(*f.status, f.selected, 0);
        f.width = size_t(std::max(COLS, 1));
        f.height = size_t(std::max(LINES, 1));
        draw(render_top(f), utf8);
        int key = getch();
        if (key == ERR || key == KEY_RESIZE) continue;
        if (key == 'q' || key == 'Q' || key == 27) break;
        if (key == KEY_UP || key == 'k' || key == KEY_DOWN || key == 'j') {
            if (f.status) f.selected = move_selection(*f.status, f.selected, key == KEY_UP || key == 'k' ? -1 : 1);
            continue;
        }
        std::string req = request_for_key(key == KEY_ENTER ? '\n' : key, f.selected);
        if (req.empty()) continue;
        try {
            std::string reply = ctl_exchange(o.socket, req);
            while (!reply.empty() && reply.back() == '\n') reply.pop_back();
            f.message = req + ": " + reply;
        } catch (const UserError& e) {
            f.message = req + ": " + e.what();
        }
    }
    return 0;
}

#endif

}  // namespace swamp
