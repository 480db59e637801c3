# Guest part of "system_map": /proc/kallsyms of a nokaslr boot (link-time addresses).
sysctl -w kernel.kptr_restrict=0 >/dev/null
result kallsyms cat /proc/kallsyms
