// The kernel's module uevents as klogd reads them.
#include "klogd/module_events.hpp"

#include <catch2/catch.hpp>
#include <string>

using klogd::module_events;

TEST_CASE("module uevents: add and remove of /module/NAME, nothing else", "[klogd][modules]") {
    using namespace std::string_literals;
    auto ev = module_events::parse(
        "add@/module/klogd_test_mod\0ACTION=add\0DEVPATH=/module/klogd_test_mod\0SUBSYSTEM=module\0SEQNUM=1234\0"s);
    REQUIRE(ev);
    CHECK(ev->first == module_events::action::add);
    CHECK(ev->second == "klogd_test_mod");
    ev = module_events::parse(
        "remove@/module/crc7\0ACTION=remove\0DEVPATH=/module/crc7\0SUBSYSTEM=module\0SEQNUM=9\0"s);
    REQUIRE(ev);
    CHECK(ev->first == module_events::action::remove);
    CHECK(ev->second == "crc7");
    // Other subsystems, other actions, odd paths: nothing.
    CHECK_FALSE(module_events::parse(
        "add@/devices/virtual/net/lo\0ACTION=add\0DEVPATH=/devices/virtual/net/lo\0SUBSYSTEM=net\0"s));
    CHECK_FALSE(module_events::parse(
        "bind@/module/x\0ACTION=bind\0DEVPATH=/module/x\0SUBSYSTEM=module\0"s));
    CHECK_FALSE(module_events::parse("add@/module/a/b\0ACTION=add\0DEVPATH=/module/a/b\0SUBSYSTEM=module\0"s));
    CHECK_FALSE(module_events::parse("add@/module/\0ACTION=add\0DEVPATH=/module/\0SUBSYSTEM=module\0"s));
    CHECK_FALSE(module_events::parse("no nul at all"));
    CHECK_FALSE(module_events::parse(""));
    CHECK_FALSE(module_events::parse(std::string(1, '\0')));
}
