// SPDX-License-Identifier: GPL-2.0
/*
 * klogd_test_mod - a tiny module for klogd's qemu guest tests (tests/vm).
 *
 * On load it prints raw addresses the way kernels without KALLSYMS print them
 * ("[<%px>]"), one of a function in this module and one of a core kernel
 * symbol, followed by the kernel's own symbolization of the same addresses
 * ("%pS") so a test has the ground truth to compare klogd's resolution with:
 *
 *   klogd_test_mod: raw mod [<ffffffffc0a01000>] core [<ffffffff8d0f1e30>]
 *   klogd_test_mod: sym mod klogd_test_target+0x0/0x10 [klogd_test_mod] core _printk+0x0/0x58
 *
 * With oops=1 its init writes through a NULL pointer: a real Oops whose
 * backtrace holds frames of this module (insmod is killed; the kernel lives on
 * unless panic_on_oops is set). Just before, it prints the raw addresses of the
 * crashing function and of its caller (both in this module's init):
 *
 *   klogd_test_mod: about to oops in [<ffffffffc0a01010>] called from [<ffffffffc0a05047>]
 *
 * The module stays loaded otherwise so that its
 * symbols are in /proc/kallsyms for the daemon's SIGUSR1 reload.
 */
#include <linux/init.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/printk.h>

static int oops;
module_param(oops, int, 0444);
MODULE_PARM_DESC(oops, "1: write through a NULL pointer in module init (real Oops)");

/* A function with a stable, non-inlined address inside this module. */
noinline int klogd_test_target(int x)
{
	return x * 3 + 1;
}
EXPORT_SYMBOL_GPL(klogd_test_target);

static noinline void klogd_test_crash(void)
{
	int *volatile p = NULL;

	pr_info("klogd_test_mod: about to oops in [<%px>] called from [<%px>]\n",
		(void *)klogd_test_crash, __builtin_return_address(0));
	*p = klogd_test_target(1);
}

static int __init klogd_test_init(void)
{
	void *mod_addr = (void *)klogd_test_target;
	void *core_addr = (void *)_printk;

	pr_info("klogd_test_mod: raw mod [<%px>] core [<%px>]\n", mod_addr, core_addr);
	pr_info("klogd_test_mod: sym mod %pS core %pS\n", mod_addr, core_addr);
	if (oops)
		klogd_test_crash();
	return 0;
}

static void __exit klogd_test_exit(void)
{
	pr_info("klogd_test_mod: unloaded\n");
}

module_init(klogd_test_init);
module_exit(klogd_test_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("klogd qemu guest test module: raw addresses and an Oops on request");
