// Builds the throughput corpus of `make bench` from a real /dev/kmsg capture:
//
//   bench_corpus KMSG_RECORDS KALLSYMS COUNT OUT_KMSG OUT_DMESG_RAW
//
// The capture's records are repeated, in order, with increasing sequence numbers and times
// (each repetition starts one second after the previous one ended), until COUNT records are
// written. After each repetition comes a warning-style trace of 15 kernel records (the last its
// `---[ end trace ... ]---` line) whose addresses are raw (`RIP: 0010:0x...`, ` [<ffffffff...>]`), taken from KALLSYMS (core text
// symbols and a module's), so symbol expansion has real work on about 3.5 % of the records.
//
// OUT_KMSG:      the /dev/kmsg form, one record per read(2), each followed by a NUL byte (the
//                form of the capture itself; `klogd --source=FILE` reads it).
// OUT_DMESG_RAW: the `dmesg -r` / syslog(2) form, `<PRI>[secs.usecs] text` per text line,
//                escapes of the kmsg form (`\xNN`) decoded to bytes (what `dmesg -F` reads).
//
// Prints "records=N kmsg_bytes=B dmesg_raw_lines=L dmesg_raw_bytes=B address_records=A".
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace {

struct record {
    unsigned pri = 6;
    std::uint64_t ts = 0;
    std::string flags = "-";
    std::string text;        // escaped, as /dev/kmsg gives it
    std::string dictionary;  // " KEY=VALUE\n" lines, may be empty
};

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot open " + path);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<record> parse_capture(const std::string& bytes) {
    std::vector<record> out;
    std::size_t pos = 0;
    while (pos < bytes.size()) {
        std::size_t end = bytes.find('\0', pos);
        if (end == std::string::npos) end = bytes.size();
        const std::string_view raw(bytes.data() + pos, end - pos);
        pos = end + 1;
        const std::size_t semi = raw.find(';');
        if (raw.empty() || semi == std::string_view::npos) continue;
        std::vector<std::string> fields;
        std::stringstream header{std::string(raw.substr(0, semi))};
        for (std::string f; std::getline(header, f, ',');) fields.push_back(f);
        if (fields.size() < 4) continue;
        record r;
        r.pri = static_cast<unsigned>(std::stoul(fields[0]));
        r.ts = std::stoull(fields[2]);
        r.flags = fields[3];
        std::string_view body = raw.substr(semi + 1);
        const std::size_t nl = body.find('\n');
        r.text = std::string(body.substr(0, nl));
        if (nl != std::string_view::npos) r.dictionary = std::string(body.substr(nl + 1));
        out.push_back(std::move(r));
    }
    return out;
}

// Raw addresses for the trace: core text symbols spread over the table, and one module symbol.
std::vector<std::uint64_t> pick_addresses(const std::string& kallsyms, std::uint64_t& module_addr) {
    std::vector<std::uint64_t> core;
    std::istringstream in(kallsyms);
    for (std::string line; std::getline(in, line);) {
        char type = 0;
        char name[256];
        unsigned long long addr = 0;
        char module[64] = "";
        const int n = std::sscanf(line.c_str(), "%llx %c %255s %63s", &addr, &type, name, module);
        if (n < 3 || addr == 0 || (type != 'T' && type != 't')) continue;
        if (n == 4) {
            if (module_addr == 0) module_addr = addr + 1;
            continue;
        }
        core.push_back(addr + 1);
    }
    if (core.size() < 16)
        throw std::runtime_error("kallsyms has too few text symbols with addresses");
    std::vector<std::uint64_t> picked;
    for (std::size_t i = 0; i < 11; ++i) picked.push_back(core[(i * 4099 + 17) % core.size()]);
    return picked;
}

std::vector<record> make_trace(const std::vector<std::uint64_t>& core, std::uint64_t module_addr) {
    std::vector<record> trace;
    char buf[128];
    const auto add = [&](const std::string& text) { trace.push_back({4, 0, "-", text, {}}); };
    add("WARNING: CPU: 0 PID: 1 at bench/trace.c:42 bench_warn");
    std::snprintf(buf, sizeof buf, "RIP: 0010:0x%" PRIx64, core[0]);
    add(buf);
    add("RSP: 0018:ffffb4e0c0013d98 EFLAGS: 00010246");
    add("Call Trace:");
    for (std::size_t i = 1; i < core.size(); ++i) {
        std::snprintf(buf, sizeof buf, " [<%016" PRIx64 ">]", core[i]);
        add(buf);
    }
    std::snprintf(buf, sizeof buf, " [<%016" PRIx64 ">]", module_addr ? module_addr : core[1]);
    add(buf);
    // The kernel ends every WARN report so (print_oops_end_marker). Without it each trace was an
    // incident block left open for its 600-record bound, so every record of the corpus went
    // through an open block's field parsing: a replay of one endless incident, not of a log.
    add("---[ end trace 0000000000000000 ]---");
    return trace;
}

int hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// \xNN escapes of the kmsg form back to bytes (what syslog(2) holds).
std::string unescape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '\\' && i + 3 < text.size() && text[i + 1] == 'x' && hex(text[i + 2]) >= 0 &&
            hex(text[i + 3]) >= 0) {
            out.push_back(static_cast<char>(hex(text[i + 2]) * 16 + hex(text[i + 3])));
            i += 3;
        } else {
            out.push_back(text[i]);
        }
    }
    return out;
}

}  // namespace

int main(int argc, char** argv) try {
    if (argc != 6) {
        std::fprintf(stderr, "usage: %s KMSG_RECORDS KALLSYMS COUNT OUT_KMSG OUT_DMESG_RAW\n",
                     argv[0]);
        return 2;
    }
    const std::vector<record> capture = parse_capture(read_file(argv[1]));
    if (capture.empty()) throw std::runtime_error(std::string("no records in ") + argv[1]);
    std::uint64_t module_addr = 0;
    const std::vector<std::uint64_t> core = pick_addresses(read_file(argv[2]), module_addr);
    const std::vector<record> trace = make_trace(core, module_addr);
    const std::uint64_t count = std::stoull(argv[3]);

    std::vector<record> block = capture;
    block.insert(block.end(), trace.begin(), trace.end());
    const std::uint64_t last_ts = capture.back().ts;
    // Trace records follow the capture's last record, 1 us apart.
    for (std::size_t i = capture.size(); i < block.size(); ++i)
        block[i].ts = last_ts + (i - capture.size()) + 1;
    const std::uint64_t span = block.back().ts + 1000000;

    std::string kmsg, dmesg;
    kmsg.reserve(1 << 20);
    dmesg.reserve(1 << 20);
    std::FILE* out_kmsg = std::fopen(argv[4], "wb");
    std::FILE* out_dmesg = std::fopen(argv[5], "wb");
    if (!out_kmsg || !out_dmesg) throw std::runtime_error("cannot create the output files");
    std::uint64_t kmsg_bytes = 0, dmesg_bytes = 0, dmesg_lines = 0, address_records = 0;
    char head[96];
    for (std::uint64_t seq = 0; seq < count; ++seq) {
        const record& r = block[seq % block.size()];
        const std::uint64_t ts = r.ts + (seq / block.size()) * span;
        if (r.pri < 8 && (r.text.find("[<") != std::string::npos || r.text.starts_with("RIP: "))) {
            ++address_records;  // kernel records with raw addresses (userspace ones stay raw)
        }
        int n = std::snprintf(head, sizeof head, "%u,%" PRIu64 ",%" PRIu64 ",%s;", r.pri, seq, ts,
                              r.flags.c_str());
        kmsg.append(head, static_cast<std::size_t>(n));
        kmsg += r.text;
        kmsg += '\n';
        kmsg += r.dictionary;
        kmsg += '\0';
        n = std::snprintf(head, sizeof head, "<%u>[%5" PRIu64 ".%06" PRIu64 "] ", r.pri,
                          ts / 1000000, ts % 1000000);
        const std::string text = unescape(r.text);
        std::size_t start = 0;
        for (;;) {  // one prefixed line per text line, as syslog(2) prints it
            const std::size_t nl = text.find('\n', start);
            dmesg.append(head, static_cast<std::size_t>(n));
            dmesg.append(text, start, nl == std::string::npos ? std::string::npos : nl - start);
            dmesg += '\n';
            ++dmesg_lines;
            if (nl == std::string::npos) break;
            start = nl + 1;
        }
        if (kmsg.size() > (1 << 20)) {
            kmsg_bytes += std::fwrite(kmsg.data(), 1, kmsg.size(), out_kmsg);
            kmsg.clear();
        }
        if (dmesg.size() > (1 << 20)) {
            dmesg_bytes += std::fwrite(dmesg.data(), 1, dmesg.size(), out_dmesg);
            dmesg.clear();
        }
    }
    kmsg_bytes += std::fwrite(kmsg.data(), 1, kmsg.size(), out_kmsg);
    dmesg_bytes += std::fwrite(dmesg.data(), 1, dmesg.size(), out_dmesg);
    if (std::fclose(out_kmsg) != 0 || std::fclose(out_dmesg) != 0)
        throw std::runtime_error("write failed");
    std::printf("records=%" PRIu64 " kmsg_bytes=%" PRIu64 " dmesg_raw_lines=%" PRIu64
                " dmesg_raw_bytes=%" PRIu64 " address_records=%" PRIu64 "\n",
                count, kmsg_bytes, dmesg_lines, dmesg_bytes, address_records);
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "bench_corpus: %s\n", e.what());
    return 1;
}
