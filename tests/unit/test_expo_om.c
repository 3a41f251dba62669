// SPDX-License-Identifier: BSD-2-Clause
#include <string.h>
#include <criterion/criterion.h>
#include "expo.h"
#include "expo_om.h"

static void expect_family(const char *ns, const char *name, const char *help, const char *type,
			  const char *want)
{
	struct strbuf sb = STRBUF_INIT;

	cr_assert_eq(expo_om__family(&sb, ns, name, help, type), 0);
	cr_expect_str_eq(sb.buf, want);
	strbuf__free(&sb);
}

Test(expo_om, counter_family_drops_total)
{
	expect_family("ccproxy", "requests_total", "Total number of requests processed", "counter",
		      "# TYPE ccproxy_requests counter\n"
		      "# HELP ccproxy_requests Total number of requests processed\n");
	expect_family("ccproxy", "cost_usd_total", "Total cost in USD", "counter",
		      "# TYPE ccproxy_cost_usd counter\n"
		      "# UNIT ccproxy_cost_usd usd\n"
		      "# HELP ccproxy_cost_usd Total cost in USD\n");
	expect_family("ccproxy_exporter", "bpf_program_run_seconds_total", "x", "counter",
		      "# TYPE ccproxy_exporter_bpf_program_run_seconds counter\n"
		      "# UNIT ccproxy_exporter_bpf_program_run_seconds seconds\n"
		      "# HELP ccproxy_exporter_bpf_program_run_seconds x\n");
}

/* A counter without _total cannot be an OpenMetrics counter with the same samples. */
Test(expo_om, counter_without_total_is_unknown)
{
	expect_family(NULL, "hits", "h", "counter", "# TYPE hits unknown\n# HELP hits h\n");
	expect_family("", "odd", "h", "untyped", "# TYPE odd unknown\n# HELP odd h\n");
}

Test(expo_om, gauges_and_histograms)
{
	expect_family("ccproxy", "pool_clients_total", "Total number of clients in the pool",
		      "gauge",
		      "# TYPE ccproxy_pool_clients_total gauge\n"
		      "# HELP ccproxy_pool_clients_total Total number of clients in the pool\n");
	expect_family("ccproxy", "response_duration_seconds", "Response time in seconds",
		      "histogram",
		      "# TYPE ccproxy_response_duration_seconds histogram\n"
		      "# UNIT ccproxy_response_duration_seconds seconds\n"
		      "# HELP ccproxy_response_duration_seconds Response time in seconds\n");
	expect_family(NULL, "up", "Service is up and running", "gauge",
		      "# TYPE up gauge\n# HELP up Service is up and running\n");
}

Test(expo_om, help_escaping)
{
	expect_family(NULL, "g", "a \\ b \"c\"\nd", "gauge",
		      "# TYPE g gauge\n# HELP g a \\\\ b \\\"c\\\"\\nd\n");
	expect_family(NULL, "g", NULL, "gauge", "# TYPE g gauge\n# HELP g \n");
}

Test(expo_om, units)
{
	cr_expect_str_eq(expo_om__unit("a_seconds"), "seconds");
	cr_expect_str_eq(expo_om__unit("a_bytes"), "bytes");
	cr_expect_null(expo_om__unit("seconds"));
	cr_expect_null(expo_om__unit("a_microseconds"));
	cr_expect_null(expo_om__unit("a_seconds_total"));
}

Test(expo_om, eof)
{
	struct strbuf sb = STRBUF_INIT;

	cr_assert_eq(expo_om__eof(&sb), 0);
	cr_expect_str_eq(sb.buf, "# EOF\n");
	strbuf__free(&sb);
}

Test(expo_om, counter_family)
{
	size_t n;

	cr_expect(expo_om__counter_family("requests_total", &n));
	cr_expect_eq(n, strlen("requests"));
	cr_expect_not(expo_om__counter_family("hits", &n));
	cr_expect_eq(n, strlen("hits"));
	cr_expect_not(expo_om__counter_family("_tota", &n));
}

static void expect_created(uint64_t ns, const char *want)
{
	char buf[EXPO_NUMBER_MAX];

	cr_expect_eq(expo_om__format_created(buf, sizeof(buf), ns), strlen(want));
	cr_expect_str_eq(buf, want);
}

/* Exact decimal seconds from the nanoseconds: no double rounding. */
Test(expo_om, created_values)
{
	char small[6];

	expect_created(1700000000123456789ull, "1700000000.123456789");
	expect_created(1700000000000000000ull, "1700000000.0");
	expect_created(1700000000500000000ull, "1700000000.5");
	expect_created(1700000000000000001ull, "1700000000.000000001");
	expect_created(1, "0.000000001");
	expect_created(UINT64_MAX, "18446744073.709551615");
	/* Like snprintf: cut to the buffer, the whole length returned. */
	cr_expect_eq(expo_om__format_created(small, sizeof(small), 1700000000500000000ull), 12);
	cr_expect_str_eq(small, "17000");
}
