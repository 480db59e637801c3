#pragma once
// klogd's whole command line: what main() does (see command_line.cpp).

namespace klogd {

/// Runs klogd as its command line says; returns the exit status (2: bad usage or input).
int run_command_line(int argc, char* argv[]);

}  // namespace klogd
