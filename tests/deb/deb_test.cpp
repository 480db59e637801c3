// The Debian package (issue 17), for real. `make deb` builds it (lintian included) into a
// directory of this build tree; the same package tree then gives a rebuilt package with a
// higher version (project(VERSION) raised in the copy, so klogd -v moves too). Both are
// installed, upgraded, removed and purged with apt-get and dpkg in a throwaway root: an overlay
// of this machine's / (changes go to a tmpfs) in a mount namespace of this test's own, with a
// fresh /run, /tmp and /dev. The machine itself never sees the package.
//
// The packaged daemon is started through /etc/init.d/klogd with the options of
// /etc/default/klogd: a stand-in for /dev/kmsg (a ring served by this test, as the kernel's)
// and a file output. Records flow while the package is upgraded, while the daemon is killed
// with -9, and while it is removed and installed again; the file must hold each exactly once.
#include <dirent.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "daemon_harness.hpp"
#include "klogd/version.hpp"
#include "test_support.hpp"

using namespace std::chrono_literals;
using klog_test::eventually;
using klog_test::read_if_any;
using klog_test::run_process;

namespace {

const std::string source_dir = KLOG_SOURCE_DIR;
const std::string deb_build_dir = KLOGD_DEB_BUILD_DIR;

/// Runs `command` with /bin/sh outside the root, without the make flags of a make above us.
klog_test::process_result host_sh(const std::string& command, int timeout_ms) {
    return run_process({"/usr/bin/env", "-u", "MAKEFLAGS", "-u", "MFLAGS", "-u", "MAKELEVEL",
                        "/bin/sh", "-c", command},
                       "", timeout_ms);
}

std::string quoted(const std::string& s) { return "'" + s + "'"; }

/// The throwaway root: base/layers (tmpfs: the overlay's upper and work directories) and
/// base/root (the overlay of /, with proc, a tmpfs /dev holding the usual nodes, tmpfs /run and
/// /tmp). Everything is mounted in this process's own mount namespace; the destructor kills
/// what still runs inside the root, unmounts, and removes the directories only once nothing is
/// mounted under them.
class throwaway_root {
  public:
    throwaway_root() {
        REQUIRE(::geteuid() == 0);
        const char* tmp = std::getenv("TMPDIR");
        std::string tmpl = std::string(tmp != nullptr ? tmp : "/tmp") + "/klogd-deb-XXXXXX";
        REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
        base_ = tmpl;
        // Mounts made from here on are this process's (and its children's) only.
        REQUIRE(::unshare(CLONE_NEWNS) == 0);
        if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
            // In a chroot (fresh-debian) "/" is no mount point: make the base one, private.
            mount_or_fail(base_, base_, "", "", MS_BIND);
            REQUIRE(::mount(nullptr, base_.c_str(), nullptr, MS_REC | MS_PRIVATE, nullptr) == 0);
        }
        root_ = base_ + "/root";
        const auto layers = base_ + "/layers";
        std::filesystem::create_directories(root_);
        std::filesystem::create_directories(layers);
        mount_or_fail("tmpfs", layers, "tmpfs", "size=1g,mode=0755");
        std::filesystem::create_directories(layers + "/upper");
        std::filesystem::create_directories(layers + "/work");
        mount_or_fail("overlay", root_, "overlay",
                      "lowerdir=/,upperdir=" + layers + "/upper,workdir=" + layers + "/work");
        mount_or_fail("proc", root_ + "/proc", "proc", "");
        mount_or_fail("tmpfs", root_ + "/run", "tmpfs", "size=64m,mode=0755");
        mount_or_fail("tmpfs", root_ + "/tmp", "tmpfs", "size=256m,mode=1777");
        mount_or_fail("tmpfs", root_ + "/dev", "tmpfs", "size=1m,mode=0755");
        const struct {
            const char* name;
            unsigned major, minor;
        } nodes[] = {{"null", 1, 3},   {"zero", 1, 5},    {"full", 1, 7},
                     {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}};
        for (const auto& n : nodes) {
            const auto path = root_ + "/dev/" + n.name;
            REQUIRE(::mknod(path.c_str(), S_IFCHR | 0666, makedev(n.major, n.minor)) == 0);
            REQUIRE(::chmod(path.c_str(), 0666) == 0);
        }
        std::filesystem::create_directory_symlink("/proc/self/fd", root_ + "/dev/fd");
    }

    ~throwaway_root() {
        kill_inside();
        for (auto it = mounted_.rbegin(); it != mounted_.rend(); ++it) {
            ::umount2(it->c_str(), MNT_DETACH);
        }
        // Only empty mount points are left; never walk into something still mounted.
        std::ifstream mountinfo("/proc/self/mountinfo");
        std::string line;
        while (std::getline(mountinfo, line)) {
            if (line.find(" " + base_ + "/") != std::string::npos ||
                line.find(" " + base_ + " ") != std::string::npos) {
                return;
            }
        }
        std::error_code ec;
        std::filesystem::remove_all(base_, ec);
    }

    throwaway_root(const throwaway_root&) = delete;
    throwaway_root& operator=(const throwaway_root&) = delete;

    /// A path inside the root, as this process sees it.
    [[nodiscard]] std::string path(const std::string& inside) const { return root_ + inside; }

    /// Runs `command` with /bin/sh chrooted into the root, with a clean environment.
    [[nodiscard]] klog_test::process_result sh(const std::string& command,
                                               int timeout_ms = 120000) const {
        return run_process(
            {"/usr/sbin/chroot", root_, "/usr/bin/env", "-i",
             "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C",
             "HOME=/root", "DEBIAN_FRONTEND=noninteractive", "/bin/sh", "-c", command},
            "", timeout_ms);
    }

    /// "PID STATE COMMAND" of every process whose root is the throwaway root, one a line.
    [[nodiscard]] std::string processes() const {
        std::string list;
        for_each_inside([&](const std::string& pid) {
            auto stat = read_if_any("/proc/" + pid + "/stat");
            const auto paren = stat.rfind(") ");
            const auto state = paren == std::string::npos ? "?" : stat.substr(paren + 2, 1);
            auto cmdline = read_if_any("/proc/" + pid + "/cmdline");
            std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
            list += pid + " " + state + " " + cmdline + "\n";
        });
        return list;
    }

    /// SIGKILL to every process whose root is the throwaway root.
    void kill_inside() const {
        for_each_inside([](const std::string& pid) { ::kill(std::stoi(pid), SIGKILL); });
    }

  private:
    template <typename F>
    void for_each_inside(F&& f) const {
        DIR* proc = ::opendir("/proc");
        if (proc == nullptr) return;
        while (const dirent* e = ::readdir(proc)) {
            const std::string name = e->d_name;
            if (name.find_first_not_of("0123456789") != std::string::npos) continue;
            std::error_code ec;
            const auto root = std::filesystem::read_symlink("/proc/" + name + "/root", ec);
            if (!ec && root == root_) f(name);
        }
        ::closedir(proc);
    }

    void mount_or_fail(const std::string& source, const std::string& target,
                       const std::string& type, const std::string& options,
                       unsigned long flags = 0) {
        const int rc =
            ::mount(source.c_str(), target.c_str(), type.empty() ? nullptr : type.c_str(), flags,
                    options.empty() ? nullptr : options.c_str());
        INFO("mount " << type << " on " << target << ": " << std::strerror(errno));
        REQUIRE(rc == 0);
        mounted_.push_back(target);
    }

    std::string base_;
    std::string root_;
    std::vector<std::string> mounted_;
};

/// "klogd_VERSION_ARCH.deb" in the package build directory, "" if there is none.
std::string package_file(const std::string& version) {
    for (const auto& e : std::filesystem::directory_iterator(deb_build_dir)) {
        const auto name = e.path().filename().string();
        if (name.rfind("klogd_" + version + "_", 0) == 0 && e.path().extension() == ".deb") {
            return e.path().string();
        }
    }
    return {};
}

/// Everything under the directories a package can touch, one path a line (sorted).
std::string file_list(const throwaway_root& root) {
    const auto r = root.sh("find /etc /var /usr /opt /srv /root /run -xdev 2>/dev/null | sort");
    return r.out;
}

/// Lines of `after` not in `before` and lines of `before` not in `after`, each with + or -,
/// leaving out what apt, dpkg and man-db keep about themselves (their logs, caches and
/// databases change with any install; klogd's own entries in them are checked by name) and
/// /run/systemd, which systemd-analyze makes.
std::vector<std::string> list_difference(const std::string& before, const std::string& after) {
    auto lines = [](const std::string& text) {
        std::map<std::string, int> m;
        std::istringstream in(text);
        std::string line;
        while (std::getline(in, line)) m[line] = 1;
        return m;
    };
    const std::regex bookkeeping(
        "^(/run/systemd(/.*)?|/var/(log/apt/|log/dpkg\\.log|cache/apt/|cache/man/|"
        "cache/debconf/|lib/apt/|lib/dpkg/(status|available|lock|triggers/|updates/)).*)$");
    auto b = lines(before);
    auto a = lines(after);
    std::vector<std::string> diff;
    for (const auto& [path, _] : a) {
        if (b.count(path) == 0 &&
            (path.find("klogd") != std::string::npos || !std::regex_match(path, bookkeeping))) {
            diff.push_back("+" + path);
        }
    }
    for (const auto& [path, _] : b) {
        if (a.count(path) == 0 &&
            (path.find("klogd") != std::string::npos || !std::regex_match(path, bookkeeping))) {
            diff.push_back("-" + path);
        }
    }
    return diff;
}

/// How often each record number appears in the output file ("... deb record N").
std::map<std::uint64_t, int> record_counts(const std::string& text, std::uint64_t* other) {
    std::map<std::uint64_t, int> counts;
    std::istringstream in(text);
    std::string line;
    const std::string marker = "deb record ";
    while (std::getline(in, line)) {
        const auto at = line.rfind(marker);
        const auto digits = at == std::string::npos ? "" : line.substr(at + marker.size());
        if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos) {
            ++*other;
            std::cout << "unexpected line: " << line << "\n";
            continue;
        }
        ++counts[std::stoull(digits)];
    }
    return counts;
}

/// The kernel keeps logging: one record a millisecond into the ring until stopped.
class producer {
  public:
    explicit producer(klog_test::kmsg_ring& ring) : ring_(ring) {
        thread_ = std::thread([this] {
            while (!stop_) {
                const auto seq = next_.load();
                ring_.add(klog_test::kmsg_record(6, seq, 1000000 + seq,
                                                 "deb record " + std::to_string(seq)));
                next_ = seq + 1;
                std::this_thread::sleep_for(1ms);
            }
        });
    }
    ~producer() { stop(); }
    producer(const producer&) = delete;
    producer& operator=(const producer&) = delete;
    /// Records added so far (numbered 1..produced()).
    [[nodiscard]] std::uint64_t produced() const { return next_ - 1; }
    /// Waits until `n` more records have been added.
    bool more(std::uint64_t n) {
        const auto target = produced() + n;
        return eventually([&] { return produced() >= target; }, 60s);
    }
    void stop() {
        stop_ = true;
        if (thread_.joinable()) thread_.join();
    }

  private:
    klog_test::kmsg_ring& ring_;
    std::atomic<std::uint64_t> next_{1};
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

}  // namespace

TEST_CASE(
    "the Debian package: make deb and lintian, install in a chroot-like root (nothing started), "
    "the init script with /etc/default/klogd, an upgrade while records flow, kill -9, remove "
    "and reinstall, purge: every record once, no file left",
    "[deb]") {
    const std::string version = klogd::version;
    REQUIRE(std::regex_match(version, std::regex("[0-9]+\\.[0-9]+\\.[0-9]+")));
    const std::string higher = version + ".1";

    // --- the two packages: make deb (with lintian), then the same tree one version up -----
    const auto started = std::chrono::steady_clock::now();
    {  // (the build logs are shown only if a build fails)
        const auto built = host_sh("make -C " + quoted(source_dir) +
                                       " deb BUILD_DEB=" + quoted(deb_build_dir) + " JOBS=2 2>&1",
                                   1800000);
        INFO(built.out.substr(built.out.size() > 8000 ? built.out.size() - 8000 : 0));
        REQUIRE(built.exit_code == 0);
        const auto lintian_at = built.out.rfind("lintian --fail-on error,warning");
        REQUIRE(lintian_at != std::string::npos);
        CHECK(built.out.find("\nE: ", lintian_at) == std::string::npos);
        CHECK(built.out.find("\nW: ", lintian_at) == std::string::npos);
        const auto tree = deb_build_dir + "/src";
        const auto rebuilt = host_sh(
            "cd " + quoted(tree) + " && sed -i 's/^project(klogd VERSION " + version +
                " /project(klogd VERSION " + higher + " /' CMakeLists.txt && grep -q 'VERSION " +
                higher + " ' CMakeLists.txt && nice -n 10 make deb-package JOBS=2 2>&1",
            1800000);
        INFO(rebuilt.out.substr(rebuilt.out.size() > 8000 ? rebuilt.out.size() - 8000 : 0));
        REQUIRE(rebuilt.exit_code == 0);
    }
    const auto first_deb = package_file(version);
    const auto second_deb = package_file(higher);
    REQUIRE(!first_deb.empty());
    REQUIRE(!second_deb.empty());
    std::cout << "deb test: both packages built in "
              << std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() -
                                                                  started)
                     .count()
              << " s\n";

    // --- the throwaway root and what the daemon reads and writes there -----------------------
    throwaway_root root;
    const std::string io = "/tmp/klogd-deb-io";  // inside the root
    std::filesystem::create_directories(root.path(io));
    REQUIRE(::chmod(root.path(io).c_str(), 0755) == 0);
    std::filesystem::copy_file(first_deb, root.path(io + "/first.deb"));
    std::filesystem::copy_file(second_deb, root.path(io + "/second.deb"));
    REQUIRE(root.sh("! dpkg -s klogd >/dev/null 2>&1").exit_code == 0);  // not installed yet
    const auto before = file_list(root);
    REQUIRE(before.find("\n/etc/passwd\n") != std::string::npos);

    klog_test::kmsg_ring ring(root.path(io + "/kmsg.sock"), 1000000);
    const std::string out = "/var/log/klogd/kern.log";  // the package's log directory
    // What an administrator (or configuration management) puts there before installing:
    // dpkg keeps it (--force-confold), and the package must not start with anything else.
    // A stand-in source leaves the cursor off unless named: the package's state directory.
    klog_test::write_file(root.path("/etc/default/klogd"),
                          "KLOGD_OPTS=\"-x --format=raw --source=kmsg:" + io +
                              "/kmsg.sock --output=file:" + out +
                              " --state-file=/var/lib/klogd/state\"\n");
    const std::string apt =
        "apt-get install -y -q -o Dpkg::Options::=--force-confdef "
        "-o Dpkg::Options::=--force-confold ";

    // --- 1. install where no init system runs (a chroot: invoke-rc.d refuses) -----------------
    const auto installed = root.sh(apt + io + "/first.deb 2>&1");
    INFO(installed.out);
    REQUIRE(installed.exit_code == 0);
    // Beside whatever syslog daemon is there (this machine's rsyslog): nothing removed.
    CHECK(installed.out.find("REMOVED") == std::string::npos);
    std::this_thread::sleep_for(1s);
    CHECK(ring.connections() == 0);
    CHECK(::access(root.path("/run/klogd.pid").c_str(), F_OK) != 0);
    CHECK(root.sh("dpkg-query -W -f '${Version}' klogd").out == version);
    CHECK(root.sh("klogd -v").out == "klogd " + version + "\n");
    for (const auto* file :
         {"/sbin/klogd", "/etc/init.d/klogd", "/lib/systemd/system/klogd.service",
          "/etc/logrotate.d/klogd", "/usr/share/man/man8/klogd.8.gz", "/var/lib/klogd/spool",
          "/var/log/klogd"}) {
        CHECK(::access(root.path(file).c_str(), F_OK) == 0);
    }
    // Enabled the usual way: rc links by update-rc.d, the unit by deb-systemd-helper.
    CHECK(root.sh("ls /etc/rc2.d/S*klogd").exit_code == 0);
    CHECK(std::filesystem::is_symlink(
        root.path("/etc/systemd/system/multi-user.target.wants/klogd.service")));
    const auto verify =
        root.sh("systemd-analyze verify --man=no /lib/systemd/system/klogd.service");
    INFO("systemd-analyze verify: " << verify.out << verify.err);
    CHECK(verify.exit_code == 0);
    CHECK(verify.err.empty());

    // --- 2. the packaged daemon through the init script, records flowing ----------------------
    producer kernel(ring);
    REQUIRE(kernel.more(200));
    const auto start = root.sh("/etc/init.d/klogd start 2>&1");
    INFO(start.out);
    REQUIRE(start.exit_code == 0);
    REQUIRE(eventually([&] { return ring.connections() == 1; }));
    const auto status = root.sh("/etc/init.d/klogd status");
    CHECK(status.out.find("klogd is running") != std::string::npos);
    const auto first_pid = read_if_any(root.path("/run/klogd.pid"));
    std::cout << "deb test: started " << first_pid << ":\n" << root.processes();
    REQUIRE(kernel.more(500));

    // --- 3. upgrade while records flow; from here on an init system "runs" ------------------
    // policy-rc.d saying yes is what a running init system gives invoke-rc.d (a container's
    // own, saying no, is put back before the purge).
    const auto policy = root.path("/usr/sbin/policy-rc.d");
    const bool had_policy = ::access(policy.c_str(), F_OK) == 0;
    const auto old_policy = had_policy ? klog_test::read_file(policy) : std::string();
    klog_test::write_file(policy, "#!/bin/sh\nexit 0\n");
    REQUIRE(::chmod(root.path("/usr/sbin/policy-rc.d").c_str(), 0755) == 0);
    const auto upgraded = root.sh(apt + io + "/second.deb 2>&1");
    INFO(upgraded.out);
    REQUIRE(upgraded.exit_code == 0);
    CHECK(root.sh("dpkg-query -W -f '${Version}' klogd").out == higher);
    CHECK(root.sh("klogd -v").out == "klogd " + higher + "\n");
    CHECK(eventually([&] { return ring.connections() == 2; }));  // restarted by the postinst
    CHECK(eventually([&] {
        const auto pid = read_if_any(root.path("/run/klogd.pid"));
        return !pid.empty() && pid != first_pid;
    }));
    CHECK(read_if_any(root.path("/etc/default/klogd")).find("kmsg.sock") != std::string::npos);
    REQUIRE(kernel.more(500));

    // --- 4. kill -9 the packaged daemon; the init script starts it again --------------------
    const auto pid_text = read_if_any(root.path("/run/klogd.pid"));
    REQUIRE(!pid_text.empty());
    std::cout << "deb test: before kill -9 of " << pid_text << ":\n" << root.processes();
    REQUIRE(::kill(std::stoi(pid_text), SIGKILL) == 0);
    REQUIRE(kernel.more(300));
    std::cout << "deb test: after kill -9:\n" << root.processes();
    const auto restart = root.sh("/etc/init.d/klogd start 2>&1");
    INFO(restart.out);
    REQUIRE(restart.exit_code == 0);
    CHECK(eventually([&] { return ring.connections() == 3; }));
    REQUIRE(kernel.more(300));

    // --- 5. remove: stopped, state and configuration kept; install again: started --------------
    const auto removed = root.sh("dpkg --remove klogd 2>&1");
    INFO(removed.out);
    REQUIRE(removed.exit_code == 0);
    CHECK(eventually([&] { return ::access(root.path("/run/klogd.pid").c_str(), F_OK) != 0; }));
    CHECK(root.processes().find("klogd") == std::string::npos);
    CHECK(::access(root.path("/sbin/klogd").c_str(), F_OK) != 0);
    CHECK(::access(root.path("/var/lib/klogd/state").c_str(), F_OK) == 0);
    CHECK(::access(root.path("/etc/default/klogd").c_str(), F_OK) == 0);
    REQUIRE(kernel.more(300));  // logged while no klogd runs: the ring keeps them
    const auto reinstalled = root.sh(apt + io + "/second.deb 2>&1");
    INFO(reinstalled.out);
    REQUIRE(reinstalled.exit_code == 0);
    CHECK(eventually([&] { return ring.connections() == 4; }));  // started by the postinst
    REQUIRE(kernel.more(300));
    kernel.stop();

    // Every record exactly once in the file, across all of it.
    const auto total = kernel.produced();
    std::string text;
    const bool complete = eventually(
        [&] {
            text = read_if_any(root.path(out));
            return text.find("deb record " + std::to_string(total) + "\n") != std::string::npos;
        },
        60s);
    CHECK(complete);
    std::uint64_t other = 0;
    const auto counts = record_counts(text, &other);
    std::uint64_t missing = 0;
    std::uint64_t repeated = 0;
    for (std::uint64_t seq = 1; seq <= total; ++seq) {
        const auto it = counts.find(seq);
        if (it == counts.end()) {
            ++missing;
        } else if (it->second > 1) {
            repeated += static_cast<std::uint64_t>(it->second - 1);
        }
    }
    std::cout << "deb test: " << total << " records through install, upgrade " << version << " -> "
              << higher << ", kill -9, remove and reinstall: " << missing << " missing, "
              << repeated << " repeated, " << other << " other lines\n";
    CHECK(missing == 0);
    CHECK(repeated == 0);
    CHECK(other == 0);
    CHECK(counts.size() == total);

    // --- 6. purge: stopped, nothing left --------------------------------------------------------
    const auto purged = root.sh("dpkg --purge klogd 2>&1");
    INFO(purged.out);
    REQUIRE(purged.exit_code == 0);
    CHECK(root.processes().find("klogd") == std::string::npos);
    CHECK(::access(root.path("/run/klogd.pid").c_str(), F_OK) != 0);
    if (had_policy) {
        klog_test::write_file(policy, old_policy);
    } else {
        REQUIRE(std::filesystem::remove(policy));
    }
    CHECK(root.sh("dpkg -s klogd >/dev/null 2>&1").exit_code != 0);
    const auto diff = list_difference(before, file_list(root));
    std::string diff_text;
    for (const auto& d : diff) diff_text += d + "\n";
    INFO("file list before install vs after purge:\n" << diff_text);
    CHECK(diff.empty());
}
