#include "klogd/delivery_cursor.hpp"

#include <algorithm>
#include <iostream>
#include <system_error>

namespace klogd {

delivery_cursor::delivery_cursor(std::string state_file, std::string boot_id,
                                 std::vector<std::string> output_keys, diag_fn diag)
    : state_file_(std::move(state_file)),
      boot_id_(std::move(boot_id)),
      keys_(std::move(output_keys)),
      diag_(std::move(diag)),
      file_(state_file_) {}

void delivery_cursor::resume(klog::pipeline& pipeline) {
    std::string error;
    const auto saved = file_.load(error);
    if (!error.empty()) std::cerr << "klogd: " << error << '\n';
    if (!saved) {
        diag_("no saved cursor in " + state_file_ + ": reading the whole ring");
        // The state file is gone (deleted, never written: a full or read-only disk) while a
        // file already holds records: they may be this boot's, written again now. Said there.
        for (const auto& out : pipeline.outputs()) {
            const auto at = out->durable_file_position();
            if (!at || at->offset == 0) continue;
            const auto text = "klogd: no saved cursor in " + state_file_ + ": records of this "
                              "boot that " + out->name() + " already holds, if any, are written "
                              "again below";
            diag_(text);
            out->notice(text);
        }
        return;
    }
    if (saved->boot_id != boot_id_) {
        diag_("cursor in " + state_file_ + " is from another boot: reading the whole ring");
        return;
    }
    // Same boot: each output skips what it holds; what the ring lost meanwhile is reported as
    // missed when the first record after its cursor is not the next one.
    const auto& outputs = pipeline.outputs();
    for (std::size_t i = 0; i < outputs.size(); ++i) {
        auto& out = *outputs[i];
        if (saved->outputs.empty()) {
            // A state file of an earlier klogd: one cursor for everything.
            pipeline.resume(i, saved->seq);
            continue;
        }
        const auto* at = saved->find(keys_[i]);
        if (at == nullptr) {
            diag_(keys_[i] + " is new: it gets the whole ring");
            continue;
        }
        auto from = at->seq;
        if (!at->spool.empty() && at->acked != at->seq &&
            (at->spool != out.spool_directory() || !out.spool_had_records())) {
            // Records the earlier run left in a spool this run does not have (another
            // --spool-dir, none, or emptied by hand): only what the collector acknowledged is
            // delivered; the rest is read from the kernel again where it still has it.
            diag_(out.name() + ": the records left in " + at->spool +
                 " are not this run's: going on after what the collector acknowledged (seq " +
                 (at->acked ? std::to_string(*at->acked) : std::string("none")) + ")");
            from = at->acked;
        }
        pipeline.resume(i, from);
        out.resume_acknowledged(at->acked ? at->acked : from);
        if (at->file) {
            if (saved->clean) {
                // Everything klogd wrote was saved at its stop: what follows is someone else's.
                diag_(out.name() + ": klogd stopped cleanly: anything after its saved position "
                                  "was written by others and stays");
            } else {
                // Exactly once after a kill: bytes written after the last saved cursor belong
                // to records that are delivered again now (cut once it is sure the kernel still
                // has them all).
                out.plan_cut(*at->file, at->seq);
            }
        }
        diag_(out.name() + ": resuming after seq " +
             (at->seq ? std::to_string(*at->seq) : std::string("(none)")));
    }
}

void delivery_cursor::save(klog::pipeline& pipeline, bool durable, bool clean) {
    klog::cursor c;
    c.boot_id = boot_id_;
    const auto& outputs = pipeline.outputs();
    // Not clean while a file's tail is undecided, or while an output holds something it could
    // not make safe (a full disk: a record written whose report is not, at one position): the
    // next start must decide what follows the saved position.
    c.clean = clean && std::none_of(outputs.begin(), outputs.end(), [](const auto& out) {
                  return out->cut_pending() || out->unsafe() != 0;
              });
    for (const auto& out : outputs) out->save_acknowledged();  // never behind the cursor
    bool all = true;
    for (std::size_t i = 0; i < outputs.size(); ++i) {
        klog::output_cursor o;
        o.name = keys_[i];
        // Only what this output holds safely counts.
        o.seq = outputs[i]->durable_seq();
        o.file = outputs[i]->durable_file_position();
        o.spool = outputs[i]->spool_directory();
        if (!o.spool.empty()) o.acked = outputs[i]->acknowledged_seq();
        if (!o.seq) {
            all = false;
        } else if (all) {
            c.seq = c.seq ? std::min(*c.seq, *o.seq) : *o.seq;
        }
        c.outputs.push_back(std::move(o));
    }
    if (!all) c.seq.reset();
    try {
        file_.save(c, durable);
    } catch (const std::system_error& e) {
        if (!error_said_) {
            std::cerr << "klogd: cannot save the cursor: " << e.what()
                      << " (after a restart, records may be delivered again)\n";
            error_said_ = true;
        }
    }
}

}  // namespace klogd
