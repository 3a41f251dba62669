// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include "proc.h"

#define ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

struct cgroup_case {
	char text[512];
	char want[65];
};

static struct cgroup_case cgroup_cases[] = {
	{"0::/system.slice/docker-" ID ".scope\n", ID},
	{"12:memory:/docker/" ID "\n", ID},
	{"0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice/"
	 "cri-containerd-" ID ".scope\n",
	 ID},
	{"0::/kubepods/besteffort/pod1234/crio-" ID "\n", ID},
	{"0::/machine.slice/libpod-" ID ".scope/container\n", ID},
	{"0::/user.slice/user-1000.slice/session-2.scope\n", ""},
	{"4:memory:/process_api/b456ce752dd3b2f15ea1bf2a3e7600e9\n", ""},
	/* 65 hex digits, or upper case: not an id. */
	{"0::/docker/" ID "0\n", ""},
	{"0::/docker/0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef\n", ""},
	{"", ""},
};

ParameterizedTestParameters(proc, container_id)
{
	return cr_make_param_array(struct cgroup_case, cgroup_cases,
				   sizeof(cgroup_cases) / sizeof(cgroup_cases[0]));
}

ParameterizedTest(struct cgroup_case *c, proc, container_id)
{
	char id[PROC_CONTAINER_ID_MAX];

	proc__parse_container_id(c->text, id, sizeof(id));
	cr_expect_str_eq(id, c->want, "%s", c->text);
}

Test(proc, container_id_small_buffer)
{
	char id[8] = "x";

	proc__parse_container_id("0::/docker/" ID "\n", id, sizeof(id));
	cr_expect_str_eq(id, "");
}

Test(proc, start_time_with_hostile_comm)
{
	/* comm may hold spaces and ')': fields restart after the last ')'. */
	const char *stat = "42 (a) b) c (d)) S 1 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 "
			   "987654 1000 10 18446744073709551615";

	cr_expect_eq(proc__parse_start_time(stat), 987654ULL);
	cr_expect_eq(proc__parse_start_time("42 (x) S 1"), 0ULL);
	cr_expect_eq(proc__parse_start_time("no parenthesis"), 0ULL);
	cr_expect_eq(proc__parse_start_time(""), 0ULL);
}

Test(proc, start_time_of_self)
{
	cr_expect_gt(proc__start_time(getpid()), 0ULL);
	cr_expect_eq(proc__start_time(0x3fffff), 0ULL);
}

Test(proc, maps_lines)
{
	char exec[] = "7f00-7f10 r-xp 00001000 fd:01 1234 /usr/lib/x86_64-linux-gnu/libx.so\n";
	char data[] = "7f00-7f10 r--p 00000000 fd:01 1234 /usr/lib/x86_64-linux-gnu/libx.so\n";
	char anon[] = "7f00-7f10 r-xp 00000000 00:00 0 \n";
	char deleted[] = "7f00-7f10 r-xp 00000000 fd:01 99 /tmp/old (deleted)\n";
	char spaces[] = "7f00-7f10 r-xp 00000000 08:02 7 /opt/my proxy/bin\n";
	char junk[] = "garbage\n";
	struct proc_mapping m;

	cr_assert_eq(proc__parse_maps_line(exec, &m), 0);
	cr_expect_eq(m.dev, makedev(0xfd, 0x01));
	cr_expect_eq(m.ino, 1234);
	cr_expect_str_eq(m.path, "/usr/lib/x86_64-linux-gnu/libx.so");
	cr_expect_neq(proc__parse_maps_line(data, &m), 0);
	cr_expect_neq(proc__parse_maps_line(anon, &m), 0);
	cr_expect_neq(proc__parse_maps_line(deleted, &m), 0);
	cr_expect_neq(proc__parse_maps_line(junk, &m), 0);
	cr_assert_eq(proc__parse_maps_line(spaces, &m), 0);
	cr_expect_str_eq(m.path, "/opt/my proxy/bin");
}

static int count_mapping(void *ctx, const struct proc_mapping *m)
{
	(void)m;
	(*(int *)ctx)++;
	return 0;
}

Test(proc, each_mapping_of_self_and_of_nobody)
{
	int n = 0;

	cr_expect_eq(proc__each_mapping(getpid(), count_mapping, &n), 0);
	cr_expect_gt(n, 0);
	cr_expect_eq(proc__each_mapping(0x3fffff, count_mapping, &n), -ESRCH);
}
