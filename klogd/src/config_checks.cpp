#include "klogd/config_checks.hpp"

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <type_traits>
#include <variant>

#include <boost/asio/ssl/context.hpp>
#include <openssl/ssl.h>

#include "klog/metrics/rule_set.hpp"
#include "klog/os/os.hpp"
#include "klog/symbols/symbol_file_check.hpp"
#include "klogd/config.hpp"
#include "klogd/options.hpp"

namespace klogd {

namespace {
[[noreturn]] void fail(const std::string& option, const std::string& reason) {
    throw usage_error(option + ": " + reason);
}
}  // namespace

void check_output_path(const std::string& option, const std::string& path) {
    if (path == "-") return;
    if (path.empty()) fail(option, "empty path");
    const std::filesystem::path p(path);
    const auto dir = p.has_parent_path() ? p.parent_path() : std::filesystem::path(".");
    struct stat st {};
    if (const auto ec = klog::os::path_status(dir.string(), st)) {
        fail(option + " " + path, "directory " + dir.string() + ": " + ec.message());
    }
    if (!S_ISDIR(st.st_mode)) fail(option + " " + path, dir.string() + " is not a directory");
    if (!klog::os::path_status(path, st, false)) {
        if (S_ISLNK(st.st_mode)) {
            fail(option + " " + path, "is a symbolic link (klogd does not write through them)");
        }
        if (S_ISDIR(st.st_mode)) fail(option + " " + path, "is a directory");
    }
}

void check_readable(const std::string& option, const std::string& path) {
    if (const auto ec = klog::os::accessible(path, R_OK)) fail(option + " " + path, ec.message());
    struct stat st {};
    if (!klog::os::path_status(path, st) && S_ISDIR(st.st_mode)) {
        fail(option + " " + path, "is a directory");
    }
}

void check_directory_creatable(const std::string& option, const std::string& path) {
    const std::filesystem::path dir(path);
    const auto parent = dir.has_parent_path() ? dir.parent_path() : std::filesystem::path(".");
    struct stat st {};
    const bool exists = !klog::os::path_status(dir.string(), st);
    if (exists ? !S_ISDIR(st.st_mode)
               : klog::os::path_status(parent.string(), st) || !S_ISDIR(st.st_mode)) {
        fail(option + " " + path, "not a directory, nor one that can be created");
    }
    // Can klogd make its subdirectories there? Try it (and leave nothing behind): permission
    // bits alone do not say (/proc/sys is 0555 but root's mkdir still fails; read-only mounts).
    const auto probe =
        (exists ? dir : parent) / (".klogd-probe-" + std::to_string(static_cast<long>(::getpid())));
    std::error_code ec;
    klog::os::create_new_directory(probe.string(), 0700, ec);
    if (ec) {
        fail(option + " " + path, "cannot create directories in " +
                                      (exists ? dir : parent).string() + ": " + ec.message());
    }
    klog::os::remove_directory(probe.string(), ec);
}

std::optional<user_ids> check_user(const std::string& option, const std::string& name) {
    errno = 0;
    const passwd* pw = ::getpwnam(name.c_str());
    if (pw == nullptr) {
        fail(option + " " + name, errno != 0 ? std::strerror(errno) : "no such user");
    }
    return user_ids{pw->pw_uid, pw->pw_gid};
}

namespace {

/// TLS files must be what they claim (checked at start, never quoted).
void check_tls_files(const klog::sinks::stream_sink::settings& tls) {
    for (const auto& [name, file] : {std::pair{"--tls-ca", &tls.tls_ca},
                                     std::pair{"--tls-cert", &tls.tls_cert},
                                     std::pair{"--tls-key", &tls.tls_key}}) {
        if (*file) check_readable(name, **file);
    }
    namespace ssl = boost::asio::ssl;
    ssl::context ctx(ssl::context::tls_client);
    boost::system::error_code ec;
    if (tls.tls_ca) {
        ctx.load_verify_file(*tls.tls_ca, ec);
        if (ec) fail("--tls-ca " + *tls.tls_ca, "no PEM CA certificate in it");
    }
    if (tls.tls_cert) {
        ctx.use_certificate_chain_file(*tls.tls_cert, ec);
        if (ec) fail("--tls-cert " + *tls.tls_cert, "no PEM certificate in it");
    }
    if (tls.tls_key) {
        ctx.use_private_key_file(*tls.tls_key, ssl::context::pem, ec);
        if (ec) fail("--tls-key " + *tls.tls_key, "no PEM private key in it");
        if (tls.tls_cert && ::SSL_CTX_check_private_key(ctx.native_handle()) != 1) {
            fail("--tls-key " + *tls.tls_key, "does not belong to --tls-cert " + *tls.tls_cert);
        }
    }
}

/// System.map, kallsyms and modules files must hold what they claim (their contents never
/// quoted).
void check_symbol_files(const config& c) {
    using klog::symbols::symbol_file_check;
    const auto check = [](const char* option, const std::optional<std::string>& path,
                          symbol_file_check::kind kind) {
        if (!path) return;
        check_readable(option, *path);
        if (const auto problem = symbol_file_check::problem(*path, kind)) {
            throw usage_error(std::string(option) + " " + *path + ": " + *problem);
        }
    };
    check("-k", c.system_map, symbol_file_check::kind::system_map);
    check("--kallsyms", c.kallsyms, symbol_file_check::kind::kallsyms);
    check("--modules", c.modules, symbol_file_check::kind::modules);
}

/// One file named twice (also under two spellings of its path) would be written twice and cut
/// by one output's cursor after the other's writes.
bool same_file(const file_output& a, const file_output& b) {
    if (a.path == "-" || b.path == "-") return a.path == b.path;
    std::error_code ec1, ec2;
    const auto pa = std::filesystem::weakly_canonical(a.path, ec1);
    const auto pb = std::filesystem::weakly_canonical(b.path, ec2);
    return !ec1 && !ec2 && pa == pb;
}

}  // namespace

namespace {

/// A detaching daemon changes to / (daemon::detach): a relative path it opens again later
/// (an output reopened at SIGHUP, the pid file removed at the end, the cursor saved, a
/// spool, tables read again at SIGUSR2, a stand-in source reopened at SIGCONT) would then
/// name another file. Made absolute here, against the directory klogd was started in, in
/// every mode: the state file names a spool by its path, and a -n run and a daemon must
/// name it alike. Not normalised: `link/..` is where the link's target is, not `.`.
/// `dash_is_stream`: `-` is standard input or output (a replay, a file output), not a name.
void make_absolute(std::string& path, bool dash_is_stream = false) {
    if (path.empty() || (dash_is_stream && path == "-") || path.front() == '/') return;
    path = std::filesystem::absolute(path).string();
}
void make_absolute(std::optional<std::string>& path) {
    if (path) make_absolute(*path);
}

void anchor_paths(config& c) {
    make_absolute(c.replay_path, true);
    make_absolute(c.source_path);
    make_absolute(c.system_map);
    make_absolute(c.kallsyms);
    make_absolute(c.modules);
    make_absolute(c.pidfile);
    make_absolute(c.state_file);
    make_absolute(c.spool_dir);
    make_absolute(c.incident_dir);
    make_absolute(c.pstore_dir);
    make_absolute(c.metrics_file);
    make_absolute(c.rules_file);
    for (auto& out : c.outputs) {
        std::visit(
            [](auto& s) {
                using settings = std::decay_t<decltype(s)>;
                if constexpr (std::is_same_v<settings, file_output>) {
                    make_absolute(s.path, true);
                } else if constexpr (std::is_same_v<settings,
                                                    klog::sinks::syslog_sink::settings>) {
                    make_absolute(s.path);
                } else if constexpr (std::is_same_v<settings,
                                                    klog::sinks::stream_sink::settings>) {
                    make_absolute(s.spool_dir);
                    make_absolute(s.tls_ca);
                    make_absolute(s.tls_cert);
                    make_absolute(s.tls_key);
                }
            },
            out.settings);
    }
}

/// Why a local socket path cannot be connected to or bound (its length with the terminating
/// NUL over sockaddr_un's), naming the absolute path when klogd made it so (`anchored`).
std::string socket_path_too_long(const std::string& path, bool anchored) {
    return std::string("socket path too long") + (anchored ? " once made absolute" : "") + " (" +
           std::to_string(path.size()) + " bytes, at most " +
           std::to_string(klog::os::max_socket_path - 1) + ")" +
           (anchored ? ": " + path : std::string());
}

}  // namespace

void check_environment(config& c) {
    const auto given_source = c.source_path;
    anchor_paths(c);
    check_output_path("--pidfile", c.pidfile);
    if (c.user) {
        // Before anything is created: a bad --user is a configuration error, not a runtime one.
        const auto ids = check_user("--user", *c.user);
        c.user_id = ids->uid;
        c.group_id = ids->gid;
    }
    if (c.source == source_kind::replay && c.replay_path != "-") {
        check_readable("--source", c.replay_path);
    }
    if (c.source == source_kind::kmsg && c.source_path &&
        c.source_path->size() >= klog::os::max_socket_path) {
        // A stand-in that is a socket is connected to by its path (a device or file is opened,
        // with no such limit).
        struct stat st {};
        if (!klog::os::path_status(*c.source_path, st) && S_ISSOCK(st.st_mode)) {
            fail("--source kmsg:" + *given_source,
                 socket_path_too_long(*c.source_path, *given_source != *c.source_path));
        }
    }
    if (c.state_file_given && !c.state_file.empty()) {
        // Its directory may be made by klogd (and given to --user).
        const std::filesystem::path state(c.state_file);
        if (state.has_parent_path() && !std::filesystem::is_directory(state.parent_path())) {
            check_directory_creatable("--state-file " + c.state_file, state.parent_path().string());
        } else {
            check_output_path("--state-file", c.state_file);
        }
    }
    const klog::sinks::stream_sink::settings* tls = nullptr;
    bool spooled = false;
    for (std::size_t i = 0; i < c.outputs.size(); ++i) {
        const auto& out = c.outputs[i];
        if (const auto* file = std::get_if<file_output>(&out.settings)) {
            check_output_path(out.option, file->path);
            for (std::size_t k = 0; k < i; ++k) {
                const auto* earlier = std::get_if<file_output>(&c.outputs[k].settings);
                if (earlier != nullptr && same_file(*earlier, *file)) {
                    fail(out.option, "the same file as " + c.outputs[k].key);
                }
            }
        }
        if (const auto* local = std::get_if<klog::sinks::syslog_sink::settings>(&out.settings);
            local != nullptr && local->path.size() >= klog::os::max_socket_path) {
            // Here, not when parsed: a relative path is made absolute only above.
            fail("--output " + out.key,
                 socket_path_too_long(local->path, !out.key.ends_with(":" + local->path)));
        }
        if (const auto* stream = std::get_if<klog::sinks::stream_sink::settings>(&out.settings)) {
            if (stream->tls) tls = stream;
            if (stream->spool_dir) spooled = true;
        }
    }
    if (tls != nullptr) check_tls_files(*tls);
    if (spooled && c.spool_dir) check_directory_creatable("--spool-dir", *c.spool_dir);
    check_symbol_files(c);
    if (c.incident_dir) check_directory_creatable("--incident-dir", *c.incident_dir);
    if (c.metrics_file) check_output_path("--metrics-file", *c.metrics_file);
    (void)load_rules(c);
}

std::unique_ptr<klog::metrics::rule_set> load_rules(const config& c) {
    if (!c.rules_file) return nullptr;
    try {
        return std::make_unique<klog::metrics::rule_set>(
            klog::metrics::rule_set::load(*c.rules_file));
    } catch (const klog::metrics::rule_error& e) {
        throw usage_error(std::string("--rules ") + e.what());
    }
}

}  // namespace klogd
