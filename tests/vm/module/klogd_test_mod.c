// SPDX-License-Identifier: GPL-2.0
/*
 * klogd_test_mod - a tiny module for klogd's qemu guest tests (tests/vm).
 *
 * It prints raw addresses the way kernels without KALLSYMS print them
 * ("[<%px>]"), of a function in this module and of a core kernel symbol,
 * each time followed by the kernel's own symbolization of the same addresses
 * ("%pS"), so a test has the ground truth to compare klogd's resolution with:
 *
 *   klogd_test_mod: raw#1 mod [<ffffffffc0a01000>] core [<ffffffff8d0f1e30>]
 *   klogd_test_mod: sym#1 mod klogd_test_target+0x0/0xe [klogd_test_mod] core _printk+0x0/0x83
 *
 * #1 is printed on load; writing anything to
 * /sys/module/klogd_test_mod/parameters/print prints #2, #3, ... (for tests that
 * reload symbols in the daemon after the module was loaded).
 *
 * With oops=1 its init writes through a NULL pointer: a real Oops whose
 * backtrace holds frames of this module (insmod is killed; the kernel lives on
 * unless panic_on_oops is set). Just before, it prints the raw addresses of the
 * crashing function and of its caller (the module's init):
 *
 *   klogd_test_mod: about to oops in [<ffffffffc0a01010>] called from [<ffffffffc0a05047>]
 *   klogd_test_mod: about to oops in klogd_test_crash+0x0/0x44 [klogd_test_mod] called from ...
 *
 * After the Oops the module stays (state "coming", symbols in /proc/kallsyms) and
 * the print parameter still works. Without oops=1 the module stays loaded.
 *
 * /proc/klogd_test takes commands for the incident tests (each a real kernel report):
 *   oops      the same NULL write from the writer's context (the writing process is
 *             killed; the kernel lives on): the same Oops every time
 *   warn      WARN_ON(1) in klogd_test_warn (the kernel keeps running)
 *   hang N    a kernel thread "klogd_hung" sleeps uninterruptibly for N seconds (a hung
 *             task once N exceeds kernel.hung_task_timeout_secs)
 */
#include <linux/atomic.h>
#include <linux/bug.h>
#include <linux/init.h>
#include <linux/kernel.h>
#include <linux/kthread.h>
#include <linux/proc_fs.h>
#include <linux/sched.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/printk.h>

static int oops;
module_param(oops, int, 0444);
MODULE_PARM_DESC(oops, "1: write through a NULL pointer in module init (real Oops)");

static atomic_t print_count = ATOMIC_INIT(0);

/* A function with a stable, non-inlined address inside this module. */
noinline int klogd_test_target(int x)
{
	return x * 3 + 1;
}
EXPORT_SYMBOL_GPL(klogd_test_target);

static void klogd_test_print(void)
{
	void *mod_addr = (void *)klogd_test_target;
	void *core_addr = (void *)_printk;
	int n = atomic_inc_return(&print_count);

	pr_info("klogd_test_mod: raw#%d mod [<%px>] core [<%px>]\n", n, mod_addr, core_addr);
	pr_info("klogd_test_mod: sym#%d mod %pS core %pS\n", n, mod_addr, core_addr);
}

static int print_set(const char *val, const struct kernel_param *kp)
{
	klogd_test_print();
	return 0;
}

static const struct kernel_param_ops print_ops = {
	.set = print_set,
};
module_param_cb(print, &print_ops, NULL, 0200);
MODULE_PARM_DESC(print, "write anything: print the raw#N/sym#N lines again");

static noinline void klogd_test_crash(void)
{
	int *volatile p = NULL;

	pr_info("klogd_test_mod: about to oops in [<%px>] called from [<%px>]\n",
		(void *)klogd_test_crash, __builtin_return_address(0));
	pr_info("klogd_test_mod: about to oops in %pS called from %pS\n",
		(void *)klogd_test_crash, __builtin_return_address(0));
	*p = klogd_test_target(1);
}

static noinline void klogd_test_warn(void)
{
	WARN_ON(1);
}

static int klogd_hung_thread(void *data)
{
	schedule_timeout_uninterruptible((unsigned long)data * HZ);
	return 0;
}

static ssize_t klogd_test_write(struct file *file, const char __user *ubuf, size_t len,
				loff_t *off)
{
	char buf[32];
	unsigned long secs;

	if (len >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, len))
		return -EFAULT;
	buf[len] = 0;
	strim(buf);
	if (!strcmp(buf, "oops")) {
		klogd_test_crash();
	} else if (!strcmp(buf, "warn")) {
		klogd_test_warn();
	} else if (sscanf(buf, "hang %lu", &secs) == 1) {
		struct task_struct *t = kthread_run(klogd_hung_thread, (void *)secs, "klogd_hung");

		if (IS_ERR(t))
			return PTR_ERR(t);
	} else {
		return -EINVAL;
	}
	return len;
}

static const struct proc_ops klogd_test_proc_ops = {
	.proc_write = klogd_test_write,
};

static int __init klogd_test_init(void)
{
	proc_create("klogd_test", 0200, NULL, &klogd_test_proc_ops);
	klogd_test_print();
	if (oops)
		klogd_test_crash();
	return 0;
}

static void __exit klogd_test_exit(void)
{
	remove_proc_entry("klogd_test", NULL);
	pr_info("klogd_test_mod: unloaded\n");
}

module_init(klogd_test_init);
module_exit(klogd_test_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("klogd qemu guest test module: raw addresses and an Oops on request");
