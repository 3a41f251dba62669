// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <criterion/criterion.h>
#include "conns.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Seconds until the other end of sp[1] was shut down (EOF on sp[0]), -1 after max. */
static double shut_after(int fd, double t0, double max)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	char c;

	while (now_s() - t0 < max) {
		if (poll(&p, 1, 20) > 0 && recv(fd, &c, 1, MSG_DONTWAIT) == 0)
			return now_s() - t0;
	}
	return -1;
}

Test(conns, bad_arguments)
{
	errno = 0;
	cr_expect_null(conns__new(0, 1000));
	cr_expect_eq(errno, EINVAL);
	cr_expect_null(conns__new(1, 0));
	conns__free(NULL);
}

Test(conns, limit_refuses_and_frees, .timeout = 10)
{
	struct conns *cs = conns__new(2, 10000);
	struct conn c[3];
	int sp[3][2], i;

	cr_assert_not_null(cs);
	for (i = 0; i < 3; i++)
		cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sp[i]), 0);
	cr_expect_eq(conns__open(cs, &c[0], sp[0][1]), 0);
	cr_expect_eq(conns__open(cs, &c[1], sp[1][1]), 0);
	cr_expect_eq(conns__open(cs, &c[2], sp[2][1]), -EBUSY);
	cr_expect_eq(conns__count(cs), 2);
	/* The refused one is shut down at once. */
	cr_expect_geq(shut_after(sp[2][0], now_s(), 1), 0);
	conns__close(cs, &c[2]);
	cr_expect_eq(conns__count(cs), 2);
	conns__close(cs, &c[0]);
	cr_expect_eq(conns__count(cs), 1);
	cr_expect_eq(conns__open(cs, &c[2], sp[2][1]), 0);
	conns__close(cs, &c[1]);
	conns__close(cs, &c[2]);
	cr_expect_eq(conns__count(cs), 0);
	conns__free(cs);
	for (i = 0; i < 3; i++) {
		close(sp[i][0]);
		close(sp[i][1]);
	}
}

Test(conns, deadline_shuts_down_until_headers_are_done, .timeout = 10)
{
	struct conns *cs = conns__new(4, 300);
	struct conn late, done;
	int a[2], b[2];
	double t0, took;

	cr_assert_not_null(cs);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, a), 0);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, b), 0);
	t0 = now_s();
	cr_assert_eq(conns__open(cs, &late, a[1]), 0);
	cr_assert_eq(conns__open(cs, &done, b[1]), 0);
	conns__headers_done(cs, &done);
	took = shut_after(a[0], t0, 2);
	cr_expect(took >= 0.25 && took < 0.6, "shut down after %.2f s", took);
	/* No deadline while a request is served... */
	cr_expect_lt(shut_after(b[0], now_s(), 0.5), 0);
	/* ...and a fresh one for the next request. */
	t0 = now_s();
	conns__request_done(cs, &done);
	took = shut_after(b[0], t0, 2);
	cr_expect(took >= 0.25 && took < 0.6, "shut down after %.2f s", took);
	conns__close(cs, &late);
	conns__close(cs, &done);
	conns__free(cs);
	close(a[0]);
	close(a[1]);
	close(b[0]);
	close(b[1]);
}
