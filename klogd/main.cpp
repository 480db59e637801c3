// klogd: read the kernel log and deliver every record.
#include "klogd/command_line.hpp"

int main(int argc, char* argv[]) { return klogd::run_command_line(argc, argv); }
