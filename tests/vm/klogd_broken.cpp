// The test suite's deliberately broken klogd (selfcheck-broken.sh): the real klogd, whose
// writes to its kern.log output are lost silently — every second one after the first says it
// wrote every byte and wrote none, as a disk that loses data would. klogd cannot notice; the
// vm suite must. (Every tenth was too few: on a loaded machine klogd wrote the scenario's
// records in ten writes or fewer, lost nothing, and the self-check failed.)
#include "klog/os/faults.hpp"
#include "klogd/command_line.hpp"

int main(int argc, char* argv[]) {
    namespace os = klog::os;
    const os::scoped_faults faults(
        {os::lose(os::call::write).after(1).every(2).always().on("kern.log")});
    return klogd::run_command_line(argc, argv);
}
