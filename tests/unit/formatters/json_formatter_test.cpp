#include "klog/formatters/json_formatter.hpp"

#include <catch2/catch.hpp>
#include <limits>
#include <string>

#include "formatter_fixtures.hpp"

using namespace klog::formatters;
using namespace klog::formatters::test;
using namespace std::string_view_literals;

namespace {
const format_options options{"myhost", "0a1b2c3d-4e5f-6789-abcd-ef0123456789"};
constexpr auto pci_dict = "SUBSYSTEM=pci\nDEVICE=+pci:0000:00:1f.3"sv;

std::string json(std::string_view text) {
    std::string out;
    json_formatter::append_string_contents(out, text);
    return out;
}
}  // namespace

TEST_CASE("json: kernel record with dictionary", "[formatters]") {
    const json_formatter f(options);
    auto r = kernel_record("snd_hda_intel 0000:00:1f.3: enabling device");
    r.dictionary = klog::dictionary_view(pci_dict, 2);
    CHECK(format_with(f, r) ==
          R"({"time":"2026-11-04T05:31:02.123456Z","time_estimated":false,"ts_usec":4836489,)"
          R"("seq":376,"facility":0,"level":6,"flag":"-","origin":"kernel",)"
          R"("dict":{"SUBSYSTEM":"pci","DEVICE":"+pci:0000:00:1f.3"},)"
          R"("boot_id":"0a1b2c3d-4e5f-6789-abcd-ef0123456789","host":"myhost",)"
          R"("text":"snd_hda_intel 0000:00:1f.3: enabling device"})"
          "\n");
}

TEST_CASE("json: optional keys left out, caller and estimated time", "[formatters]") {
    auto r = kernel_record("");
    r.seq.reset();
    r.ts_usec.reset();
    CHECK(format_with(json_formatter({"h", ""}), r, {wall, true}) ==
          R"({"time":"2026-11-04T05:31:02.123456Z","time_estimated":true,"facility":0,)"
          R"("level":6,"flag":"-","origin":"kernel","host":"h","text":""})"
          "\n");
    r.caller = "T1";
    r.flag = 'c';
    r.text = "cont";
    CHECK(format_with(json_formatter({"h", ""}), r) ==
          R"({"time":"2026-11-04T05:31:02.123456Z","time_estimated":false,"facility":0,)"
          R"("level":6,"flag":"c","caller":"T1","origin":"kernel","host":"h","text":"cont"})"
          "\n");
}

TEST_CASE("json: userspace record", "[formatters]") {
    auto r = kernel_record("myapp[42]: hello");
    r.facility = 1;
    CHECK(format_with(json_formatter({"h", ""}), r) ==
          R"({"time":"2026-11-04T05:31:02.123456Z","time_estimated":false,"ts_usec":4836489,)"
          R"("seq":376,"facility":1,"level":6,"flag":"-","origin":"myapp","pid":42,)"
          R"("host":"h","text":"hello"})"
          "\n");
    r.text = "no tag";
    CHECK(format_with(json_formatter({"h", ""}), r) ==
          R"({"time":"2026-11-04T05:31:02.123456Z","time_estimated":false,"ts_usec":4836489,)"
          R"("seq":376,"facility":1,"level":6,"flag":"-","origin":"kmsg",)"
          R"("host":"h","text":"no tag"})"
          "\n");
}

TEST_CASE("json: facility 255 and u64 limits", "[formatters]") {
    auto r = kernel_record("x");
    r.facility = 255;
    r.level = 7;
    r.seq = std::numeric_limits<std::uint64_t>::max();
    r.ts_usec = std::numeric_limits<std::uint64_t>::max();
    CHECK(format_with(json_formatter({"h", ""}), r) ==
          R"({"time":"2026-11-04T05:31:02.123456Z","time_estimated":false,)"
          R"("ts_usec":18446744073709551615,"seq":18446744073709551615,"facility":255,)"
          R"("level":7,"flag":"-","origin":"kmsg","host":"h","text":"x"})"
          "\n");
}

TEST_CASE("json: string escaping", "[formatters]") {
    CHECK(json("plain") == "plain");
    // The text's backslash as \x5c, like an invalid byte: a decoded \xNN is always an escape.
    CHECK(json("q\"b\\s/") == R"(q\"b\\x5cs/)");
    CHECK(json("a\nb\tc\rd") == R"(a\nb\tc\u000dd)");
    CHECK(json("\0\x01\x1b\x1f\x7f"sv) == R"(\u0000\u0001\u001b\u001f\u007f)");
    CHECK(json("\xc2\x80\xc2\x9b") == R"(\u0080\u009b)");  // C1 controls
    CHECK(json("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80") ==
          "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
    CHECK(json("\xe2\x80\xa8\xe2\x80\xa9") == R"(\u2028\u2029)");
    // Not UTF-8: the four characters \xNN, never a \u00NN that would claim Latin-1.
    CHECK(json("caf\xe9") == R"(caf\\xe9)");
    CHECK(json("\xc0\x80\xed\xa0\x80") == R"(\\xc0\\x80\\xed\\xa0\\x80)");
    CHECK(json("\xf4\x90\x80\x80") == R"(\\xf4\\x90\\x80\\x80)");
    CHECK(json("\xf4\x8f\xbf\xbf") == "\xf4\x8f\xbf\xbf");
    CHECK(json("end\xe2\x82") == R"(end\\xe2\\x82)");
}

TEST_CASE("json: text, dictionary, host and boot id are escaped, one line", "[formatters]") {
    auto r = kernel_record("line1\nline2\x1b[0m\xff");
    r.seq.reset();
    r.ts_usec.reset();
    constexpr auto dict = "SUBSYSTEM=a\"b\nDEVICE=c\\x0a\nSUBSYSTEM=dup\nK\x01=v\xff"sv;
    r.dictionary = klog::dictionary_view(dict, 4);
    const std::string out = format_with(json_formatter({"h\"1", "b\n"}), r);
    CHECK(out == R"({"time":"2026-11-04T05:31:02.123456Z","time_estimated":false,"facility":0,)"
                 R"("level":6,"flag":"-","origin":"kernel",)"
                 R"("dict":{"SUBSYSTEM":"a\"b","DEVICE":"c\\x5cx0a","K\u0001":"v\\xff"},)"
                 R"("boot_id":"b\n","host":"h\"1","text":"line1\nline2\u001b[0m\\xff"})"
                 "\n");
    CHECK(out.find('\n') == out.size() - 1);
}
