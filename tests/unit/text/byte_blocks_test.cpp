// klog::text::find_byte / find_marked against string_view::find: every byte value that can be
// looked for (the blank the short-text padding is made of among them), at every position of
// texts up to three blocks long, from every start, in text that holds no other copy of it and in
// text full of it.
#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <string_view>

#include "klog/text/byte_blocks.hpp"

using klog::text::find_byte;

TEST_CASE("find_byte finds what string_view::find finds, from every start, at every position",
          "[text]") {
    for (const char c : {'\0', ' ', '\n', '\\', 'x', '\xff'}) {
        const char other = c == 'x' ? 'y' : 'x';
        for (std::size_t len = 0; len <= 49; ++len) {
            for (std::size_t at = 0; at <= len; ++at) {  // at == len: not there
                std::string s(len, other);
                if (at < len) s[at] = c;
                // An exact-size copy: ASan sees a read past the end.
                const std::unique_ptr<char[]> copy(new char[len + 1]);
                s.copy(copy.get(), len);
                const std::string_view v(copy.get(), len);
                for (std::size_t from = 0; from <= len + 1; ++from) {
                    INFO("byte " << int(static_cast<unsigned char>(c)) << " length " << len
                                 << " at " << at << " from " << from);
                    REQUIRE(find_byte(v, c, from) == v.find(c, from));
                }
            }
        }
        // Text made of it: every start finds itself.
        const std::string full(40, c);
        for (std::size_t from = 0; from < full.size(); ++from) {
            REQUIRE(find_byte(full, c, from) == from);
        }
    }
}
