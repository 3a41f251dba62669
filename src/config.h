/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * config: the whole command line and environment, parsed once into one struct.
 *
 * Sources, later wins: built-in defaults, PLUGINS__METRICS__<FIELD> environment variables
 * (the ccproxy metrics plugin's own settings, names case-insensitive), then flags. Every
 * field of ccproxy's [plugins.metrics] section is both a flag (--<field with dashes>) and an
 * env variable; exporter-only settings are flags in Prometheus' dotted style.
 *
 * Functions return 0 or -EINVAL and write one message naming the flag or variable at fault
 * into err (e.g. "--histogram-buckets: not increasing at 0.5"). Nothing here prints or exits.
 */
#ifndef CCPROXY_CONFIG_H
#define CCPROXY_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>
#include "../bpf/ccproxy.h"
#include "family.h"
#include "log.h"

#define CONFIG_MAX_PIDS			  64
#define CONFIG_DEFAULT_LISTEN		  ":10464"
#define CONFIG_DEFAULT_PATH		  "/metrics"
#define CONFIG_DEFAULT_NAMESPACE	  "ccproxy"
#define CONFIG_DEFAULT_PUSH_JOB		  "ccproxy"
#define CONFIG_DEFAULT_PUSH_PERIOD	  60
#define CONFIG_DEFAULT_DISCOVERY_INTERVAL 1
/* The kernel's PID_MAX_LIMIT: no pid_max setting allows a larger pid. */
#define CONFIG_PID_LIMIT		   4194304
#define CONFIG_LIMIT_MIN		   16
#define CONFIG_LIMIT_MAX		   1000000
#define CONFIG_PUSH_PERIOD_MAX		   86400
#define CONFIG_DEFAULT_WEB_MAX_CONNECTIONS 64
#define CONFIG_DEFAULT_WEB_TIMEOUT	   10
#define CONFIG_DEFAULT_WEB_FORMATS	   "text,openmetrics,protobuf"
#define CONFIG_DEFAULT_NH_ZERO_THRESHOLD   "0.0001"
#define CONFIG_WEB_MAX_CONNECTIONS_MAX	   10000
#define CONFIG_WEB_TIMEOUT_MAX		   3600

#define CONFIG_MAX_PUSH_LABELS		    16
#define CONFIG_DEFAULT_PUSH_TIMEOUT	    10
#define CONFIG_DEFAULT_PUSH_CONNECT_TIMEOUT 5
#define CONFIG_DEFAULT_BREAKER_THRESHOLD    5
#define CONFIG_DEFAULT_BREAKER_RESET	    60
/* Enough for every message written into err. */
#define CONFIG_ERR_MAX 256

/* One extra grouping-key label of the pushed group (--pushgateway-label NAME=VALUE). */
struct config_label {
	char name[64];	 /* a label name, neither job, instance nor __reserved */
	char value[256]; /* any text, may be empty or hold '/' (pushed as NAME@base64) */
};

struct config {
	/* ccproxy [plugins.metrics] */
	bool enabled;
	char namespace_[64]; /* valid metric name prefix, or empty for none */
	bool metrics_endpoint_enabled;
	bool pushgateway_enabled;
	char pushgateway_url[1024]; /* empty: unset */
	char pushgateway_job[128];
	unsigned int pushgateway_push_interval; /* seconds, 1..86400 */
	bool collect_request_metrics;
	bool collect_token_metrics;
	bool collect_cost_metrics;
	bool collect_error_metrics;
	bool collect_pool_metrics;
	double histogram_buckets[CCPROXY_MAX_BUCKETS]; /* finite, > 0, strictly increasing */
	size_t nbuckets;
	/* Extensions: the latency, stream and provider-status families (not the plugin's). */
	bool collect_latency_metrics;
	/* Bounds of each latency histogram, indexed by enum ccproxy_latency; as above. */
	double latency_buckets[CCPROXY_LATENCIES][CCPROXY_LATENCY_BUCKETS];
	size_t nlatency_buckets[CCPROXY_LATENCIES];

	/* exporter */
	pid_t pids[CONFIG_MAX_PIDS];
	size_t npids;
	char listen_address[256]; /* [host]:port */
	char telemetry_path[256]; /* starts with '/' */
	enum log_level log_level;
	unsigned int limit_requests; /* map capacities: series per family, 16..1000000 */
	unsigned int limit_usage;
	unsigned int limit_errors;
	unsigned int limit_inflight;
	unsigned int limit_inflight_per_process; /* 0: limit_inflight / 4 */
	unsigned int limit_provider;		 /* provider_responses_total series */
	unsigned int limit_native;		 /* native histogram buckets, all series */
	char web_config_file[1024];		 /* empty: plain HTTP, no auth (webconfig.h) */
	unsigned int web_max_connections;	 /* concurrent HTTP connections, 1..10000 */
	unsigned int web_timeout;		 /* seconds idle, or to send headers, 1..3600 */
	bool native_histograms;			 /* native histograms beside the classic ones */
	unsigned int nh_schema;			 /* 0..8 (nhist.h) */
	unsigned int nh_max_buckets;		 /* per series, 1..NHIST_MAX_BUCKETS */
	char nh_zero_threshold[32];		 /* seconds, a decimal number */
	char web_formats[64]; /* offered: "text,openmetrics,protobuf" (negotiate.h) */
	/* OpenMetrics carries _created samples (om_sink.h) */
	bool web_openmetrics_created_samples;

	/* exporter: which processes (no --pid: discover them all) */
	char match_comm[256];		 /* POSIX extended regex on /proc/PID/comm; empty: any */
	char match_exe[1024];		 /* ... on the executable's path; empty: any */
	unsigned int discovery_interval; /* seconds between scans of /proc, 1..3600 */
	bool per_process_labels;	 /* pid and container_id labels on every series */
	char bpf_pin_path[256];		 /* bpffs directory to pin maps in; empty: none */
	bool bpf_pin_reset; /* pinned maps of another layout: removed (else: refused) */

	/* exporter: pushing (flags only) */
	struct config_label push_labels[CONFIG_MAX_PUSH_LABELS];
	size_t npush_labels;
	char pushgateway_instance[256];	     /* empty: $NODE_NAME, else the host name */
	char pushgateway_method[8];	     /* "put" (replace the group) or "post" */
	bool pushgateway_delete_on_shutdown; /* DELETE the group instead of a last push */
	char pushgateway_ca_file[1024];	     /* empty: the system's CAs */
	char pushgateway_username[256];	     /* empty: no basic auth */
	char pushgateway_password_file[1024];
	unsigned int pushgateway_timeout; /* seconds, whole request */
	unsigned int pushgateway_connect_timeout;
	unsigned int pushgateway_breaker_threshold; /* consecutive failures that open it */
	unsigned int pushgateway_breaker_reset;	    /* seconds open before a trial push */

	char print_families[8]; /* "json": print the family table and exit; empty: run */

	/* set by config__parse_args when it returns 1; main prints and exits 0 */
	bool show_help;
	bool show_version;
};

void config__defaults(struct config *cfg);
/*
 * envp as main's third argument or environ; NULL is no variables. Unrelated variables, and
 * PLUGINS__METRICS__ names that are no field, are ignored (a newer ccproxy may add fields).
 * When one field is set under several spellings, the last in envp wins, as in pydantic.
 * On error cfg may be partly updated.
 */
int config__parse_env(struct config *cfg, char *const *envp, char *err, size_t errlen);
/*
 * Returns 1 when --help or --version was given (nothing else parsed after it). Flags must be
 * spelled in full (no abbreviations); booleans take --x, --x=BOOL or --no-x. Resets getopt's
 * state on every call, so it may be called repeatedly. On error cfg may be partly updated.
 */
int config__parse_args(struct config *cfg, int argc, char **argv, char *err, size_t errlen);
/*
 * Both sources in order: envp (as config__parse_env) then argv (as config__parse_args), except
 * that a variable whose option a flag sets is ignored, even when its value is invalid: flags
 * win. Returns 1 for --help/--version, whatever the environment holds.
 */
int config__parse(struct config *cfg, int argc, char **argv, char *const *envp, char *err,
		  size_t errlen);
/*
 * Once after all sources: every field's own checks again (the struct may have been filled by
 * hand), then the cross-field ones (--pushgateway-enabled needs a URL). Messages name the flag.
 */
int config__validate(const struct config *cfg, char *err, size_t errlen);
/* Every flag with its help, default and env variable name (for --help). */
void config__usage(FILE *f, const char *prog);
/*
 * Bucket bound in ns, rounded: what BPF compares durations against. 0 for a bound that is not
 * finite, not > 0 or too large for 64 bits (validation rejects those).
 */
unsigned long long config__bucket_ns(double seconds);
/* What of the family table cfg serves (family.h): its bounds, in cfg's arrays, and switches. */
struct family_opts config__families(const struct config *cfg);

#endif /* CCPROXY_CONFIG_H */
