# Thin wrapper around CMake. Every target first installs the Debian packages it needs.
#   make run    build, then run klogd in the foreground on this machine's kernel log (stdout)
#   make test   build (normal + ASan/UBSan) and run every test, qemu guest tests included
#   make bench  build optimised and print the benchmark table
#   make deb    build the Debian package klogd_VERSION_ARCH.deb in build-deb/ and run lintian
# make run and make test build with -DKLOGD_WERROR=ON; make bench and a plain cmake do not.

BUILD      ?= build
BUILD_ASAN ?= build-asan
BUILD_BENCH ?= build-bench
BUILD_DEB  ?= build-deb
JOBS       ?= $(shell nproc)
CTEST_ARGS ?=
# syslog-ng for the network tests: unpacked there with the libraries this system lacks, not
# installed (it conflicts with rsyslog). Both test trees use it.
SYSLOG_NG_DIR ?= $(abspath $(BUILD))/syslog-ng
# The trees make builds and tests: warnings are errors (Debian's g++ 12, as CI checks it).
# make bench, a plain cmake configure and a packager's build leave warnings warnings.
TREE_FLAGS := -DKLOGD_WERROR=ON -DKLOGD_TEST_SYSLOG_NG_DIR=$(SYSLOG_NG_DIR)

# Debian packages: build, tests (qemu guest, real syslog daemons, Prometheus, man page lint),
# benchmarks.
DEPS := cmake g++ make pkg-config libboost-dev libboost-program-options-dev catch2 libssl-dev \
        mandoc qemu-system-x86 busybox-static cpio xz-utils kmod rsyslog rsyslog-openssl rsyslog-relp \
        logrotate openssl util-linux procps systemd linux-headers-6.1.0-56-amd64 \
        prometheus prometheus-node-exporter

.PHONY: all deps test-deps build build-asan run test bench clean deb deb-deps deb-package
all: build

# Install what is missing (apt-get update once, only when something is missing).
deps:
	@missing=$$(for p in $(DEPS); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; \
	  done); \
	if [ -n "$$missing" ]; then \
	  echo "installing:" $$missing; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

# What the tests need beyond DEPS: syslog-ng, downloaded and unpacked once (checked every time),
# and the package tools (a test builds, installs, upgrades and purges the package).
test-deps: deps deb-deps
	tests/support/unpack-syslog-ng.sh $(SYSLOG_NG_DIR)

# Configured on every call (it takes a moment), so a tree configured before gets these flags too.
build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(TREE_FLAGS)
	cmake --build $(BUILD) -j $(JOBS)

build-asan: deps
	cmake -S . -B $(BUILD_ASAN) -DCMAKE_BUILD_TYPE=Debug -DKLOGD_SANITIZE=ON $(TREE_FLAGS)
	cmake --build $(BUILD_ASAN) -j $(JOBS)

# The whole kernel log, then every new record; no pid file or cursor of the system's is used.
run: build
	$(BUILD)/klogd/klogd -n -f - --pidfile=$(BUILD)/klogd.pid --state-file=none

test: test-deps build build-asan
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) $(CTEST_ARGS)
	cd $(BUILD_ASAN) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --output-on-failure -j $(JOBS) -LE vm $(CTEST_ARGS)

bench: deps
	cmake -S . -B $(BUILD_BENCH) -DCMAKE_BUILD_TYPE=Release -DKLOGD_WERROR=OFF
	cmake --build $(BUILD_BENCH) -j $(JOBS)
	cmake --build $(BUILD_BENCH) --target bench

# The Debian package: debian/control's Build-Depends (dpkg-buildpackage checks the two agree)
# and the packaging tools. Installed like DEPS.
DEB_DEPS := cmake g++ libboost-dev libboost-program-options-dev libssl-dev \
            build-essential debhelper dpkg-dev fakeroot lintian
deb-deps:
	@$(MAKE) --no-print-directory deps DEPS="$(DEB_DEPS)"

# Built in a copy of the tree (the files git knows, uncommitted changes included), so the
# source tree stays clean: $(BUILD_DEB)/src, whose object directory is kept, so a second
# make deb only rebuilds what changed. The .deb, .buildinfo and .changes land in $(BUILD_DEB)/.
# lintian fails on any error or warning not overridden (with a reason) in debian/.
deb: deb-deps
	mkdir -p $(BUILD_DEB)/src
	find $(BUILD_DEB)/src -mindepth 1 -maxdepth 1 ! -name 'obj-*' -exec rm -rf {} +
	rm -f $(BUILD_DEB)/klogd_* $(BUILD_DEB)/klogd-dbgsym_*
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then \
	  git ls-files -z --cached --others --exclude-standard; \
	else \
	  find . \( -name .git -o -path './build*' \) -prune -o ! -type d -print0; \
	fi | tar --null --ignore-failed-read -T - -cf - | tar -C $(BUILD_DEB)/src -xf -
	nice -n 10 $(MAKE) --no-print-directory -C $(BUILD_DEB)/src deb-package \
	  DEB_DATE="$$(git log -1 --format=%aD 2>/dev/null || date -R)"
	lintian --fail-on error,warning $(BUILD_DEB)/klogd_*.changes

# Run by make deb inside the copy: debian/changelog gets the version of CMakeLists.txt's
# project() (the one place it is written; klogd -v prints the same), then dpkg-buildpackage.
DEB_DATE ?= $(shell date -R)
deb-package:
	test -f debian/rules -a -f CMakeLists.txt
	version=$$(sed -n 's/^project(klogd VERSION \([0-9.]*\) .*/\1/p' CMakeLists.txt); \
	maintainer=$$(sed -n 's/^Maintainer: //p' debian/control); \
	test -n "$$version" -a -n "$$maintainer"; \
	printf 'klogd (%s) unstable; urgency=medium\n\n  * klogd %s, built from its source tree by make deb.\n\n -- %s  %s\n' \
	  "$$version" "$$version" "$$maintainer" "$(DEB_DATE)" > debian/changelog
	rm -f debian/debhelper-build-stamp
	dpkg-buildpackage -b -nc -us -uc -J$(JOBS)

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_BENCH) $(BUILD_DEB)
