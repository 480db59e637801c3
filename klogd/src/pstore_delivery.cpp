#include "klogd/pstore_delivery.hpp"

#include <filesystem>
#include <iostream>

#include "klog/incidents/incident_stage.hpp"

namespace klogd {

pstore_delivery::pstore_delivery(const config& cfg, diag_fn diag, report_fn report)
    : cfg_(cfg), diag_(std::move(diag)), report_(std::move(report)) {}

std::string pstore_delivery::archive_dir() const {
    return (std::filesystem::path(cfg_.state_file).parent_path() / "pstore").string();
}

bool pstore_delivery::deliver(klog::pipeline& pipeline) {
    if (cfg_.pstore_dir.empty()) return false;
    if (cfg_.state_file.empty()) {
        if (std::filesystem::exists(cfg_.pstore_dir + "/.")) {
            diag_("--pstore: no state file (--state-file=none): the previous boot's log in " +
                 cfg_.pstore_dir + " is not read (it could not be archived)");
        }
        return false;
    }
    const auto archive = archive_dir();
    klog::sources::pstore_reader reader(cfg_.pstore_dir, archive);
    std::vector<std::string> notes, info;
    auto dumps = reader.scan(notes, info);
    for (const auto& n : info) diag_("--pstore: " + n);
    for (const auto& n : notes) {
        // The previous boot's log not delivered: said where the log goes, not only with -d.
        std::cerr << "klogd: --pstore: " << n << '\n';
        pipeline.notice("klogd: the previous boot's log in pstore: " + n);
    }
    for (auto& d : dumps) {
        if (const auto error = reader.begin(d); !error.empty()) {
            // Without the trace a crash before the archive would deliver it again unsaid.
            std::cerr << "klogd: --pstore: " << error << "; " << d.path << " not delivered\n";
            continue;
        }
        pipeline.notice("klogd: the previous boot's kernel log from pstore follows (" + d.path +
                              (d.header.empty() ? std::string() : ", " + d.header) + ")" +
                              (d.again ? ": again, klogd stopped before it was archived, so "
                                         "some of it may be here twice"
                                       : ""),
                          d.again ? 4 : 5);
        klog::incidents::incident_stage stage(
            report_);
        stage.set_pstore(true);
        klog::sources::pstore_reader::deliver(d, [&](const klog::record_view& r) {
            pipeline.on_record(r);
            stage.feed(r);
        });
        stage.finish();
        pipeline.notice("klogd: end of the previous boot's kernel log from " + d.path, 5);
        unarchived_.push_back(std::move(d));
    }
    return !dumps.empty();
}

void pstore_delivery::archive(const klog::pipeline& pipeline) {
    if (unarchived_.empty()) return;
    // Only once every output holds them: a crash before that reads them again.
    for (const auto& out : pipeline.outputs()) {
        if (out->unsafe() != 0) return;
    }
    const auto archive = archive_dir();
    klog::sources::pstore_reader reader(cfg_.pstore_dir, archive);
    for (const auto& d : unarchived_) {
        const auto error = reader.archive(d);
        if (!error.empty()) {
            std::cerr << "klogd: --pstore: " << error << '\n';
        } else {
            diag_("--pstore: " + d.path + " delivered and archived in " + archive);
        }
    }
    unarchived_.clear();
}

}  // namespace klogd
