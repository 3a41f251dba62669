// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <criterion/criterion.h>
#include "pusher.h"

static const struct sched_opts opts = {
	.interval = 10,
	.backoff_max = PUSHER_BACKOFF_MAX,
	.jitter = PUSHER_JITTER,
	.threshold = 5,
	.reset = 60,
};

#define NO_JITTER 0.5

Test(pusher_sched, backoff_doubles_and_caps)
{
	struct sched_opts o = opts;

	cr_expect_eq(pusher__backoff(&o, 1), 20);
	cr_expect_eq(pusher__backoff(&o, 2), 40);
	cr_expect_eq(pusher__backoff(&o, 4), 160);
	cr_expect_eq(pusher__backoff(&o, 5), 300);
	cr_expect_eq(pusher__backoff(&o, 1000), 300); /* no overflow on long outages */
	o.interval = 600;			      /* the cap holds above the interval too */
	cr_expect_eq(pusher__backoff(&o, 1), 300);
}

Test(pusher_sched, first_push_at_once_then_every_interval)
{
	struct sched s;

	pusher__sched_init(&s, &opts, 100);
	cr_expect(!pusher__sched_due(&s, 99.9));
	cr_expect(pusher__sched_due(&s, 100));
	pusher__sched_done(&s, true, 101, 0.99);
	cr_expect_eq(s.next, 111, "success waits the interval, without jitter");
	cr_expect(!pusher__sched_due(&s, 110.9));
	cr_expect(pusher__sched_due(&s, 111));
	cr_expect_eq(s.state, BREAKER_CLOSED);
}

Test(pusher_sched, failures_back_off_with_jitter)
{
	struct sched s;

	pusher__sched_init(&s, &opts, 0);
	pusher__sched_done(&s, false, 0, NO_JITTER);
	cr_expect_float_eq(s.next, 20, 1e-9);
	pusher__sched_done(&s, false, 20, 0);
	cr_expect_float_eq(s.next, 20 + 40 * 0.875, 1e-9);
	pusher__sched_done(&s, false, 100, 0.999999);
	cr_expect_float_eq(s.next, 100 + 80 * 1.125, 1e-3);
	cr_expect_eq(s.failures, 3);
	cr_expect_eq(s.state, BREAKER_CLOSED);
	pusher__sched_done(&s, true, 200, NO_JITTER);
	cr_expect_eq(s.failures, 0);
	cr_expect_eq(s.next, 210);
}

Test(pusher_sched, jitter_stays_within_an_eighth)
{
	struct sched s;
	int i;

	for (i = 0; i < 100; i++) {
		double u = i / 100.0;

		pusher__sched_init(&s, &opts, 0);
		pusher__sched_done(&s, false, 0, u);
		cr_expect(s.next >= 20 * 0.875 && s.next < 20 * 1.125, "u=%g next=%g", u, s.next);
	}
}

Test(pusher_sched, breaker_opens_half_opens_and_closes)
{
	struct sched s;
	unsigned int i;
	double t = 0;

	pusher__sched_init(&s, &opts, 0);
	for (i = 0; i < opts.threshold; i++) {
		cr_assert(pusher__sched_due(&s, s.next));
		t = s.next;
		pusher__sched_done(&s, false, t, NO_JITTER);
		cr_expect_eq(s.state, i + 1 < opts.threshold ? BREAKER_CLOSED : BREAKER_OPEN,
			     "after %u failures", i + 1);
	}
	cr_expect_eq(s.next, t + 60, "half-open 60 s after the last failure");
	cr_expect(!pusher__sched_due(&s, t + 59.9));
	cr_expect_eq(s.state, BREAKER_OPEN, "asking early does not half-open it");
	cr_expect(pusher__sched_due(&s, t + 60));
	cr_expect_eq(s.state, BREAKER_HALF_OPEN);

	/* a failed trial reopens at once */
	pusher__sched_done(&s, false, t + 61, NO_JITTER);
	cr_expect_eq(s.state, BREAKER_OPEN);
	cr_expect_eq(s.next, t + 121);

	/* a good trial closes it and the interval is back */
	cr_expect(pusher__sched_due(&s, t + 121));
	pusher__sched_done(&s, true, t + 122, NO_JITTER);
	cr_expect_eq(s.state, BREAKER_CLOSED);
	cr_expect_eq(s.failures, 0);
	cr_expect_eq(s.next, t + 132);

	/* and the count starts again: one failure does not reopen it */
	pusher__sched_done(&s, false, t + 132, NO_JITTER);
	cr_expect_eq(s.state, BREAKER_CLOSED);
}

Test(pusher_sched, threshold_one_opens_on_first_failure)
{
	struct sched_opts o = opts;
	struct sched s;

	o.threshold = 0; /* treated as 1 */
	pusher__sched_init(&s, &o, 0);
	pusher__sched_done(&s, false, 5, NO_JITTER);
	cr_expect_eq(s.state, BREAKER_OPEN);
	cr_expect_eq(s.next, 65);
}

/* ---- the thread, against a port where nothing listens ----------------------------------- */

static atomic_int renders;

static int render_fixed_body(void *ctx, struct strbuf *out)
{
	(void)ctx;
	atomic_fetch_add(&renders, 1);
	return strbuf__puts(out, "# TYPE x gauge\nx 1.0\n");
}

static void push_config(struct config *cfg)
{
	config__defaults(cfg);
	cfg->pushgateway_enabled = true;
	snprintf(cfg->pushgateway_url, sizeof(cfg->pushgateway_url), "http://127.0.0.1:1");
	snprintf(cfg->pushgateway_instance, sizeof(cfg->pushgateway_instance), "test");
	cfg->pushgateway_push_interval = 1;
	cfg->pushgateway_breaker_threshold = 2;
	cfg->pushgateway_breaker_reset = 3600;
}

/* The value of the sample line that starts with line_start (never a HELP or TYPE line). */
static double sample(const char *text, const char *line_start)
{
	const char *p;

	for (p = text; p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, line_start, strlen(line_start)))
			return strtod(p + strlen(line_start), NULL);
	cr_assert_fail("no %s in\n%s", line_start, text);
	return NAN;
}

Test(pusher, render_self_null_writes_nothing)
{
	struct strbuf sb = STRBUF_INIT;

	cr_expect_eq(pusher__render_self(NULL, &sb), 0);
	cr_expect_eq(sb.len, 0);
	pusher__stop(NULL);
	pusher__free(NULL);
}

Test(pusher, missing_password_file)
{
	char why[256];
	struct config cfg;

	push_config(&cfg);
	snprintf(cfg.pushgateway_username, sizeof(cfg.pushgateway_username), "u");
	snprintf(cfg.pushgateway_password_file, sizeof(cfg.pushgateway_password_file),
		 "/nonexistent/pw");
	errno = 0;
	cr_expect_null(pusher__new(&cfg, render_fixed_body, NULL, why, sizeof(why)));
	cr_expect_eq(errno, ENOENT);
	cr_expect(strstr(why, "--pushgateway-password-file /nonexistent/pw"), "%s", why);
}

/* open(2) on a FIFO blocks until a writer comes: both files are refused at once instead. */
Test(pusher, fifo_files_are_refused)
{
	char why[256], fifo[] = "/tmp/test_pusher_fifo.XXXXXX";
	struct config cfg;
	int fd = mkstemp(fifo);

	cr_assert_geq(fd, 0);
	close(fd);
	unlink(fifo);
	cr_assert_eq(mkfifo(fifo, 0600), 0);
	push_config(&cfg);
	snprintf(cfg.pushgateway_ca_file, sizeof(cfg.pushgateway_ca_file), "%s", fifo);
	errno = 0;
	cr_expect_null(pusher__new(&cfg, render_fixed_body, NULL, why, sizeof(why)));
	cr_expect_eq(errno, EINVAL);
	cr_expect(strstr(why, "--pushgateway-ca-file") && strstr(why, "not a regular file"), "%s",
		  why);
	push_config(&cfg);
	snprintf(cfg.pushgateway_username, sizeof(cfg.pushgateway_username), "u");
	snprintf(cfg.pushgateway_password_file, sizeof(cfg.pushgateway_password_file), "%s", fifo);
	cr_expect_null(pusher__new(&cfg, render_fixed_body, NULL, why, sizeof(why)));
	cr_expect(strstr(why, "--pushgateway-password-file") && strstr(why, "not a regular file"),
		  "%s", why);
	unlink(fifo);
}

Test(pusher, failing_gateway_opens_the_breaker, .timeout = 30)
{
	struct strbuf sb = STRBUF_INIT;
	char why[256] = "";
	struct config cfg;
	struct pusher *p;
	int i;

	push_config(&cfg);
	p = pusher__new(&cfg, render_fixed_body, NULL, why, sizeof(why));
	cr_assert_not_null(p, "%s", why);
	cr_assert_eq(pusher__render_self(p, &sb), 0);
	cr_expect_eq(sample(sb.buf, "ccproxy_exporter_push_attempts_total "), 0);
	cr_expect_eq(sample(sb.buf, "ccproxy_exporter_push_breaker_state{state=\"closed\"} "), 1);
	cr_assert_eq(pusher__start(p), 0);
	cr_expect_eq(pusher__start(p), -EALREADY);
	/* attempt 1 at once, attempt 2 after 2 s of backoff: then open for an hour */
	for (i = 0; i < 100; i++) {
		strbuf__reset(&sb);
		pusher__render_self(p, &sb);
		if (sample(sb.buf, "ccproxy_exporter_push_breaker_state{state=\"open\"} ") == 1)
			break;
		usleep(100 * 1000);
	}
	cr_expect_eq(sample(sb.buf, "ccproxy_exporter_push_breaker_state{state=\"open\"} "), 1,
		     "%s", sb.buf);
	cr_expect_eq(sample(sb.buf, "ccproxy_exporter_push_attempts_total "), 2);
	cr_expect_eq(sample(sb.buf, "ccproxy_exporter_push_failures_total "), 2);
	cr_expect_eq(sample(sb.buf, "ccproxy_exporter_push_last_success_timestamp_seconds "), 0);
	/* the stop makes one last attempt, breaker or not */
	pusher__stop(p);
	pusher__stop(p);
	strbuf__reset(&sb);
	pusher__render_self(p, &sb);
	cr_expect_eq(sample(sb.buf, "ccproxy_exporter_push_attempts_total "), 3);
	cr_expect_eq(atomic_load(&renders), 3);
	pusher__free(p);
	strbuf__free(&sb);
}
