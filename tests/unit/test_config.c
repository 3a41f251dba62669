// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include "config.h"

/*
 * Parameters are copied into each test's process by value, so cases hold char arrays: a
 * pointer to a string literal would not survive the copy.
 */
#define NITEMS 4
#define SLEN   96

struct ok_case {
	char items[NITEMS][SLEN]; /* flags, or NAME=VALUE variables */
	int n;
	char field[32];
	char want[160];
};

struct err_case {
	char items[NITEMS][SLEN];
	int n;
	char want[160]; /* a substring of the message */
};

static const char *const fields[] = {
	"enabled",
	"namespace",
	"metrics_endpoint_enabled",
	"pushgateway_enabled",
	"pushgateway_url",
	"pushgateway_job",
	"pushgateway_push_interval",
	"collect_request_metrics",
	"collect_token_metrics",
	"collect_cost_metrics",
	"collect_error_metrics",
	"collect_pool_metrics",
	"histogram_buckets",
	"collect_latency_metrics",
	"time_to_first_token_buckets",
	"provider_duration_buckets",
	"proxy_overhead_buckets",
	"time_per_output_token_buckets",
	"limit_provider",
	"limit_native",
	"pids",
	"listen_address",
	"telemetry_path",
	"log_level",
	"limit_requests",
	"limit_usage",
	"limit_errors",
	"limit_inflight",
	"limit_inflight_per_process",
	"web_config_file",
	"web_max_connections",
	"web_timeout",
	"web_formats",
	"web_openmetrics_created_samples",
	"native_histograms",
	"bpf_pin_reset",
	"nh_schema",
	"nh_zero_threshold",
	"nh_max_buckets",
	"push_labels",
	"pushgateway_instance",
	"pushgateway_method",
	"pushgateway_delete_on_shutdown",
	"pushgateway_ca_file",
	"pushgateway_username",
	"pushgateway_password_file",
	"pushgateway_timeout",
	"pushgateway_connect_timeout",
	"pushgateway_breaker_threshold",
	"pushgateway_breaker_reset",
};

static void join_doubles(char *buf, size_t size, const double *v, size_t n)
{
	size_t i, len = 0;

	buf[0] = '\0';
	for (i = 0; i < n && len < size; i++)
		len += snprintf(buf + len, size - len, "%s%g", i ? "," : "", v[i]);
}

/* One field of cfg as text, so tables can name a field and its expected value. */
static void field_str(const struct config *c, const char *f, char *buf, size_t size)
{
	size_t i, len = 0;

#define B(name)                                                        \
	if (!strcmp(f, #name)) {                                       \
		snprintf(buf, size, "%s", c->name ? "true" : "false"); \
		return;                                                \
	}
#define S(name, member)                               \
	if (!strcmp(f, name)) {                       \
		snprintf(buf, size, "%s", c->member); \
		return;                               \
	}
#define U(name)                                                   \
	if (!strcmp(f, #name)) {                                  \
		snprintf(buf, size, "%u", (unsigned int)c->name); \
		return;                                           \
	}
	B(enabled);
	S("namespace", namespace_);
	B(metrics_endpoint_enabled);
	B(pushgateway_enabled);
	S("pushgateway_url", pushgateway_url);
	S("pushgateway_job", pushgateway_job);
	U(pushgateway_push_interval);
	B(collect_request_metrics);
	B(collect_token_metrics);
	B(collect_cost_metrics);
	B(collect_error_metrics);
	B(collect_pool_metrics);
	S("listen_address", listen_address);
	S("telemetry_path", telemetry_path);
	U(log_level);
	U(limit_requests);
	U(limit_usage);
	U(limit_errors);
	U(limit_inflight);
	U(limit_inflight_per_process);
	B(collect_latency_metrics);
	U(limit_provider);
	U(limit_native);
	S("web_config_file", web_config_file);
	U(web_max_connections);
	U(web_timeout);
	S("web_formats", web_formats);
	B(web_openmetrics_created_samples);
	B(native_histograms);
	B(bpf_pin_reset);
	U(nh_schema);
	S("nh_zero_threshold", nh_zero_threshold);
	U(nh_max_buckets);
	S("pushgateway_instance", pushgateway_instance);
	S("pushgateway_method", pushgateway_method);
	B(pushgateway_delete_on_shutdown);
	S("pushgateway_ca_file", pushgateway_ca_file);
	S("pushgateway_username", pushgateway_username);
	S("pushgateway_password_file", pushgateway_password_file);
	U(pushgateway_timeout);
	U(pushgateway_connect_timeout);
	U(pushgateway_breaker_threshold);
	U(pushgateway_breaker_reset);
#undef B
#undef S
#undef U
	if (!strcmp(f, "histogram_buckets")) {
		join_doubles(buf, size, c->histogram_buckets, c->nbuckets);
		return;
	}
	for (i = 0; i < CCPROXY_LATENCIES; i++) {
		static const char *const lat[CCPROXY_LATENCIES] = {
			"time_to_first_token_buckets",
			"provider_duration_buckets",
			"proxy_overhead_buckets",
			"time_per_output_token_buckets",
		};

		if (!strcmp(f, lat[i])) {
			join_doubles(buf, size, c->latency_buckets[i], c->nlatency_buckets[i]);
			return;
		}
	}
	if (!strcmp(f, "push_labels")) {
		buf[0] = '\0';
		for (i = 0; i < c->npush_labels && len < size; i++)
			len += snprintf(buf + len, size - len, "%s%s=%s", i ? ";" : "",
					c->push_labels[i].name, c->push_labels[i].value);
		return;
	}
	if (!strcmp(f, "pids")) {
		buf[0] = '\0';
		for (i = 0; i < c->npids && len < size; i++)
			len += snprintf(buf + len, size - len, "%s%d", i ? "," : "",
					(int)c->pids[i]);
		return;
	}
	cr_assert_fail("no field %s", f);
}

static int parse_args(struct config *cfg, char items[][SLEN], int n, char *err, size_t errlen)
{
	char *argv[NITEMS + 2] = {"ccproxy_exporter"};
	int i;

	for (i = 0; i < n; i++)
		argv[i + 1] = items[i];
	argv[n + 1] = NULL;
	return config__parse_args(cfg, n + 1, argv, err, errlen);
}

static int parse_env(struct config *cfg, char items[][SLEN], int n, char *err, size_t errlen)
{
	char *envp[NITEMS + 1];
	int i;

	for (i = 0; i < n; i++)
		envp[i] = items[i];
	envp[n] = NULL;
	return config__parse_env(cfg, envp, err, errlen);
}

/* The named field has the wanted value and every other field kept its default. */
static void expect_only(const struct config *cfg, const char *field, const char *want)
{
	char got[512], def_s[512];
	struct config def;
	size_t i;

	config__defaults(&def);
	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		field_str(cfg, fields[i], got, sizeof(got));
		if (!strcmp(fields[i], field)) {
			cr_expect_str_eq(got, want, "%s", field);
		} else {
			field_str(&def, fields[i], def_s, sizeof(def_s));
			cr_expect_str_eq(got, def_s, "%s changed", fields[i]);
		}
	}
}

Test(config, defaults)
{
	char err[CONFIG_ERR_MAX] = "";
	struct config cfg;

	memset(&cfg, 0xa5, sizeof(cfg));
	config__defaults(&cfg);
	cr_expect(cfg.enabled);
	cr_expect_str_eq(cfg.namespace_, "ccproxy");
	cr_expect(cfg.metrics_endpoint_enabled);
	cr_expect(!cfg.pushgateway_enabled);
	cr_expect_str_eq(cfg.pushgateway_url, "");
	cr_expect_str_eq(cfg.pushgateway_job, "ccproxy");
	cr_expect_eq(cfg.pushgateway_push_interval, 60);
	cr_expect(cfg.collect_request_metrics && cfg.collect_token_metrics &&
		  cfg.collect_cost_metrics && cfg.collect_error_metrics &&
		  cfg.collect_pool_metrics);
	cr_expect_eq(cfg.nbuckets, 10);
	field_str(&cfg, "histogram_buckets", err, sizeof(err));
	cr_expect_str_eq(err, "0.01,0.05,0.1,0.25,0.5,1,2.5,5,10,25");
	cr_expect_eq(cfg.npids, 0);
	cr_expect_str_eq(cfg.listen_address, ":10464");
	cr_expect_str_eq(cfg.telemetry_path, "/metrics");
	cr_expect_eq(cfg.log_level, LOG_LEVEL_INFO);
	cr_expect_eq(cfg.limit_requests, CCPROXY_REQUESTS_ENTRIES);
	cr_expect_eq(cfg.limit_usage, CCPROXY_USAGE_ENTRIES);
	cr_expect_eq(cfg.limit_errors, CCPROXY_ERRORS_ENTRIES);
	cr_expect_eq(cfg.limit_inflight, CCPROXY_INFLIGHT_ENTRIES);
	cr_expect_eq(cfg.limit_inflight_per_process, 0);
	cr_expect(cfg.collect_latency_metrics);
	cr_expect_eq(cfg.limit_provider, CCPROXY_PROVIDER_ENTRIES);
	cr_expect_eq(cfg.limit_native, CCPROXY_NATIVE_ENTRIES);
	cr_expect(cfg.bpf_pin_reset);
	field_str(&cfg, "time_per_output_token_buckets", err, sizeof(err));
	cr_expect_str_eq(err, "0.001,0.005,0.01,0.02,0.04,0.06,0.08,0.1,0.25,0.5,0.75,1,2.5,5,7.5,"
			      "10,20,40,80,160,640,2560");
	cr_expect(!cfg.show_help && !cfg.show_version);
	cr_expect_eq(config__validate(&cfg, err, sizeof(err)), 0, "%s", err);
}

Test(config, no_args_no_env_keep_defaults)
{
	char *argv[] = {"ccproxy_exporter", NULL};
	char *envp[] = {"PATH=/bin", "HOME=/root", NULL};
	char err[CONFIG_ERR_MAX];
	struct config cfg;

	config__defaults(&cfg);
	cr_assert_eq(config__parse_env(&cfg, envp, err, sizeof(err)), 0);
	cr_assert_eq(config__parse_env(&cfg, NULL, err, sizeof(err)), 0);
	cr_assert_eq(config__parse_args(&cfg, 1, argv, err, sizeof(err)), 0);
	expect_only(&cfg, "enabled", "true");
}

/* clang-format off */
static struct ok_case flag_cases[] = {
	{{"--no-enabled"}, 1, "enabled", "false"},
	{{"--no-enabled", "--enabled"}, 2, "enabled", "true"},
	{{"--enabled=false"}, 1, "enabled", "false"},
	{{"--enabled=FALSE"}, 1, "enabled", "false"},
	{{"--enabled=0"}, 1, "enabled", "false"},
	{{"--enabled=no"}, 1, "enabled", "false"},
	{{"--enabled=Off"}, 1, "enabled", "false"},
	{{"--no-enabled", "--enabled=1"}, 2, "enabled", "true"},
	{{"--namespace", "foo"}, 2, "namespace", "foo"},
	{{"--namespace=foo:bar_1"}, 1, "namespace", "foo:bar_1"},
	{{"--namespace", ""}, 2, "namespace", ""},
	{{"--namespace="}, 1, "namespace", ""},
	{{"--namespace=_x"}, 1, "namespace", "_x"},
	{{"--namespace", "a", "--namespace", "b"}, 4, "namespace", "b"},
	{{"--no-metrics-endpoint-enabled"}, 1, "metrics_endpoint_enabled", "false"},
	{{"--metrics-endpoint-enabled=off"}, 1, "metrics_endpoint_enabled", "false"},
	{{"--pushgateway-enabled"}, 1, "pushgateway_enabled", "true"},
	{{"--pushgateway-enabled=yes"}, 1, "pushgateway_enabled", "true"},
	{{"--pushgateway-enabled=On"}, 1, "pushgateway_enabled", "true"},
	{{"--pushgateway-enabled=TRUE"}, 1, "pushgateway_enabled", "true"},
	{{"--pushgateway-url", "http://pg:9091"}, 2, "pushgateway_url", "http://pg:9091"},
	{{"--pushgateway-url=https://pg.example.com/base/path"}, 1, "pushgateway_url",
	 "https://pg.example.com/base/path"},
	{{"--pushgateway-url=http://[::1]:9091"}, 1, "pushgateway_url", "http://[::1]:9091"},
	{{"--pushgateway-url=http://127.0.0.1"}, 1, "pushgateway_url", "http://127.0.0.1"},
	{{"--pushgateway-url=HTTP://x/"}, 1, "pushgateway_url", "HTTP://x/"},
	{{"--pushgateway-url=http://vm:8428/api/v1/write"}, 1, "pushgateway_url",
	 "http://vm:8428/api/v1/write"},
	{{"--pushgateway-url="}, 1, "pushgateway_url", ""},
	{{"--pushgateway-job", "my-job"}, 2, "pushgateway_job", "my-job"},
	{{"--pushgateway-job=a b.c"}, 1, "pushgateway_job", "a b.c"},
	{{"--pushgateway-push-interval", "1"}, 2, "pushgateway_push_interval", "1"},
	{{"--pushgateway-push-interval=86400"}, 1, "pushgateway_push_interval", "86400"},
	{{"--pushgateway-push-interval=015"}, 1, "pushgateway_push_interval", "15"},
	{{"--no-collect-request-metrics"}, 1, "collect_request_metrics", "false"},
	{{"--collect-request-metrics=false"}, 1, "collect_request_metrics", "false"},
	{{"--no-collect-token-metrics"}, 1, "collect_token_metrics", "false"},
	{{"--collect-token-metrics=0"}, 1, "collect_token_metrics", "false"},
	{{"--no-collect-cost-metrics"}, 1, "collect_cost_metrics", "false"},
	{{"--collect-cost-metrics=n"}, 1, "collect_cost_metrics", "false"},
	{{"--no-collect-error-metrics"}, 1, "collect_error_metrics", "false"},
	{{"--collect-error-metrics=OFF"}, 1, "collect_error_metrics", "false"},
	{{"--no-collect-pool-metrics"}, 1, "collect_pool_metrics", "false"},
	{{"--collect-pool-metrics=f"}, 1, "collect_pool_metrics", "false"},
	{{"--histogram-buckets", "0.1,1"}, 2, "histogram_buckets", "0.1,1"},
	{{"--histogram-buckets=[0.01, 0.05, 1]"}, 1, "histogram_buckets", "0.01,0.05,1"},
	{{"--histogram-buckets=0.5,1,+Inf"}, 1, "histogram_buckets", "0.5,1"},
	{{"--histogram-buckets=[0.5, 1, \"inf\"]"}, 1, "histogram_buckets", "0.5,1"},
	{{"--histogram-buckets=0.5,Infinity"}, 1, "histogram_buckets", "0.5"},
	{{"--histogram-buckets=1e-3,2E-3"}, 1, "histogram_buckets", "0.001,0.002"},
	{{"--histogram-buckets= 0.1 , 2 "}, 1, "histogram_buckets", "0.1,2"},
	{{"--histogram-buckets=[\"0.1\", \"1\"]"}, 1, "histogram_buckets", "0.1,1"},
	{{"--histogram-buckets=0.000000001,1e9"}, 1, "histogram_buckets", "1e-09,1e+09"},
	{{"--pid", "1"}, 2, "pids", "1"},
	{{"--pid=4194304"}, 1, "pids", "4194304"},
	{{"--pid", "10", "--pid", "20"}, 4, "pids", "10,20"},
	{{"--web.listen-address", ":9100"}, 2, "listen_address", ":9100"},
	{{"--web.listen-address=127.0.0.1:9"}, 1, "listen_address", "127.0.0.1:9"},
	{{"--web.listen-address=[::1]:80"}, 1, "listen_address", "[::1]:80"},
	{{"--web.listen-address=localhost:80"}, 1, "listen_address", "localhost:80"},
	{{"--web.listen-address=0.0.0.0:65535"}, 1, "listen_address", "0.0.0.0:65535"},
	/* http's rules: a zone with '-', as the server binds it */
	{{"--web.listen-address=[fe80::1%eth-0]:80"}, 1, "listen_address", "[fe80::1%eth-0]:80"},
	{{"--web.telemetry-path", "/m"}, 2, "telemetry_path", "/m"},
	{{"--web.formats=text"}, 1, "web_formats", "text"},
	{{"--web.formats", "protobuf,openmetrics"}, 2, "web_formats", "protobuf,openmetrics"},
	{{"--web.openmetrics-created-samples"}, 1, "web_openmetrics_created_samples", "true"},
	{{"--web.openmetrics-created-samples", "--no-web.openmetrics-created-samples"},
	 2,
	 "web_openmetrics_created_samples",
	 "false"},
	{{"--no-native-histogram"}, 1, "native_histograms", "false"},
	{{"--no-bpf-pin-path.reset-mismatched"}, 1, "bpf_pin_reset", "false"},
	{{"--native-histogram.schema=0"}, 1, "nh_schema", "0"},
	{{"--native-histogram.schema", "8"}, 2, "nh_schema", "8"},
	{{"--native-histogram.max-buckets=1"}, 1, "nh_max_buckets", "1"},
	{{"--native-histogram.max-buckets", "248"}, 2, "nh_max_buckets", "248"},
	{{"--native-histogram.zero-threshold=1e-6"}, 1, "nh_zero_threshold", "1e-6"},
	{{"--native-histogram.zero-threshold=60"}, 1, "nh_zero_threshold", "60"},
	{{"--web.telemetry-path=/foo/metrics"}, 1, "telemetry_path", "/foo/metrics"},
	{{"--log.level", "debug"}, 2, "log_level", "0"},
	{{"--log.level=info"}, 1, "log_level", "1"},
	{{"--log.level=warn"}, 1, "log_level", "2"},
	{{"--log.level=ERROR"}, 1, "log_level", "3"},
	{{"--limits.requests", "16"}, 2, "limit_requests", "16"},
	{{"--limits.requests=1000000"}, 1, "limit_requests", "1000000"},
	{{"--limits.usage", "100"}, 2, "limit_usage", "100"},
	{{"--limits.errors=77"}, 1, "limit_errors", "77"},
	{{"--limits.inflight", "500"}, 2, "limit_inflight", "500"},
	{{"--limits.inflight-per-process", "0"}, 2, "limit_inflight_per_process", "0"},
	{{"--limits.inflight-per-process=900"}, 1, "limit_inflight_per_process", "900"},
	{{"--web.config.file", "/etc/web.yml"}, 2, "web_config_file", "/etc/web.yml"},
	{{"--web.config.file="}, 1, "web_config_file", ""},
	{{"--web.max-connections=1"}, 1, "web_max_connections", "1"},
	{{"--web.max-connections", "10000"}, 2, "web_max_connections", "10000"},
	{{"--web.timeout=1"}, 1, "web_timeout", "1"},
	{{"--web.timeout", "3600"}, 2, "web_timeout", "3600"},
	{{"--namespace", "x", "--"}, 3, "namespace", "x"},
	{{"--pushgateway-label", "zone=eu-1"}, 2, "push_labels", "zone=eu-1"},
	{{"--pushgateway-label=path=/a/b"}, 1, "push_labels", "path=/a/b"},
	{{"--pushgateway-label=empty="}, 1, "push_labels", "empty="},
	{{"--pushgateway-label=eq=a=b"}, 1, "push_labels", "eq=a=b"},
	{{"--pushgateway-label=a=1", "--pushgateway-label=_b2=2"}, 2, "push_labels", "a=1;_b2=2"},
	{{"--pushgateway-instance", "node-1"}, 2, "pushgateway_instance", "node-1"},
	{{"--pushgateway-instance=a/b c"}, 1, "pushgateway_instance", "a/b c"},
	{{"--pushgateway-method=post"}, 1, "pushgateway_method", "post"},
	{{"--pushgateway-method", "put"}, 2, "pushgateway_method", "put"},
	{{"--pushgateway-delete-on-shutdown"}, 1, "pushgateway_delete_on_shutdown", "true"},
	{{"--pushgateway-delete-on-shutdown=yes"}, 1, "pushgateway_delete_on_shutdown", "true"},
	{{"--pushgateway-ca-file=/etc/ca.pem"}, 1, "pushgateway_ca_file", "/etc/ca.pem"},
	{{"--pushgateway-username", "bob"}, 2, "pushgateway_username", "bob"},
	{{"--pushgateway-timeout=3"}, 1, "pushgateway_timeout", "3"},
	{{"--pushgateway-connect-timeout=1"}, 1, "pushgateway_connect_timeout", "1"},
	{{"--pushgateway-breaker-threshold=1"}, 1, "pushgateway_breaker_threshold", "1"},
	{{"--pushgateway-breaker-reset=2"}, 1, "pushgateway_breaker_reset", "2"},
	{{"--no-collect-latency-metrics"}, 1, "collect_latency_metrics", "false"},
	{{"--collect-latency-metrics=off"}, 1, "collect_latency_metrics", "false"},
	{{"--time-to-first-token-buckets", "0.5,2"}, 2, "time_to_first_token_buckets", "0.5,2"},
	{{"--provider-duration-buckets=[1, 2, +Inf]"}, 1, "provider_duration_buckets", "1,2"},
	{{"--proxy-overhead-buckets=0.001"}, 1, "proxy_overhead_buckets", "0.001"},
	{{"--time-per-output-token-buckets=0.01,0.1"}, 1, "time_per_output_token_buckets",
	 "0.01,0.1"},
	{{"--limits.provider-responses=64"}, 1, "limit_provider", "64"},
	{{"--limits.native-buckets=4096"}, 1, "limit_native", "4096"},
};

static struct ok_case env_cases[] = {
	{{"PLUGINS__METRICS__ENABLED=false"}, 1, "enabled", "false"},
	{{"PLUGINS__METRICS__ENABLED=No"}, 1, "enabled", "false"},
	{{"PLUGINS__METRICS__NAMESPACE=envns"}, 1, "namespace", "envns"},
	{{"PLUGINS__METRICS__NAMESPACE="}, 1, "namespace", ""},
	{{"PLUGINS__METRICS__METRICS_ENDPOINT_ENABLED=0"}, 1, "metrics_endpoint_enabled", "false"},
	{{"PLUGINS__METRICS__PUSHGATEWAY_ENABLED=true"}, 1, "pushgateway_enabled", "true"},
	{{"PLUGINS__METRICS__PUSHGATEWAY_URL=http://pg:9091"}, 1, "pushgateway_url",
	 "http://pg:9091"},
	{{"PLUGINS__METRICS__PUSHGATEWAY_JOB=j"}, 1, "pushgateway_job", "j"},
	{{"PLUGINS__METRICS__PUSHGATEWAY_PUSH_INTERVAL=30"}, 1, "pushgateway_push_interval", "30"},
	{{"PLUGINS__METRICS__COLLECT_REQUEST_METRICS=false"}, 1, "collect_request_metrics", "false"},
	{{"PLUGINS__METRICS__COLLECT_TOKEN_METRICS=off"}, 1, "collect_token_metrics", "false"},
	{{"PLUGINS__METRICS__COLLECT_LATENCY_METRICS=false"}, 1, "collect_latency_metrics",
	 "false"},
	{{"plugins__metrics__time_to_first_token_buckets=[0.1]"}, 1,
	 "time_to_first_token_buckets", "0.1"},
	{{"PLUGINS__METRICS__COLLECT_COST_METRICS=0"}, 1, "collect_cost_metrics", "false"},
	{{"PLUGINS__METRICS__COLLECT_ERROR_METRICS=no"}, 1, "collect_error_metrics", "false"},
	{{"PLUGINS__METRICS__COLLECT_POOL_METRICS=FALSE"}, 1, "collect_pool_metrics", "false"},
	{{"PLUGINS__METRICS__HISTOGRAM_BUCKETS=[0.01, 0.05, 1]"}, 1, "histogram_buckets",
	 "0.01,0.05,1"},
	{{"PLUGINS__METRICS__HISTOGRAM_BUCKETS=0.01,0.05,1"}, 1, "histogram_buckets", "0.01,0.05,1"},
	{{"PLUGINS__METRICS__HISTOGRAM_BUCKETS=[1.0, 2.5, Infinity]"}, 1, "histogram_buckets",
	 "1,2.5"},
	/* names are matched case-insensitively, the last spelling wins as in pydantic */
	{{"plugins__metrics__namespace=low"}, 1, "namespace", "low"},
	{{"Plugins__Metrics__Collect_Pool_Metrics=off"}, 1, "collect_pool_metrics", "false"},
	{{"PLUGINS__METRICS__NAMESPACE=a", "plugins__metrics__namespace=b"}, 2, "namespace", "b"},
	/* not fields, or not ours: ignored */
	{{"PLUGINS__METRICS__UNKNOWN=1", "PLUGINS__METRICSX__ENABLED=false",
	  "PLUGINS__METRICS__PID=5", "PLUGINS__METRICS__=x"}, 4, "namespace", "ccproxy"},
	{{"PLUGINS__METRICS__LOG.LEVEL=debug", "PLUGINS__METRICS__PUSHGATEWAY-URL=ftp://x",
	  "PLUGINS__METRICS__ENABLED", "NAMESPACE=x"}, 4, "namespace", "ccproxy"},
};

static struct err_case flag_errors[] = {
	{{"--bogus"}, 1, "\"--bogus\": unknown flag"},
	{{"--bogus=1"}, 1, "\"--bogus=1\": unknown flag"},
	{{"--namespac", "x"}, 2, "\"--namespac\": unknown flag"},
	{{"--name=x"}, 1, "\"--name=x\": unknown flag"},
	{{"--no-enable"}, 1, "\"--no-enable\": unknown flag"},
	{{"--pushgateway"}, 1, "\"--pushgateway\": unknown flag"},
	{{"-x"}, 1, "\"-x\": unknown flag"},
	{{"-enabled"}, 1, "\"-enabled\": unknown flag"},
	{{"--namespace"}, 1, "--namespace: missing value"},
	{{"--pid"}, 1, "--pid: missing value"},
	{{"--enabled", "--web.telemetry-path"}, 2, "--web.telemetry-path: missing value"},
	{{"stray"}, 1, "\"stray\": unexpected argument"},
	{{"--namespace", "x", "extra"}, 3, "\"extra\": unexpected argument"},
	{{"--", "x"}, 2, "\"x\": unexpected argument"},
	{{"-"}, 1, "\"-\": unexpected argument"},
	{{"--enabled", "false"}, 2, "--enabled: takes its value as --enabled=false"},
	{{"--no-enabled", "true"}, 2, "\"true\": unexpected argument"},
	{{"--help=1"}, 1, "--help: takes no value"},
	{{"--version=x"}, 1, "--version: takes no value"},
	{{"--no-enabled=true"}, 1, "--no-enabled: takes no value"},
	{{"--time-to-first-token-buckets=2,1"}, 1,
	 "--time-to-first-token-buckets: not increasing at 1"},
	{{"--proxy-overhead-buckets="}, 1, "--proxy-overhead-buckets: needs at least one finite"},
	{{"--enabled=maybe"}, 1, "--enabled: \"maybe\" is not a boolean"},
	{{"--enabled="}, 1, "--enabled: \"\" is not a boolean"},
	{{"--collect-pool-metrics=2"}, 1, "--collect-pool-metrics: \"2\" is not a boolean"},
	{{"--namespace", "9x"}, 2, "--namespace: \"9x\" is not a valid metric name prefix"},
	{{"--namespace=a-b"}, 1, "--namespace: \"a-b\" is not a valid metric name prefix"},
	{{"--namespace=a b"}, 1, "--namespace: \"a b\" is not a valid metric name prefix"},
	{{"--namespace=a\nb"}, 1, "--namespace: \"a\\x0ab\" is not a valid"},
	{{"--pushgateway-push-interval=0"}, 1,
	 "--pushgateway-push-interval: \"0\" is out of range 1..86400"},
	{{"--pushgateway-push-interval=86401"}, 1, "--pushgateway-push-interval: \"86401\" is out"},
	{{"--pushgateway-push-interval=abc"}, 1,
	 "--pushgateway-push-interval: \"abc\" is not a number"},
	{{"--pushgateway-push-interval=10s"}, 1, "--pushgateway-push-interval: \"10s\" is not a"},
	{{"--pushgateway-push-interval=-1"}, 1, "--pushgateway-push-interval: \"-1\" is not a"},
	{{"--pushgateway-push-interval= 5"}, 1, "--pushgateway-push-interval: \" 5\" is not a"},
	{{"--pushgateway-push-interval="}, 1, "--pushgateway-push-interval: \"\" is not a number"},
	{{"--pushgateway-push-interval=99999999999999999999999"}, 1,
	 "--pushgateway-push-interval: \"99999999999999999999999\" is out of range"},
	{{"--pushgateway-push-interval=4294967356"}, 1, "--pushgateway-push-interval: \"42949"},
	{{"--histogram-buckets", "0.1,0.5,0.5"}, 2, "--histogram-buckets: not increasing at 0.5"},
	{{"--histogram-buckets=0.5,0.1"}, 1, "--histogram-buckets: not increasing at 0.1"},
	{{"--histogram-buckets=0,1"}, 1, "--histogram-buckets: 0 is not > 0"},
	{{"--histogram-buckets=-1,1"}, 1, "--histogram-buckets: -1 is not > 0"},
	{{"--histogram-buckets=-inf,1"}, 1, "--histogram-buckets: -inf is not finite"},
	{{"--histogram-buckets=1e999"}, 1, "--histogram-buckets: 1e999 is not finite"},
	{{"--histogram-buckets=nan"}, 1, "--histogram-buckets: \"nan\" is not a number"},
	{{"--histogram-buckets=0x1p-3"}, 1, "--histogram-buckets: \"0x1p-3\" is not a number"},
	{{"--histogram-buckets=0.1,inf,1"}, 1, "--histogram-buckets: +Inf must be the last"},
	{{"--histogram-buckets="}, 1, "--histogram-buckets: needs at least one finite bucket"},
	{{"--histogram-buckets=[]"}, 1, "--histogram-buckets: needs at least one finite bucket"},
	{{"--histogram-buckets=[+Inf]"}, 1, "--histogram-buckets: needs at least one finite"},
	{{"--histogram-buckets=[0.1, 1"}, 1, "--histogram-buckets: \"[0.1, 1\": missing ]"},
	{{"--histogram-buckets=0.1, 1]"}, 1, "--histogram-buckets: \"1]\" is not a number"},
	{{"--histogram-buckets=0.1,,1"}, 1, "--histogram-buckets: \"\" is not a number"},
	{{"--histogram-buckets=0.1,"}, 1, "--histogram-buckets: \"\" is not a number"},
	{{"--histogram-buckets=0.1 1"}, 1, "--histogram-buckets: \"0.1 1\" is not a number"},
	{{"--histogram-buckets=0.1;1"}, 1, "--histogram-buckets: \"0.1;1\" is not a number"},
	{{"--histogram-buckets=1e-10"}, 1, "--histogram-buckets: 1e-10 rounds to 0 ns"},
	{{"--histogram-buckets=0.1,0.1000000001"}, 1,
	 "--histogram-buckets: not increasing in nanoseconds at 0.1000000001"},
	{{"--histogram-buckets=1e10"}, 1, "--histogram-buckets: 1e10 is above 1e+09 seconds"},
	{{"--histogram-buckets=0.100000000000000000000000000000000000000000000000000000001"}, 1,
	 "--histogram-buckets: \"0.100000000000000000000000000000000000000000000\"... is too long"},
	{{"--pushgateway-url=ftp://x"}, 1,
	 "--pushgateway-url: \"ftp://x\" is not an http:// or https:// URL"},
	{{"--pushgateway-url=pg:9091"}, 1, "--pushgateway-url: \"pg:9091\" is not an http://"},
	{{"--pushgateway-url=http://"}, 1, "--pushgateway-url: \"http://\" has no host"},
	{{"--pushgateway-url=http://:9091"}, 1, "--pushgateway-url: \"http://:9091\" has no host"},
	{{"--pushgateway-url=http:///x"}, 1, "--pushgateway-url: \"http:///x\" has no host"},
	{{"--pushgateway-url=http://a b"}, 1, "--pushgateway-url: \"http://a b\" contains a space"},
	{{"--pushgateway-url=http://a\tb"}, 1, "--pushgateway-url: \"http://a\\x09b\" contains"},
	{{"--pushgateway-url=http://x:0"}, 1, "--pushgateway-url: \"http://x:0\" has a bad port"},
	{{"--pushgateway-url=http://x:65536"}, 1, "--pushgateway-url: \"http://x:65536\" has a bad"},
	{{"--pushgateway-url=http://x:abc/"}, 1, "--pushgateway-url: \"http://x:abc/\" has a bad"},
	{{"--pushgateway-url=http://x:"}, 1, "--pushgateway-url: \"http://x:\" has a bad port"},
	{{"--pushgateway-url=http://x?y=1"}, 1, "--pushgateway-url: \"http://x?y=1\" must not have"},
	{{"--pushgateway-url=http://x/#f"}, 1, "--pushgateway-url: \"http://x/#f\" must not have"},
	{{"--pushgateway-url=http://u:p@x"}, 1, "--pushgateway-url: \"http://u:p@x\": user info"},
	{{"--pushgateway-url=http://[::1"}, 1, "--pushgateway-url: \"http://[::1\" has a bad [IPv6]"},
	{{"--pushgateway-url=http://[]:80"}, 1, "--pushgateway-url: \"http://[]:80\" has a bad"},
	{{"--pushgateway-url=http://[::1]x"}, 1, "--pushgateway-url: \"http://[::1]x\" has junk"},
	{{"--pushgateway-url=http://a_b!:1"}, 1, "--pushgateway-url: \"http://a_b!:1\" has a bad host"},
	{{"--pushgateway-job="}, 1, "--pushgateway-job: must not be empty"},
	{{"--pushgateway-job", "a/b"}, 2, "--pushgateway-job: \"a/b\" contains '/'"},
	{{"--pushgateway-job=a\nb"}, 1, "--pushgateway-job: \"a\\x0ab\" contains '/'"},
	{{"--web.listen-address=10464"}, 1, "--web.listen-address: \"10464\" has no port"},
	{{"--web.listen-address="}, 1, "--web.listen-address: \"\" has no port"},
	{{"--web.listen-address=:0"}, 1, "--web.listen-address: \":0\" has a bad port"},
	{{"--web.listen-address=:65536"}, 1, "--web.listen-address: \":65536\" has a bad port"},
	{{"--web.listen-address=::1:80"}, 1, "--web.listen-address: \"::1:80\" has a bad port"},
	{{"--web.listen-address=[::1]"}, 1, "--web.listen-address: \"[::1]\" has no port"},
	{{"--web.listen-address=host:"}, 1, "--web.listen-address: \"host:\" has a bad port"},
	{{"--web.listen-address=a b:80"}, 1, "--web.listen-address: \"a b:80\" has a bad host"},
	{{"--web.listen-address=[1.2.3.4]:80"}, 1, "--web.listen-address: \"[1.2.3.4]:80\" has a bad"},
	{{"--web.listen-address=[::g]:80"}, 1, "--web.listen-address: \"[::g]:80\" has a bad [IPv6] address"},
	{{"--web.listen-address=[::1%]:80"}, 1, "--web.listen-address: \"[::1%]:80\" has a bad [IPv6]"},
	{{"--web.listen-address=[::1]x:80"}, 1, "--web.listen-address: \"[::1]x:80\" has junk after ]"},
	{{"--web.listen-address=256.1.1.1:80"}, 1, "--web.listen-address: \"256.1.1.1:80\" has a bad IPv4"},
	{{"--web.telemetry-path=metrics"}, 1, "--web.telemetry-path: \"metrics\" must start with /"},
	{{"--web.formats=json"}, 1, "--web.formats: \"json\" is not a list of text, openmetrics"},
	{{"--web.formats="}, 1, "--web.formats: \"\" is not a list of"},
	{{"--web.formats=text,,protobuf"}, 1, "--web.formats: \"text,,protobuf\" is not a list"},
	{{"--native-histogram.schema=9"}, 1, "--native-histogram.schema: "},
	{{"--native-histogram.schema=-1"}, 1, "--native-histogram.schema: "},
	{{"--native-histogram.max-buckets=0"}, 1, "--native-histogram.max-buckets: "},
	{{"--native-histogram.max-buckets=249"}, 1, "--native-histogram.max-buckets: "},
	{{"--native-histogram.zero-threshold=0"}, 1,
	 "--native-histogram.zero-threshold: \"0\" is not a number of seconds in 1e-06..60"},
	{{"--native-histogram.zero-threshold=61"}, 1, "--native-histogram.zero-threshold: \"61\""},
	{{"--native-histogram.zero-threshold=nan"}, 1, "--native-histogram.zero-threshold: \"nan\""},
	{{"--native-histogram.zero-threshold=1ms"}, 1, "--native-histogram.zero-threshold: \"1ms\""},
	{{"--web.telemetry-path="}, 1, "--web.telemetry-path: \"\" must start with /"},
	{{"--web.telemetry-path=/"}, 1, "--web.telemetry-path: \"/\" is the landing page"},
	{{"--web.telemetry-path=/metrics/health"}, 1, "--web.telemetry-path: \"/metrics/health\" is"},
	{{"--web.telemetry-path=/a b"}, 1, "--web.telemetry-path: \"/a b\" contains a space"},
	{{"--web.telemetry-path=/a?x"}, 1, "--web.telemetry-path: \"/a?x\" contains"},
	{{"--web.telemetry-path=/a\x7f"}, 1, "--web.telemetry-path: \"/a\\x7f\" contains"},
	{{"--log.level=verbose"}, 1, "--log.level: \"verbose\" is not one of debug, info, warn"},
	{{"--log.level="}, 1, "--log.level: \"\" is not one of"},
	{{"--limits.requests=15"}, 1, "--limits.requests: \"15\" is out of range 16..1000000"},
	{{"--limits.requests=1000001"}, 1, "--limits.requests: \"1000001\" is out of range"},
	{{"--limits.usage=x"}, 1, "--limits.usage: \"x\" is not a number"},
	{{"--limits.usage=0"}, 1, "--limits.usage: \"0\" is out of range"},
	{{"--limits.errors=2k"}, 1, "--limits.errors: \"2k\" is not a number"},
	{{"--limits.inflight-per-process=1000001"}, 1,
	 "--limits.inflight-per-process: \"1000001\" is out of range"},
	{{"--limits.errors=1000001"}, 1, "--limits.errors: \"1000001\" is out of range"},
	{{"--limits.inflight=-16"}, 1, "--limits.inflight: \"-16\" is not a number"},
	{{"--limits.inflight=15"}, 1, "--limits.inflight: \"15\" is out of range"},
	{{"--web.config.file=a\nb"}, 1, "--web.config.file: \"a\\x0ab\" contains a control"},
	{{"--web.config.file"}, 1, "--web.config.file: missing value"},
	{{"--web.max-connections=0"}, 1, "--web.max-connections: \"0\" is out of range 1..10000"},
	{{"--web.max-connections=10001"}, 1, "--web.max-connections: \"10001\" is out of range"},
	{{"--web.max-connections=-1"}, 1, "--web.max-connections: \"-1\" is not a number"},
	{{"--web.timeout=0"}, 1, "--web.timeout: \"0\" is out of range 1..3600"},
	{{"--web.timeout=10s"}, 1, "--web.timeout: \"10s\" is not a number"},
	{{"--web.timeout=3601"}, 1, "--web.timeout: \"3601\" is out of range"},
	{{"--pid=0"}, 1, "--pid: \"0\" is out of range 1..4194304"},
	{{"--pid=-1"}, 1, "--pid: \"-1\" is not a number"},
	{{"--pid=4194305"}, 1, "--pid: \"4194305\" is out of range"},
	{{"--pid=abc"}, 1, "--pid: \"abc\" is not a number"},
	{{"--pid", "5", "--pid", "5"}, 4, "--pid: 5 given twice"},
	{{"--bogus", "--help"}, 2, "\"--bogus\": unknown flag"},
	{{"--pushgateway-label=zone"}, 1, "--pushgateway-label: \"zone\" is not NAME=VALUE"},
	{{"--pushgateway-label==v"}, 1, "--pushgateway-label: \"=v\" has no label name"},
	{{"--pushgateway-label=9a=v"}, 1, "--pushgateway-label: \"9a\" is not a valid label name"},
	{{"--pushgateway-label=a-b=v"}, 1, "--pushgateway-label: \"a-b\" is not a valid label"},
	{{"--pushgateway-label=job=x"}, 1, "--pushgateway-label: \"job\" has its own flag"},
	{{"--pushgateway-label=instance=x"}, 1, "\"instance\" has its own flag (--pushgateway-inst"},
	{{"--pushgateway-label=__x=1"}, 1, "--pushgateway-label: \"__x\": names starting with __"},
	{{"--pushgateway-label=a=x\ny"}, 1, "--pushgateway-label: \"x\\x0ay\" contains a control"},
	{{"--pushgateway-label=a=1", "--pushgateway-label=a=2"}, 2, "label a given twice"},
	{{"--pushgateway-method=PATCH"}, 1, "--pushgateway-method: \"PATCH\" is not put or post"},
	{{"--pushgateway-method=delete"}, 1, "--pushgateway-method: \"delete\" is not put or"},
	{{"--pushgateway-timeout=0"}, 1, "--pushgateway-timeout: \"0\" is out of range 1..3600"},
	{{"--pushgateway-connect-timeout=x"}, 1, "--pushgateway-connect-timeout: \"x\" is not a"},
	{{"--pushgateway-breaker-threshold=0"}, 1, "--pushgateway-breaker-threshold: \"0\" is out"},
	{{"--pushgateway-breaker-reset=0"}, 1, "--pushgateway-breaker-reset: \"0\" is out of"},
	{{"--pushgateway-instance=a\tb"}, 1, "--pushgateway-instance: \"a\\x09b\" contains a"},
	{{"--pushgateway-password", "pw"}, 2, "\"--pushgateway-password\": unknown flag"},
	{{"--pushgateway-delete-on-shutdown=maybe"}, 1, "\"maybe\" is not a boolean"},
};

static struct err_case env_errors[] = {
	{{"PLUGINS__METRICS__NAMESPACE=9x"}, 1,
	 "PLUGINS__METRICS__NAMESPACE: \"9x\" is not a valid metric name prefix"},
	{{"PLUGINS__METRICS__ENABLED=maybe"}, 1,
	 "PLUGINS__METRICS__ENABLED: \"maybe\" is not a boolean"},
	{{"plugins__metrics__enabled=2"}, 1, "plugins__metrics__enabled: \"2\" is not a boolean"},
	{{"PLUGINS__METRICS__METRICS_ENDPOINT_ENABLED="}, 1,
	 "PLUGINS__METRICS__METRICS_ENDPOINT_ENABLED: \"\" is not a boolean"},
	{{"PLUGINS__METRICS__PUSHGATEWAY_ENABLED=ja"}, 1, "PLUGINS__METRICS__PUSHGATEWAY_ENABLED: "},
	{{"PLUGINS__METRICS__PUSHGATEWAY_URL=ftp://x"}, 1,
	 "PLUGINS__METRICS__PUSHGATEWAY_URL: \"ftp://x\" is not an http"},
	{{"PLUGINS__METRICS__PUSHGATEWAY_JOB="}, 1, "PLUGINS__METRICS__PUSHGATEWAY_JOB: must not be"},
	{{"PLUGINS__METRICS__PUSHGATEWAY_PUSH_INTERVAL=0"}, 1,
	 "PLUGINS__METRICS__PUSHGATEWAY_PUSH_INTERVAL: \"0\" is out of range 1..86400"},
	{{"PLUGINS__METRICS__PUSHGATEWAY_PUSH_INTERVAL=60s"}, 1,
	 "PLUGINS__METRICS__PUSHGATEWAY_PUSH_INTERVAL: \"60s\" is not a number"},
	{{"PLUGINS__METRICS__PUSHGATEWAY_PUSH_INTERVAL=60.0"}, 1,
	 "PLUGINS__METRICS__PUSHGATEWAY_PUSH_INTERVAL: \"60.0\" is not a number"},
	{{"PLUGINS__METRICS__COLLECT_REQUEST_METRICS=x"}, 1, "PLUGINS__METRICS__COLLECT_REQUEST_M"},
	{{"PLUGINS__METRICS__COLLECT_TOKEN_METRICS=x"}, 1, "PLUGINS__METRICS__COLLECT_TOKEN_METRICS:"},
	{{"PLUGINS__METRICS__COLLECT_COST_METRICS=x"}, 1, "PLUGINS__METRICS__COLLECT_COST_METRICS:"},
	{{"PLUGINS__METRICS__COLLECT_ERROR_METRICS=x"}, 1, "PLUGINS__METRICS__COLLECT_ERROR_METRICS:"},
	{{"PLUGINS__METRICS__COLLECT_POOL_METRICS=x"}, 1, "PLUGINS__METRICS__COLLECT_POOL_METRICS:"},
	{{"PLUGINS__METRICS__HISTOGRAM_BUCKETS=[0.1, 0.05]"}, 1,
	 "PLUGINS__METRICS__HISTOGRAM_BUCKETS: not increasing at 0.05"},
	{{"PLUGINS__METRICS__HISTOGRAM_BUCKETS=[0.1, 1,]"}, 1,
	 "PLUGINS__METRICS__HISTOGRAM_BUCKETS: \"\" is not a number"},
	{{"PLUGINS__METRICS__NAMESPACE=ok", "PLUGINS__METRICS__LIMITS=1",
	  "PLUGINS__METRICS__ENABLED=nope"}, 3, "PLUGINS__METRICS__ENABLED: \"nope\""},
};
/* clang-format on */

#define N(a) (sizeof(a) / sizeof((a)[0]))

ParameterizedTestParameters(config, flag)
{
	return cr_make_param_array(struct ok_case, flag_cases, N(flag_cases));
}

ParameterizedTest(struct ok_case *c, config, flag)
{
	char err[CONFIG_ERR_MAX] = "";
	struct config cfg;

	config__defaults(&cfg);
	cr_assert_eq(parse_args(&cfg, c->items, c->n, err, sizeof(err)), 0, "%s: %s", c->items[0],
		     err);
	expect_only(&cfg, c->field, c->want);
	if (strcmp(c->field, "pushgateway_enabled")) /* also needs a URL: validate_* tests */
		cr_expect_eq(config__validate(&cfg, err, sizeof(err)), 0, "%s: %s", c->items[0],
			     err);
}

ParameterizedTestParameters(config, env)
{
	return cr_make_param_array(struct ok_case, env_cases, N(env_cases));
}

ParameterizedTest(struct ok_case *c, config, env)
{
	char err[CONFIG_ERR_MAX] = "";
	struct config cfg;

	config__defaults(&cfg);
	cr_assert_eq(parse_env(&cfg, c->items, c->n, err, sizeof(err)), 0, "%s: %s", c->items[0],
		     err);
	expect_only(&cfg, c->field, c->want);
}

static void expect_error(int ret, const char *err, const struct err_case *c)
{
	cr_expect_eq(ret, -EINVAL, "%s: returned %d", c->items[0], ret);
	cr_expect(strstr(err, c->want), "%s: got '%s', want '%s'", c->items[0], err, c->want);
}

ParameterizedTestParameters(config, flag_error)
{
	return cr_make_param_array(struct err_case, flag_errors, N(flag_errors));
}

ParameterizedTest(struct err_case *c, config, flag_error)
{
	char err[CONFIG_ERR_MAX] = "";
	struct config cfg;

	config__defaults(&cfg);
	expect_error(parse_args(&cfg, c->items, c->n, err, sizeof(err)), err, c);
}

ParameterizedTestParameters(config, env_error)
{
	return cr_make_param_array(struct err_case, env_errors, N(env_errors));
}

ParameterizedTest(struct err_case *c, config, env_error)
{
	char err[CONFIG_ERR_MAX] = "";
	struct config cfg;

	config__defaults(&cfg);
	expect_error(parse_env(&cfg, c->items, c->n, err, sizeof(err)), err, c);
}

Test(config, flags_win_over_env)
{
	char *envp[] = {"PLUGINS__METRICS__NAMESPACE=envns", "PLUGINS__METRICS__ENABLED=false",
			"PLUGINS__METRICS__PUSHGATEWAY_PUSH_INTERVAL=5", NULL};
	char *argv[] = {"x", "--namespace=flagns", "--enabled", NULL};
	char err[CONFIG_ERR_MAX] = "";
	struct config cfg;

	config__defaults(&cfg);
	cr_assert_eq(config__parse_env(&cfg, envp, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(config__parse_args(&cfg, 3, argv, err, sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(cfg.namespace_, "flagns");
	cr_expect(cfg.enabled);
	cr_expect_eq(cfg.pushgateway_push_interval, 5, "env value kept where no flag overrides");
}

Test(config, help_and_version)
{
	char *help[] = {"x", "--namespace=seen", "--help", "--bogus", NULL};
	char *h[] = {"x", "-h", NULL};
	char *version[] = {"x", "--version", "stray", NULL};
	char err[CONFIG_ERR_MAX] = "";
	struct config cfg;

	config__defaults(&cfg);
	cr_expect_eq(config__parse_args(&cfg, 4, help, err, sizeof(err)), 1, "%s", err);
	cr_expect(cfg.show_help && !cfg.show_version);
	cr_expect_str_eq(cfg.namespace_, "seen", "flags before --help are parsed");
	config__defaults(&cfg);
	cr_expect_eq(config__parse_args(&cfg, 2, h, err, sizeof(err)), 1);
	cr_expect(cfg.show_help);
	config__defaults(&cfg);
	cr_expect_eq(config__parse_args(&cfg, 3, version, err, sizeof(err)), 1);
	cr_expect(cfg.show_version && !cfg.show_help);
}

/* getopt keeps state between calls; every parse must start afresh, even after an error. */
Test(config, parse_is_repeatable)
{
	char *bad[] = {"x", "--namespace=a", "-xyz", "--pid", "1", NULL};
	char *good[] = {"x", "--pid", "7", "--namespace=b", NULL};
	char err[CONFIG_ERR_MAX] = "";
	struct config cfg;
	int i;

	for (i = 0; i < 3; i++) {
		config__defaults(&cfg);
		cr_expect_eq(config__parse_args(&cfg, 5, bad, err, sizeof(err)), -EINVAL);
		cr_expect(strstr(err, "\"-xyz\": unknown flag"), "%s", err);
		config__defaults(&cfg);
		cr_expect_eq(config__parse_args(&cfg, 4, good, err, sizeof(err)), 0, "%s", err);
		cr_expect_str_eq(cfg.namespace_, "b");
		cr_expect_eq(cfg.npids, 1);
		cr_expect_eq(cfg.pids[0], 7);
	}
	cr_expect_str_eq(bad[2], "-xyz", "argv not permuted");
}

Test(config, pid_limit)
{
	char *argv[2 + 2 * (CONFIG_MAX_PIDS + 1)];
	char vals[CONFIG_MAX_PIDS + 1][16];
	char err[CONFIG_ERR_MAX] = "";
	struct config cfg;
	int i, argc = 1;

	argv[0] = "x";
	for (i = 0; i < CONFIG_MAX_PIDS + 1; i++) {
		snprintf(vals[i], sizeof(vals[i]), "%d", 100 + i);
		argv[argc++] = "--pid";
		argv[argc++] = vals[i];
	}
	argv[argc] = NULL;
	config__defaults(&cfg);
	cr_expect_eq(config__parse_args(&cfg, argc - 2, argv, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(cfg.npids, CONFIG_MAX_PIDS);
	config__defaults(&cfg);
	cr_expect_eq(config__parse_args(&cfg, argc, argv, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "--pid: more than 64 processes"), "%s", err);
}

Test(config, bucket_count_limit)
{
	char list[1024], err[CONFIG_ERR_MAX] = "", flag[1100];
	char *argv[] = {"x", flag, NULL};
	struct config cfg;
	size_t len = 0;
	int i;

	for (i = 1; i <= CCPROXY_MAX_BUCKETS; i++)
		len += snprintf(list + len, sizeof(list) - len, "%s%d", i > 1 ? "," : "", i);
	snprintf(flag, sizeof(flag), "--histogram-buckets=%s,+Inf", list);
	config__defaults(&cfg);
	cr_expect_eq(config__parse_args(&cfg, 2, argv, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(cfg.nbuckets, CCPROXY_MAX_BUCKETS);
	cr_expect_eq(cfg.histogram_buckets[CCPROXY_MAX_BUCKETS - 1], CCPROXY_MAX_BUCKETS);
	snprintf(flag, sizeof(flag), "--histogram-buckets=%s,33", list);
	cr_expect_eq(config__parse_args(&cfg, 2, argv, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "--histogram-buckets: more than 32 buckets"), "%s", err);
	cr_expect_eq(cfg.nbuckets, CCPROXY_MAX_BUCKETS, "failed parse leaves buckets alone");
	/* The latency histograms hold fewer. */
	len = 0;
	for (i = 1; i <= CCPROXY_LATENCY_BUCKETS; i++)
		len += snprintf(list + len, sizeof(list) - len, "%s%d", i > 1 ? "," : "", i);
	snprintf(flag, sizeof(flag), "--provider-duration-buckets=%s", list);
	cr_expect_eq(config__parse_args(&cfg, 2, argv, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(cfg.nlatency_buckets[CCPROXY_LAT_PROVIDER], CCPROXY_LATENCY_BUCKETS);
	snprintf(flag, sizeof(flag), "--provider-duration-buckets=%s,25", list);
	cr_expect_eq(config__parse_args(&cfg, 2, argv, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "--provider-duration-buckets: more than 24 buckets"), "%s", err);
}

struct long_case {
	char flag[40];
	char env[48];
	size_t size; /* the field's array */
	char fill;   /* a byte valid in that field */
	char prefix[16];
	char suffix[8];
};

/* clang-format off */
static struct long_case long_cases[] = {
	{"--namespace", "PLUGINS__METRICS__NAMESPACE", 64, 'a', "", ""},
	{"--pushgateway-url", "PLUGINS__METRICS__PUSHGATEWAY_URL", 1024, 'a', "http://h/", ""},
	{"--pushgateway-job", "PLUGINS__METRICS__PUSHGATEWAY_JOB", 128, 'j', "", ""},
	{"--web.listen-address", "", 256, 'h', "", ":80"},
	{"--web.telemetry-path", "", 256, 'p', "/", ""},
	{"--web.config.file", "", 1024, 'f', "/", ""},
};
/* clang-format on */

ParameterizedTestParameters(config, too_long)
{
	return cr_make_param_array(struct long_case, long_cases, N(long_cases));
}

/* A value one byte too long for its array is an error, one that just fits is kept whole. */
ParameterizedTest(struct long_case *c, config, too_long)
{
	char value[2048], arg[2100], err[CONFIG_ERR_MAX] = "", got[2048];
	char *argv[] = {"x", arg, NULL};
	char *envp[] = {arg, NULL};
	size_t fixed = strlen(c->prefix) + strlen(c->suffix), len;
	struct config cfg;

	for (len = c->size - 1; len <= c->size; len++) {
		snprintf(value, sizeof(value), "%s%0*d%s", c->prefix, (int)(len - fixed), 0,
			 c->suffix);
		memset(value + strlen(c->prefix), c->fill, len - fixed);
		cr_assert_eq(strlen(value), len);
		snprintf(arg, sizeof(arg), "%s=%s", c->flag, value);
		config__defaults(&cfg);
		if (len < c->size) {
			cr_expect_eq(config__parse_args(&cfg, 2, argv, err, sizeof(err)), 0, "%s",
				     err);
			snprintf(got, sizeof(got), "%s",
				 !strcmp(c->flag, "--namespace")	    ? cfg.namespace_
				 : !strcmp(c->flag, "--pushgateway-url")    ? cfg.pushgateway_url
				 : !strcmp(c->flag, "--pushgateway-job")    ? cfg.pushgateway_job
				 : !strcmp(c->flag, "--web.listen-address") ? cfg.listen_address
				 : !strcmp(c->flag, "--web.config.file")    ? cfg.web_config_file
									    : cfg.telemetry_path);
			cr_expect_str_eq(got, value);
			continue;
		}
		cr_expect_eq(config__parse_args(&cfg, 2, argv, err, sizeof(err)), -EINVAL);
		snprintf(got, sizeof(got), "%s: longer than %zu bytes", c->flag, c->size - 1);
		cr_expect(strstr(err, got), "%s", err);
		if (!c->env[0])
			continue;
		snprintf(arg, sizeof(arg), "%s=%s", c->env, value);
		cr_expect_eq(config__parse_env(&cfg, envp, err, sizeof(err)), -EINVAL);
		snprintf(got, sizeof(got), "%s: longer than %zu bytes", c->env, c->size - 1);
		cr_expect(strstr(err, got), "%s", err);
	}
}

Test(config, validate_pushgateway_needs_url)
{
	char *envp[] = {"PLUGINS__METRICS__PUSHGATEWAY_ENABLED=true", NULL};
	char err[CONFIG_ERR_MAX] = "";
	struct config cfg;

	config__defaults(&cfg);
	cr_assert_eq(config__parse_env(&cfg, envp, err, sizeof(err)), 0);
	cr_expect_eq(config__validate(&cfg, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "--pushgateway-enabled: needs --pushgateway-url"), "%s", err);
	cr_expect(strstr(err, "PLUGINS__METRICS__PUSHGATEWAY_URL"), "%s", err);
	snprintf(cfg.pushgateway_url, sizeof(cfg.pushgateway_url), "http://pg:9091");
	cr_expect_eq(config__validate(&cfg, err, sizeof(err)), 0, "%s", err);
}

Test(config, push_labels_limit_and_password_file_needs_user)
{
	char items[CONFIG_MAX_PUSH_LABELS + 1][SLEN];
	char err[CONFIG_ERR_MAX] = "";
	struct config cfg;
	size_t i;
	int ret = 0;

	config__defaults(&cfg);
	for (i = 0; i <= CONFIG_MAX_PUSH_LABELS && !ret; i++) {
		char *argv[] = {"ccproxy_exporter", items[i], NULL};

		snprintf(items[i], SLEN, "--pushgateway-label=l%zu=v", i);
		ret = config__parse_args(&cfg, 2, argv, err, sizeof(err));
	}
	cr_expect_eq(ret, -EINVAL);
	cr_expect(strstr(err, "more than 16 labels"), "%s", err);
	cr_expect_eq(cfg.npush_labels, CONFIG_MAX_PUSH_LABELS);
	cr_expect_eq(config__validate(&cfg, err, sizeof(err)), 0, "%s", err);

	/* the same checks on a struct filled by hand */
	snprintf(cfg.push_labels[1].name, sizeof(cfg.push_labels[1].name), "l0");
	cr_expect_eq(config__validate(&cfg, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "--pushgateway-label: label l0 given twice"), "%s", err);
	snprintf(cfg.push_labels[1].name, sizeof(cfg.push_labels[1].name), "job");
	cr_expect_eq(config__validate(&cfg, err, sizeof(err)), -EINVAL);
	cfg.npush_labels = 0;
	snprintf(cfg.pushgateway_method, sizeof(cfg.pushgateway_method), "get");
	cr_expect_eq(config__validate(&cfg, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "--pushgateway-method"), "%s", err);
	snprintf(cfg.pushgateway_method, sizeof(cfg.pushgateway_method), "post");

	snprintf(cfg.pushgateway_password_file, sizeof(cfg.pushgateway_password_file), "/pw");
	cr_expect_eq(config__validate(&cfg, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "--pushgateway-password-file: needs --pushgateway-username"), "%s",
		  err);
	snprintf(cfg.pushgateway_username, sizeof(cfg.pushgateway_username), "u");
	cr_expect_eq(config__validate(&cfg, err, sizeof(err)), 0, "%s", err);
}

Test(config, push_defaults)
{
	struct config cfg;

	config__defaults(&cfg);
	cr_expect_eq(cfg.npush_labels, 0);
	cr_expect_str_eq(cfg.pushgateway_instance, "");
	cr_expect_str_eq(cfg.pushgateway_method, "put");
	cr_expect(!cfg.pushgateway_delete_on_shutdown);
	cr_expect_eq(cfg.pushgateway_timeout, 10);
	cr_expect_eq(cfg.pushgateway_connect_timeout, 5);
	cr_expect_eq(cfg.pushgateway_breaker_threshold, 5);
	cr_expect_eq(cfg.pushgateway_breaker_reset, 60);
}

/* A struct filled by hand (not through the parsers) gets the same checks. */
enum breakage {
	BREAK_NO_BUCKETS,
	BREAK_TOO_MANY_BUCKETS,
	BREAK_EQUAL_BUCKETS,
	BREAK_NAN_BUCKET,
	BREAK_NS_EQUAL_BUCKETS,
	BREAK_PID_ZERO,
	BREAK_PID_DUP,
	BREAK_PID_COUNT,
	BREAK_NAMESPACE_UNTERMINATED,
	BREAK_NAMESPACE,
	BREAK_URL,
	BREAK_JOB,
	BREAK_LISTEN,
	BREAK_PATH,
	BREAK_INTERVAL,
	BREAK_LIMIT,
	BREAK_LEVEL,
};

struct validate_case {
	enum breakage what;
	char want[96];
};

/* clang-format off */
static struct validate_case validate_cases[] = {
	{BREAK_NO_BUCKETS, "--histogram-buckets: needs at least one finite bucket"},
	{BREAK_TOO_MANY_BUCKETS, "--histogram-buckets: more than 32 buckets"},
	{BREAK_EQUAL_BUCKETS, "--histogram-buckets: not increasing at 0.1"},
	{BREAK_NAN_BUCKET, "--histogram-buckets: nan is not finite"},
	{BREAK_NS_EQUAL_BUCKETS, "--histogram-buckets: not increasing in nanoseconds at 0.1000000001"},
	{BREAK_PID_ZERO, "--pid: 0 is out of range 1..4194304"},
	{BREAK_PID_DUP, "--pid: 9 given twice"},
	{BREAK_PID_COUNT, "--pid: more than 64 processes"},
	{BREAK_NAMESPACE_UNTERMINATED, "--namespace: longer than 63 bytes"},
	{BREAK_NAMESPACE, "--namespace: \"1\" is not a valid metric name prefix"},
	{BREAK_URL, "--pushgateway-url: \"gopher://x\" is not an http"},
	{BREAK_JOB, "--pushgateway-job: must not be empty"},
	{BREAK_LISTEN, "--web.listen-address: \"x\" has no port"},
	{BREAK_PATH, "--web.telemetry-path: \"/\" is the landing page"},
	{BREAK_INTERVAL, "--pushgateway-push-interval: 0 is out of range 1..86400"},
	{BREAK_LIMIT, "--limits.inflight: 15 is out of range 16..1000000"},
	{BREAK_LEVEL, "--log.level: 7 is not a level"},
};
/* clang-format on */

static void breakit(struct config *cfg, enum breakage what)
{
	switch (what) {
	case BREAK_NO_BUCKETS:
		cfg->nbuckets = 0;
		break;
	case BREAK_TOO_MANY_BUCKETS:
		cfg->nbuckets = CCPROXY_MAX_BUCKETS + 1;
		break;
	case BREAK_EQUAL_BUCKETS:
		cfg->histogram_buckets[1] = 0.1;
		cfg->histogram_buckets[2] = 0.1;
		break;
	case BREAK_NAN_BUCKET:
		cfg->histogram_buckets[3] = NAN;
		break;
	case BREAK_NS_EQUAL_BUCKETS:
		cfg->histogram_buckets[3] = 0.1000000001; /* after 0.1 */
		break;
	case BREAK_PID_ZERO:
		cfg->npids = 1;
		cfg->pids[0] = 0;
		break;
	case BREAK_PID_DUP:
		cfg->npids = 2;
		cfg->pids[0] = 9;
		cfg->pids[1] = 9;
		break;
	case BREAK_PID_COUNT:
		cfg->npids = CONFIG_MAX_PIDS + 1;
		break;
	case BREAK_NAMESPACE_UNTERMINATED:
		memset(cfg->namespace_, 'a', sizeof(cfg->namespace_));
		break;
	case BREAK_NAMESPACE:
		snprintf(cfg->namespace_, sizeof(cfg->namespace_), "1");
		break;
	case BREAK_URL:
		snprintf(cfg->pushgateway_url, sizeof(cfg->pushgateway_url), "gopher://x");
		break;
	case BREAK_JOB:
		cfg->pushgateway_job[0] = '\0';
		break;
	case BREAK_LISTEN:
		snprintf(cfg->listen_address, sizeof(cfg->listen_address), "x");
		break;
	case BREAK_PATH:
		snprintf(cfg->telemetry_path, sizeof(cfg->telemetry_path), "/");
		break;
	case BREAK_INTERVAL:
		cfg->pushgateway_push_interval = 0;
		break;
	case BREAK_LIMIT:
		cfg->limit_inflight = 15;
		break;
	case BREAK_LEVEL:
		cfg->log_level = (enum log_level)7;
		break;
	}
}

ParameterizedTestParameters(config, validate)
{
	return cr_make_param_array(struct validate_case, validate_cases, N(validate_cases));
}

ParameterizedTest(struct validate_case *c, config, validate)
{
	char err[CONFIG_ERR_MAX] = "";
	struct config cfg;

	config__defaults(&cfg);
	breakit(&cfg, c->what);
	cr_expect_eq(config__validate(&cfg, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, c->want), "got %s, want %s", err, c->want);
}

struct ns_case {
	double seconds;
	unsigned long long ns;
};

/* clang-format off */
static struct ns_case ns_cases[] = {
	{0.01, 10000000ULL}, {0.05, 50000000ULL}, {0.1, 100000000ULL}, {0.25, 250000000ULL},
	{0.5, 500000000ULL}, {1.0, 1000000000ULL}, {2.5, 2500000000ULL}, {5.0, 5000000000ULL},
	{10.0, 10000000000ULL}, {25.0, 25000000000ULL},
	{0.001, 1000000ULL}, {0.005, 5000000ULL}, /* pool buckets */
	{1e-9, 1}, {1.4e-9, 1}, {1.5e-9, 2}, {0.3, 300000000ULL}, {0.7, 700000000ULL},
	{1e9, 1000000000000000000ULL}, {1125899.906842624, 1ULL << 50},
	{4e-10, 0}, {0, 0}, {-1, 0}, {1e10, 0}, {INFINITY, 0}, {-INFINITY, 0}, {NAN, 0},
};
/* clang-format on */

ParameterizedTestParameters(config, bucket_ns)
{
	return cr_make_param_array(struct ns_case, ns_cases, N(ns_cases));
}

ParameterizedTest(struct ns_case *c, config, bucket_ns)
{
	cr_expect_eq(config__bucket_ns(c->seconds), c->ns, "%.17g -> %llu, want %llu", c->seconds,
		     config__bucket_ns(c->seconds), c->ns);
}

Test(config, default_buckets_in_ns_increase)
{
	struct config cfg;
	size_t i;

	config__defaults(&cfg);
	for (i = 1; i < cfg.nbuckets; i++)
		cr_expect_gt(config__bucket_ns(cfg.histogram_buckets[i]),
			     config__bucket_ns(cfg.histogram_buckets[i - 1]));
}

Test(config, usage_lists_every_flag_default_and_env)
{
	static const char *const want[] = {
		"--[no-]enabled[=BOOL]",
		"default: true; env: PLUGINS__METRICS__ENABLED",
		"--namespace PREFIX",
		"default: \"ccproxy\"; env: PLUGINS__METRICS__NAMESPACE",
		"env: PLUGINS__METRICS__METRICS_ENDPOINT_ENABLED",
		"default: false; env: PLUGINS__METRICS__PUSHGATEWAY_ENABLED",
		"default: \"\"; env: PLUGINS__METRICS__PUSHGATEWAY_URL",
		"env: PLUGINS__METRICS__PUSHGATEWAY_JOB",
		"default: 60; env: PLUGINS__METRICS__PUSHGATEWAY_PUSH_INTERVAL",
		"env: PLUGINS__METRICS__COLLECT_REQUEST_METRICS",
		"env: PLUGINS__METRICS__COLLECT_TOKEN_METRICS",
		"env: PLUGINS__METRICS__COLLECT_COST_METRICS",
		"env: PLUGINS__METRICS__COLLECT_ERROR_METRICS",
		"env: PLUGINS__METRICS__COLLECT_POOL_METRICS",
		("default: 0.01,0.05,0.1,0.25,0.5,1,2.5,5,10,25; "
		 "env: PLUGINS__METRICS__HISTOGRAM_BUCKETS"),
		"default: true; env: PLUGINS__METRICS__COLLECT_LATENCY_METRICS",
		"--time-to-first-token-buckets LIST",
		("default: "
		 "0.001,0.005,0.01,0.02,0.04,0.06,0.08,0.1,0.25,0.5,0.75,1,2.5,5,7.5,10,20,"
		 "40,80,160,640,2560; env: PLUGINS__METRICS__TIME_PER_OUTPUT_TOKEN_BUCKETS"),
		"--limits.provider-responses N",
		"--pid PID",
		"--web.listen-address [HOST]:PORT",
		"default: \":10464\"",
		"--web.telemetry-path PATH",
		"default: \"/metrics\"",
		"--log.level LEVEL",
		"default: info",
		"--limits.requests N",
		"default: 4096",
		"--limits.usage N",
		"default: 1024",
		"--limits.errors N",
		"default: 2048",
		"--limits.inflight N",
		"default: 16384",
		"--web.config.file FILE",
		"--web.max-connections N",
		"default: 64",
		"--web.timeout N",
		"default: 10",
		"--pushgateway-label NAME=VALUE",
		"--pushgateway-method put|post",
		"default: \"put\"",
		"--[no-]pushgateway-delete-on-shutdown[=BOOL]",
		"--pushgateway-password-file FILE",
		"--pushgateway-breaker-threshold N",
		"-h, --help",
		"--version",
		"Usage: prog [flags]",
	};
	char *buf = NULL;
	size_t len = 0, i;
	FILE *f = open_memstream(&buf, &len);

	cr_assert(f);
	config__usage(f, "prog");
	fclose(f);
	for (i = 0; i < N(want); i++)
		cr_expect(strstr(buf, want[i]), "usage lacks '%s':\n%s", want[i], buf);
	cr_expect(!strstr(buf, "PLUGINS__METRICS__PID"), "exporter flags have no env variable");
	cr_expect(!strstr(buf, "PLUGINS__METRICS__PUSHGATEWAY_LABEL"), "flags only");
	free(buf);
}

Test(config, short_or_missing_error_buffer)
{
	char *argv[] = {"x", "--namespace=9x", NULL};
	char err[12];
	struct config cfg;

	config__defaults(&cfg);
	memset(err, 'z', sizeof(err));
	cr_expect_eq(config__parse_args(&cfg, 2, argv, err, sizeof(err)), -EINVAL);
	cr_expect_eq(strlen(err), sizeof(err) - 1);
	cr_expect_str_eq(err, "--namespace");
	cr_expect_eq(config__parse_args(&cfg, 2, argv, NULL, 0), -EINVAL);
	cr_expect_eq(config__validate(&cfg, NULL, 0), 0);
}

/* Patterns glibc's regcomp would take gigabytes for are refused before it sees them. */
Test(config, match_flags_refuse_explosive_patterns)
{
	static const char *const bad[] = {
		"a++", "(N]+++++++++++++++++++++++++", "x*?", "a{300}", "(a{2}){3}{4}", "[",
	};
	static const char *const good[] = {
		"^python3$", "uvicorn|gunicorn",	   "(a{9}){9}",
		"a\\+\\+",   "^/usr/bin/python3\\.1[01]$",
	};
	char flag[512], err[CONFIG_ERR_MAX];
	struct config cfg;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *argv[] = {"x", flag, NULL};

		snprintf(flag, sizeof(flag), "--match-comm=%s", bad[i]);
		config__defaults(&cfg);
		cr_expect_eq(config__parse_args(&cfg, 2, argv, err, sizeof(err)), -EINVAL, "%s",
			     bad[i]);
		cr_expect(strstr(err, "--match-comm") != NULL, "%s", err);
	}
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		char *argv[] = {"x", flag, NULL};

		snprintf(flag, sizeof(flag), "--match-exe=%s", good[i]);
		config__defaults(&cfg);
		cr_expect_eq(config__parse_args(&cfg, 2, argv, err, sizeof(err)), 0, "%s: %s",
			     good[i], err);
	}
}

Test(config, match_flags_only_without_pid)
{
	char *argv[] = {"x", "--pid", "1", "--match-comm", "^a$", NULL};
	char err[CONFIG_ERR_MAX] = "";
	struct config cfg;

	config__defaults(&cfg);
	cr_assert_eq(config__parse_args(&cfg, 5, argv, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(config__validate(&cfg, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "--match-comm") != NULL, "%s", err);
}

/* A flag makes its variable irrelevant, so a bad value there is not an error (flags win). */
Test(config, flag_overrides_an_invalid_env_value)
{
	char *envp[] = {"PLUGINS__METRICS__PUSHGATEWAY_PUSH_INTERVAL=abc",
			"plugins__metrics__enabled=bogus", "PLUGINS__METRICS__NAMESPACE=envns",
			NULL};
	char *argv[] = {"x", "--pushgateway-push-interval", "7", "--no-enabled", NULL};
	char *help[] = {"x", "--help", NULL};
	char *partial[] = {"x", "--no-enabled", NULL};
	char err[CONFIG_ERR_MAX] = "";
	struct config cfg;

	config__defaults(&cfg);
	cr_assert_eq(config__parse(&cfg, 4, argv, envp, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(cfg.pushgateway_push_interval, 7);
	cr_expect_not(cfg.enabled);
	cr_expect_str_eq(cfg.namespace_, "envns");
	config__defaults(&cfg);
	cr_expect_eq(config__parse(&cfg, 2, help, envp, err, sizeof(err)), 1);
	cr_expect(cfg.show_help);
	/* Not overridden: still an error, naming the variable. */
	config__defaults(&cfg);
	cr_expect_eq(config__parse(&cfg, 2, partial, envp, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "PLUGINS__METRICS__PUSHGATEWAY_PUSH_INTERVAL: "), "%s", err);
	/* A bad flag is reported before any variable. */
	config__defaults(&cfg);
	partial[1] = "--pushgateway-push-interval=0";
	cr_expect_eq(config__parse(&cfg, 2, partial, envp, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "--pushgateway-push-interval: "), "%s", err);
}

/* IP literals never reach the resolver: a bad one is a usage error, not a failed listen. */
Test(config, listen_address_ip_literals_are_checked)
{
	static const char *const bad[] = {"256.1.1.1:80",	    "1.2.3:80",
					  "1.2.3.4.5:80",	    "[::g]:80",
					  "[1:2:3:4:5:6:7:8:9]:80", "[fe80::1%]:80"};
	static const char *const good[] = {"127.0.0.1:80",	"0.0.0.0:1", "[::1]:80",
					   "[fe80::1%eth0]:80", ":80",	     "localhost:80",
					   "host-1.example:80"};
	char err[CONFIG_ERR_MAX] = "";
	struct config cfg;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *argv[] = {"x", "--web.listen-address", (char *)bad[i], NULL};

		config__defaults(&cfg);
		cr_expect_eq(config__parse_args(&cfg, 3, argv, err, sizeof(err)), -EINVAL, "%s",
			     bad[i]);
		cr_expect(strstr(err, "--web.listen-address: ") && strstr(err, "address"), "%s",
			  err);
	}
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		char *argv[] = {"x", "--web.listen-address", (char *)good[i], NULL};

		config__defaults(&cfg);
		cr_expect_eq(config__parse_args(&cfg, 3, argv, err, sizeof(err)), 0, "%s: %s",
			     good[i], err);
	}
}
