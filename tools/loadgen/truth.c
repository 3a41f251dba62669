// SPDX-License-Identifier: BSD-2-Clause
/*
 * Turns a merged tally into samples, normalises label values the way the exporter does, merges
 * samples whose normalised labels coincide, and writes them as JSON.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fire.h"
#include "tally.h"
#include "outfile.h"
#include "truth.h"

#define NS "ccproxy"

static const char *const truth__resp_le[LG_RESP_BUCKETS + 1] = {
	"0.01", "0.05", "0.1", "0.25", "0.5", "1.0", "2.5", "5.0", "10.0", "25.0", "+Inf",
};
static const char *const truth__pool_le[LG_POOL_BUCKETS + 1] = {
	"0.001", "0.005", "0.01", "0.05", "0.1", "0.25", "0.5", "1.0", "2.5", "5.0", "+Inf",
};
static const char *const truth__lat_le[LG_LAT_BUCKETS + 1] = {
	"0.001", "0.005", "0.01", "0.02",  "0.04",  "0.06",   "0.08", "0.1",
	"0.25",	 "0.5",	  "0.75", "1.0",   "2.5",   "5.0",    "7.5",  "10.0",
	"20.0",	 "40.0",  "80.0", "160.0", "640.0", "2560.0", "+Inf",
};
static const char *const truth__lat_names[LG_LATENCIES] = {
	[LG_LAT_TTFT] = NS "_time_to_first_token_seconds",
	[LG_LAT_PROVIDER] = NS "_provider_duration_seconds",
	[LG_LAT_OVERHEAD] = NS "_proxy_overhead_seconds",
	[LG_LAT_TPOT] = NS "_time_per_output_token_seconds",
};
static const char *const truth__case_names[LG_CASES] = {
	[LG_CASE_STREAM_FULL] = "stream_full",	   [LG_CASE_STREAM_NO_CHUNK] = "stream_no_chunk",
	[LG_CASE_STREAM_NO_END] = "stream_no_end", [LG_CASE_STREAM_FAILED] = "stream_failed",
	[LG_CASE_STREAM_SHARED] = "stream_shared", [LG_CASE_RATE_LIMITED] = "rate_limited",
};
static const char *const truth__token_types[CCPROXY_TOKEN_TYPES] = {
	"input",
	"output",
	"cache_read",
	"cache_write",
};

/* One sample; lo == hi unless the value is only known to lie in [lo, hi]. */
struct truth__row {
	char name[64];
	char *labels; /* canonical JSON object text, label names sorted */
	uint64_t lo, hi;
	int nano; /* render as value / 1e9 */
};

struct truth__rows {
	struct truth__row *v;
	size_t n, cap;
	int err;
};

/* Length of the valid UTF-8 sequence at s, or minus the length of its maximal invalid subpart. */
static int truth__utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char b = s[0], lo = 0x80, hi = 0xbf;
	int len;

	if (b < 0x80)
		return 1;
	if (b >= 0xc2 && b <= 0xdf)
		len = 2;
	else if (b >= 0xe0 && b <= 0xef)
		len = 3;
	else if (b >= 0xf0 && b <= 0xf4)
		len = 4;
	else
		return -1;
	/* Table 3-7 of the Unicode standard: the second byte's range depends on the first. */
	if (b == 0xe0)
		lo = 0xa0;
	else if (b == 0xed)
		hi = 0x9f;
	else if (b == 0xf0)
		lo = 0x90;
	else if (b == 0xf4)
		hi = 0x8f;
	for (int i = 1; i < len; i++) {
		if ((size_t)i >= n || s[i] < lo || s[i] > hi)
			return -i;
		lo = 0x80;
		hi = 0xbf;
	}
	return len;
}

int truth__norm(const char *raw, size_t size, const char *empty, char *out, size_t outsz)
{
	char field[256];
	const unsigned char *s = (const unsigned char *)field;
	size_t n, o = 0;

	if (size > sizeof(field) || !outsz)
		return -EINVAL;
	ccproxy_copy_str(field, size, raw);
	n = strnlen(field, size);
	if (!n) {
		s = (const unsigned char *)empty;
		n = strlen(empty);
	}
	for (size_t i = 0; i < n;) {
		int len = truth__utf8_seq(s + i, n - i);
		const char *put = len > 0 ? (const char *)s + i : "\xef\xbf\xbd";
		size_t plen = len > 0 ? (size_t)len : 3;

		if (o + plen >= outsz)
			return -ENOSPC;
		memcpy(out + o, put, plen);
		o += plen;
		i += len > 0 ? (size_t)len : (size_t)-len;
	}
	out[o] = '\0';
	return 0;
}

/* Appends s as a JSON string (quotes included). Returns the new length or -ENOSPC. */
static int truth__json_str(char *buf, size_t size, size_t len, const char *s)
{
	int n;

	if (len + 1 >= size)
		return -ENOSPC;
	buf[len++] = '"';
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			n = snprintf(buf + len, size - len, "\\%c", *p);
		else if (*p == '\n')
			n = snprintf(buf + len, size - len, "\\n");
		else if (*p < 0x20 || *p == 0x7f)
			n = snprintf(buf + len, size - len, "\\u%04x", *p);
		else
			n = snprintf(buf + len, size - len, "%c", *p);
		if (n < 0 || (size_t)n >= size - len)
			return -ENOSPC;
		len += n;
	}
	if (len + 1 >= size)
		return -ENOSPC;
	buf[len++] = '"';
	buf[len] = '\0';
	return (int)len;
}

/* Appends a sample with labels given as (name, value) pairs in name order, NULL-terminated. */
static void truth__add(struct truth__rows *r, const char *name, uint64_t lo, uint64_t hi, int nano,
		       ...)
{
	char buf[4096];
	int len = 1;
	const char *k;
	va_list ap;

	if (r->err)
		return;
	buf[0] = '{';
	buf[1] = '\0';
	va_start(ap, nano);
	while (len >= 0 && (k = va_arg(ap, const char *))) {
		const char *v = va_arg(ap, const char *);

		if (len > 1)
			len = snprintf(buf + len, sizeof(buf) - len, ", ") == 2 ? len + 2 : -ENOSPC;
		if (len >= 0)
			len = truth__json_str(buf, sizeof(buf), len, k);
		if (len >= 0)
			len = snprintf(buf + len, sizeof(buf) - len, ": ") == 2 ? len + 2 : -ENOSPC;
		if (len >= 0)
			len = truth__json_str(buf, sizeof(buf), len, v);
	}
	va_end(ap);
	if (len < 0 || (size_t)len + 2 > sizeof(buf)) {
		r->err = -ENOSPC;
		return;
	}
	strcpy(buf + len, "}");
	if (r->n == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 1024;
		struct truth__row *v = realloc(r->v, cap * sizeof(*v));

		if (!v) {
			r->err = -ENOMEM;
			return;
		}
		r->v = v;
		r->cap = cap;
	}
	r->v[r->n] = (struct truth__row){.labels = strdup(buf), .lo = lo, .hi = hi, .nano = nano};
	snprintf(r->v[r->n].name, sizeof(r->v[r->n].name), "%s", name);
	if (!r->v[r->n].labels)
		r->err = -ENOMEM;
	r->n++;
}

#define TRUTH__LABEL_MAX (3 * 256)

struct truth__req_labels {
	char endpoint[TRUTH__LABEL_MAX], method[TRUTH__LABEL_MAX], model[TRUTH__LABEL_MAX],
		service[TRUTH__LABEL_MAX], error[TRUTH__LABEL_MAX];
};

static void truth__labels(struct truth__req_labels *o, const struct lg_labels *l,
			  const char *empty_endpoint)
{
	truth__norm(lg_endpoints[l->endpoint], CCPROXY_ENDPOINT_MAX, empty_endpoint, o->endpoint,
		    sizeof(o->endpoint));
	truth__norm(lg_methods[l->method], CCPROXY_METHOD_MAX, "unknown", o->method,
		    sizeof(o->method));
	truth__norm(lg_models[l->model], CCPROXY_MODEL_MAX, "unknown", o->model, sizeof(o->model));
	truth__norm(lg_services[l->service], CCPROXY_SERVICE_TYPE_MAX, "unknown", o->service,
		    sizeof(o->service));
	truth__norm(lg_error_types[l->error], CCPROXY_ERROR_TYPE_MAX, "unknown", o->error,
		    sizeof(o->error));
}

/* A histogram series: cumulative buckets, _count, _sum; unlabelled when endpoint is NULL. */
static void truth__hist(struct truth__rows *r, const char *base, const struct lg_hist *h,
			const char *const *le, int nb, const char *endpoint, const char *model,
			const char *service)
{
	char name[3][64];
	uint64_t lo = 0, hi = 0;

	snprintf(name[0], sizeof(name[0]), "%s_bucket", base);
	snprintf(name[1], sizeof(name[1]), "%s_count", base);
	snprintf(name[2], sizeof(name[2]), "%s_sum", base);
	for (int b = 0; b <= nb; b++) {
		lo += h->lo[b];
		hi += h->hi[b];
		if (endpoint)
			truth__add(r, name[0], lo, hi, 0, "endpoint", endpoint, "le", le[b],
				   "model", model, "service_type", service, NULL);
		else
			truth__add(r, name[0], lo, hi, 0, "le", le[b], NULL);
	}
	if (endpoint) {
		truth__add(r, name[1], h->count, h->count, 0, "endpoint", endpoint, "model", model,
			   "service_type", service, NULL);
		truth__add(r, name[2], h->sum_lo_ns, h->sum_hi_ns, 1, "endpoint", endpoint, "model",
			   model, "service_type", service, NULL);
	} else {
		truth__add(r, name[1], h->count, h->count, 0, NULL);
		truth__add(r, name[2], h->sum_lo_ns, h->sum_hi_ns, 1, NULL);
	}
}

static void truth__requests(struct truth__rows *r, const struct lg_tally *t)
{
	struct truth__req_labels o;
	struct lg_labels l = {0};
	char status[16];

	for (l.endpoint = 0; l.endpoint < LG_ENDPOINTS; l.endpoint++)
		for (l.method = 0; l.method < LG_METHODS; l.method++)
			for (l.model = 0; l.model < LG_MODELS; l.model++)
				for (l.service = 0; l.service < LG_SERVICES; l.service++)
					for (l.status = 0; l.status < LG_STATUSES; l.status++) {
						uint64_t v =
							t->requests[l.endpoint][l.method][l.model]
								   [l.service][l.status];

						if (!v)
							continue;
						truth__labels(&o, &l, "unknown");
						if (lg_statuses[l.status])
							snprintf(status, sizeof(status), "%u",
								 lg_statuses[l.status]);
						else
							strcpy(status, "error");
						truth__add(r, NS "_requests_total", v, v, 0,
							   "endpoint", o.endpoint, "method",
							   o.method, "model", o.model,
							   "service_type", o.service, "status",
							   status, NULL);
					}
}

/* Only series with an observation: a label set seen only in failures has no histogram. */
static void truth__durations(struct truth__rows *r, const struct lg_tally *t)
{
	struct truth__req_labels o;
	struct lg_labels l = {0};

	for (l.endpoint = 0; l.endpoint < LG_ENDPOINTS; l.endpoint++)
		for (l.model = 0; l.model < LG_MODELS; l.model++)
			for (l.service = 0; l.service < LG_SERVICES; l.service++) {
				const struct lg_hist *h = &t->dur[l.endpoint][l.model][l.service];

				if (!h->count)
					continue;
				truth__labels(&o, &l, "unknown");
				truth__hist(r, NS "_response_duration_seconds", h, truth__resp_le,
					    LG_RESP_BUCKETS, o.endpoint, o.model, o.service);
			}
}

static void truth__usage(struct truth__rows *r, const struct lg_tally *t)
{
	struct truth__req_labels o;
	struct lg_labels l = {0};

	for (l.model = 0; l.model < LG_MODELS; l.model++)
		for (l.service = 0; l.service < LG_SERVICES; l.service++) {
			uint64_t c = t->cost_nusd[l.model][l.service];

			truth__labels(&o, &l, "unknown");
			for (int i = 0; i < CCPROXY_TOKEN_TYPES; i++) {
				uint64_t v = t->tokens[l.model][l.service][i];

				if (v)
					truth__add(r, NS "_tokens_total", v, v, 0, "model", o.model,
						   "service_type", o.service, "type",
						   truth__token_types[i], NULL);
			}
			if (c)
				truth__add(r, NS "_cost_usd_total", c, c, 1, "cost_type", "total",
					   "model", o.model, "service_type", o.service, NULL);
		}
}

static void truth__errors(struct truth__rows *r, const struct lg_tally *t)
{
	struct truth__req_labels o;
	struct lg_labels l = {0};

	for (int k = 0; k < LG_ERR_KINDS; k++)
		for (l.endpoint = 0; l.endpoint < LG_ENDPOINTS; l.endpoint++)
			for (l.error = 0; l.error < LG_ERROR_TYPES; l.error++)
				for (l.model = 0; l.model < LG_MODELS; l.model++)
					for (l.service = 0; l.service < LG_SERVICES; l.service++) {
						uint64_t v = t->errors[k][l.endpoint][l.error]
								      [l.model][l.service];

						if (!v)
							continue;
						truth__labels(&o, &l,
							      k == LG_ERR_PROVIDER ? "/"
										   : "unknown");
						truth__add(r, NS "_errors_total", v, v, 0,
							   "endpoint", o.endpoint, "error_type",
							   o.error, "model", o.model,
							   "service_type", o.service, NULL);
					}
}

/* A (model, service_type) histogram series: cumulative buckets, _count, _sum. */
static void truth__lat_hist(struct truth__rows *r, const char *base, const struct lg_hist *h,
			    const char *model, const char *service)
{
	char name[3][64];
	uint64_t lo = 0, hi = 0;

	snprintf(name[0], sizeof(name[0]), "%s_bucket", base);
	snprintf(name[1], sizeof(name[1]), "%s_count", base);
	snprintf(name[2], sizeof(name[2]), "%s_sum", base);
	for (int b = 0; b <= LG_LAT_BUCKETS; b++) {
		lo += h->lo[b];
		hi += h->hi[b];
		truth__add(r, name[0], lo, hi, 0, "le", truth__lat_le[b], "model", model,
			   "service_type", service, NULL);
	}
	truth__add(r, name[1], h->count, h->count, 0, "model", model, "service_type", service,
		   NULL);
	truth__add(r, name[2], h->sum_lo_ns, h->sum_hi_ns, 1, "model", model, "service_type",
		   service, NULL);
}

/* The latency, stream and provider-status families: series with something counted only. */
static void truth__latency(struct truth__rows *r, const struct lg_tally *t)
{
	struct truth__req_labels o;
	struct lg_labels l = {0};
	char status[16];

	for (l.model = 0; l.model < LG_MODELS; l.model++)
		for (l.service = 0; l.service < LG_SERVICES; l.service++) {
			uint64_t c = t->chunks[l.model][l.service],
				 b = t->bytes[l.model][l.service];

			truth__labels(&o, &l, "unknown");
			for (int h = 0; h < LG_LATENCIES; h++)
				if (t->lat[h][l.model][l.service].count)
					truth__lat_hist(r, truth__lat_names[h],
							&t->lat[h][l.model][l.service], o.model,
							o.service);
			if (c)
				truth__add(r, NS "_stream_chunks_total", c, c, 0, "model", o.model,
					   "service_type", o.service, NULL);
			if (b)
				truth__add(r, NS "_stream_bytes_total", b, b, 0, "model", o.model,
					   "service_type", o.service, NULL);
			for (int st = 0; st < LG_STATUSES; st++) {
				uint64_t v = t->provider[l.model][l.service][st];

				if (!v)
					continue;
				if (lg_statuses[st])
					snprintf(status, sizeof(status), "%u", lg_statuses[st]);
				else
					strcpy(status, "error");
				truth__add(r, NS "_provider_responses_total", v, v, 0, "model",
					   o.model, "service_type", o.service, "status", status,
					   NULL);
			}
		}
}

/* The unlabelled families: always present, at 0 when nothing happened. */
static void truth__process(struct truth__rows *r, const struct lg_tally *t)
{
	static const struct {
		int probe;
		const char *name;
	} pool[] = {
		{CCPROXY_PROBE_pool_acquire, NS "_pool_acquisitions_total"},
		{CCPROXY_PROBE_pool_release, NS "_pool_releases_total"},
		{CCPROXY_PROBE_pool_connection_created, NS "_pool_connections_created_total"},
		{CCPROXY_PROBE_pool_connection_closed, NS "_pool_connections_closed_total"},
		{CCPROXY_PROBE_pool_health_check_failed, NS "_pool_health_check_failures_total"},
	};
	uint64_t active = t->active > 0 ? (uint64_t)t->active : 0;
	char version[TRUTH__LABEL_MAX];

	truth__add(r, NS "_active_requests", active, active, 0, NULL);
	for (size_t i = 0; i < sizeof(pool) / sizeof(pool[0]); i++)
		truth__add(r, pool[i].name, t->pool[pool[i].probe], t->pool[pool[i].probe], 0,
			   NULL);
	truth__add(r, NS "_pool_clients_total", t->clients_total, t->clients_total, 0, NULL);
	truth__add(r, NS "_pool_clients_available", t->clients_available, t->clients_available, 0,
		   NULL);
	truth__add(r, NS "_pool_clients_active", t->clients_active, t->clients_active, 0, NULL);
	truth__hist(r, NS "_pool_acquisition_duration_seconds", &t->pool_wait, truth__pool_le,
		    LG_POOL_BUCKETS, NULL, NULL, NULL);
	truth__norm(t->version ? t->version : "", CCPROXY_VERSION_MAX, "unknown", version,
		    sizeof(version));
	truth__add(r, NS "_info", 1, 1, 0, "metrics_enabled", "true", "version", version, NULL);
	truth__add(r, "up", 1, 1, 0, "job", "ccproxy", NULL);
}

static int truth__cmp(const void *a, const void *b)
{
	const struct truth__row *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : strcmp(x->labels, y->labels);
}

/* Label sets that normalise to the same values are one series for the exporter too. */
static void truth__merge(struct truth__rows *r)
{
	size_t o = 0;

	qsort(r->v, r->n, sizeof(*r->v), truth__cmp);
	for (size_t i = 0; i < r->n; i++) {
		if (o && !truth__cmp(&r->v[o - 1], &r->v[i])) {
			r->v[o - 1].lo += r->v[i].lo;
			r->v[o - 1].hi += r->v[i].hi;
			free(r->v[i].labels);
			continue;
		}
		r->v[o++] = r->v[i];
	}
	r->n = o;
}

static void truth__json_file(FILE *f, const char *s)
{
	char buf[4 * TRUTH__LABEL_MAX];

	if (truth__json_str(buf, sizeof(buf), 0, s) < 0)
		strcpy(buf, "\"\"");
	fputs(buf, f);
}

/* One exact duration with its series' normalised labels (the true quantiles need them all). */
static void truth__duration(FILE *f, const struct lg_duration *d)
{
	struct lg_labels l = {.endpoint = d->endpoint, .model = d->model, .service = d->service};
	struct truth__req_labels o;

	if (d->pool) {
		fprintf(f, "  {\"name\": \"%s\", \"labels\": {}, ",
			NS "_pool_acquisition_duration_seconds");
	} else {
		truth__labels(&o, &l, "unknown");
		fprintf(f, "  {\"name\": \"%s\", \"labels\": {\"endpoint\": ",
			NS "_response_duration_seconds");
		truth__json_file(f, o.endpoint);
		fprintf(f, ", \"model\": ");
		truth__json_file(f, o.model);
		fprintf(f, ", \"service_type\": ");
		truth__json_file(f, o.service);
		fprintf(f, "}, ");
	}
	fprintf(f, "\"ns\": %" PRIu64 ", \"n\": %" PRIu64 "}", d->ns, d->n);
}

static void truth__value(FILE *f, uint64_t v, int nano)
{
	if (nano)
		fprintf(f, "%.17g", (double)v / 1e9);
	else
		fprintf(f, "%" PRIu64, v);
}

static void truth__print(FILE *f, const struct truth__rows *r, const struct lg_tally *t,
			 const struct truth_meta *m)
{
	fprintf(f, "{\"events\": %" PRIu64 ", \"threads\": %u, \"seed\": %" PRIu64, m->events,
		m->threads, m->seed);
	fprintf(f, ", \"leave_active\": %" PRIu64 ", \"pid\": %d, \"only\": ", m->leave_active,
		(int)getpid());
	fprintf(f, m->only >= 0 ? "\"%s\"" : "null", fire__name(m->only));
	fprintf(f, ", \"invalid\": %" PRIu64 ",\n \"probe_hits\": {", t->invalid);
	for (int id = 0; id < CCPROXY_PROBE_COUNT; id++)
		fprintf(f, "%s\"%s\": %" PRIu64, id ? ", " : "", fire__name(id), t->hits[id]);
	fprintf(f, "},\n \"cases\": {");
	for (int c = 0; c < LG_CASES; c++)
		fprintf(f, "%s\"%s\": %" PRIu64, c ? ", " : "", truth__case_names[c], t->cases[c]);
	fprintf(f, "},\n \"samples\": [\n");
	for (size_t i = 0; i < r->n; i++) {
		const struct truth__row *s = &r->v[i];

		fprintf(f, "  {\"name\": \"%s\", \"labels\": %s, ", s->name, s->labels);
		if (s->lo == s->hi) {
			fprintf(f, "\"value\": ");
			truth__value(f, s->lo, s->nano);
		} else {
			fprintf(f, "\"range\": [");
			truth__value(f, s->lo, s->nano);
			fprintf(f, ", ");
			truth__value(f, s->hi, s->nano);
			fprintf(f, "]");
		}
		fprintf(f, "}%s\n", i + 1 < r->n ? "," : "");
	}
	fprintf(f, " ],\n \"durations\": [\n");
	for (size_t i = 0; i < t->durations.n; i++) {
		truth__duration(f, &t->durations.v[i]);
		fprintf(f, "%s\n", i + 1 < t->durations.n ? "," : "");
	}
	fprintf(f, " ]}\n");
}

struct truth__save_ctx {
	const struct truth__rows *r;
	const struct lg_tally *t;
	const struct truth_meta *m;
};

static void truth__print_ctx(FILE *f, const void *ctx)
{
	const struct truth__save_ctx *c = ctx;

	truth__print(f, c->r, c->t, c->m);
}

static int truth__save(const char *path, const struct truth__rows *r, const struct lg_tally *t,
		       const struct truth_meta *m)
{
	const struct truth__save_ctx ctx = {r, t, m};

	return outfile__write(path, truth__print_ctx, &ctx);
}

int truth__write(const char *path, const struct lg_tally *t, const struct truth_meta *meta)
{
	struct truth__rows r = {0};
	int err;

	truth__requests(&r, t);
	truth__durations(&r, t);
	truth__usage(&r, t);
	truth__errors(&r, t);
	truth__process(&r, t);
	truth__latency(&r, t);
	err = r.err ? r.err : t->durations.err;
	if (!err) {
		truth__merge(&r);
		err = truth__save(path, &r, t, meta);
	}
	for (size_t i = 0; i < r.n; i++)
		free(r.v[i].labels);
	free(r.v);
	return err;
}
