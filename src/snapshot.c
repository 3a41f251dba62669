// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "expo.h"
#include "snapshot.h"

const char *const snap_map_names[SNAP_MAP_COUNT] = {
	[SNAP_MAP_REQUESTS] = "requests",
	[SNAP_MAP_USAGE] = "usage",
	[SNAP_MAP_ERRORS] = "errors",
	[SNAP_MAP_INFLIGHT] = "inflight",
	[SNAP_MAP_POOL] = "pool",
	[SNAP_MAP_PROCS] = "procs",
	[SNAP_MAP_INFLIGHT_PROCS] = "inflight_procs",
	[SNAP_MAP_PROVIDER] = "provider",
};

void snapshot__free(struct snapshot *snap)
{
	if (!snap)
		return;
	free(snap->requests);
	free(snap->usage);
	free(snap->errors);
	free(snap->provider);
	free(snap->latency);
	free(snap->versions);
	free(snap->procs);
	memset(snap, 0, sizeof(*snap));
}

void snapshot__normalize_str(char *s, size_t size)
{
	size_t len;

	if (!size)
		return;
	len = strnlen(s, size - 1);
	memset(s + len, 0, size - len);
}

static void normalize_labels(struct ccproxy_labels *l)
{
	snapshot__normalize_str(l->method, sizeof(l->method));
	snapshot__normalize_str(l->endpoint, sizeof(l->endpoint));
	snapshot__normalize_str(l->model, sizeof(l->model));
	snapshot__normalize_str(l->service_type, sizeof(l->service_type));
}

/*
 * Label values that render alike are one series (Prometheus would keep one of the lines and
 * drop the others' counts). Only these can render like another value: the empty one and the
 * literal SNAP_EMPTY_LABEL (both print it), and values with bytes above 0x7f (different
 * invalid UTF-8 sequences all print U+FFFD). Plain ASCII prints as itself.
 */
static bool ambiguous(const char *s, size_t size)
{
	size_t i;

	if (!s[0] || !strncmp(s, SNAP_EMPTY_LABEL, size))
		return true;
	for (i = 0; i < size && s[i]; i++) {
		if ((unsigned char)s[i] >= 0x80)
			return true;
	}
	return false;
}

/* Escaping and U+FFFD make at most three bytes of one (expo.c). */
#define RENDERED_MAX (3 * CCPROXY_MODEL_MAX)
_Static_assert(CCPROXY_MODEL_MAX >= CCPROXY_ENDPOINT_MAX &&
		       CCPROXY_MODEL_MAX >= CCPROXY_ERROR_TYPE_MAX &&
		       CCPROXY_MODEL_MAX >= CCPROXY_VERSION_MAX,
	       "RENDERED_MAX holds every label field");

/* An ambiguous field: where it is, and how it renders. */
struct alias {
	char *field;
	size_t size;
	char text[RENDERED_MAX + 1];
};

static int render_label(struct strbuf *sb, const char *s, size_t size, char *text)
{
	strbuf__reset(sb);
	if (expo__label_value(sb, s, size, SNAP_EMPTY_LABEL))
		return sb->err;
	if (sb->len > RENDERED_MAX)
		return -EOVERFLOW;
	memcpy(text, sb->buf, sb->len + 1);
	return 0;
}

static int cmp_alias(const void *a, const void *b)
{
	const struct alias *x = a, *y = b;
	int c = strcmp(x->text, y->text);

	return c ? c : memcmp(x->field, y->field, x->size);
}

/*
 * Gives every ambiguous value of one string field, at offset `off` of each of the n entries
 * of `elem` bytes, the smallest of the raw values that render as it does, so that the merge
 * by raw key that follows joins them. A workload without ambiguous values is left as is.
 * 0 or -ENOMEM (entries unchanged).
 */
static int unify_field(void *base, size_t n, size_t elem, size_t off, size_t size)
{
	struct strbuf sb = STRBUF_INIT;
	struct alias *a = NULL;
	size_t i, na = 0, run;
	int err = 0;

	for (i = 0; i < n; i++)
		na += ambiguous((char *)base + i * elem + off, size);
	if (na < 2)
		return 0;
	a = calloc(na, sizeof(*a));
	if (!a)
		return -ENOMEM;
	for (i = 0, na = 0; !err && i < n; i++) {
		char *f = (char *)base + i * elem + off;

		if (!ambiguous(f, size))
			continue;
		a[na] = (struct alias){.field = f, .size = size};
		err = render_label(&sb, f, size, a[na++].text);
	}
	if (!err) {
		qsort(a, na, sizeof(*a), cmp_alias);
		for (run = 0, i = 1; i < na; i++) {
			if (strcmp(a[run].text, a[i].text))
				run = i;
			else
				memcpy(a[i].field, a[run].field, size);
		}
	}
	strbuf__free(&sb);
	free(a);
	return err;
}

#define UNIFY(v, n, field) \
	unify_field((v), (n), sizeof(*(v)), offsetof(typeof(*(v)), field), sizeof((v)->field))

static int cmp_request(const void *a, const void *b)
{
	return memcmp(&((const struct snap_request *)a)->key,
		      &((const struct snap_request *)b)->key, sizeof(struct ccproxy_req_key));
}

static int cmp_usage(const void *a, const void *b)
{
	return memcmp(&((const struct snap_usage *)a)->key, &((const struct snap_usage *)b)->key,
		      sizeof(struct ccproxy_usage_key));
}

static int cmp_provider(const void *a, const void *b)
{
	return memcmp(&((const struct snap_provider *)a)->key,
		      &((const struct snap_provider *)b)->key, sizeof(struct ccproxy_provider_key));
}

static int cmp_latency(const void *a, const void *b)
{
	return memcmp(&((const struct snap_latency *)a)->key,
		      &((const struct snap_latency *)b)->key, sizeof(struct ccproxy_usage_key));
}

static int cmp_error(const void *a, const void *b)
{
	return memcmp(&((const struct snap_error *)a)->key, &((const struct snap_error *)b)->key,
		      sizeof(struct ccproxy_error_key));
}

static void add_usage(struct ccproxy_usage *to, const struct ccproxy_usage *from);

static void add_req_val(struct ccproxy_req_val *to, const struct ccproxy_req_val *from)
{
	size_t i;

	to->requests = snap_add(to->requests, from->requests);
	add_usage(&to->usage, &from->usage);
	to->dur_sum_ns = snap_add(to->dur_sum_ns, from->dur_sum_ns);
	for (i = 0; i <= CCPROXY_MAX_BUCKETS; i++)
		to->buckets[i] = snap_add(to->buckets[i], from->buckets[i]);
}

static void add_usage(struct ccproxy_usage *to, const struct ccproxy_usage *from)
{
	size_t i;

	for (i = 0; i < CCPROXY_TOKEN_TYPES; i++)
		to->tokens[i] = snap_add(to->tokens[i], from->tokens[i]);
	to->cost_nusd = snap_add(to->cost_nusd, from->cost_nusd);
}

/*
 * Sorted runs of equal keys collapse into their first entry. One generic walk, typed adders:
 * `add(dst, src)` folds src's value into dst's.
 */
static size_t merge_sorted(void *base, size_t n, size_t elem, size_t keylen,
			   void (*add)(void *dst, const void *src))
{
	char *v = base;
	size_t out = 0, i;

	for (i = 0; i < n; i++) {
		char *cur = v + i * elem;

		if (out && !memcmp(v + (out - 1) * elem, cur, keylen)) {
			add(v + (out - 1) * elem, cur);
			continue;
		}
		if (out != i)
			memcpy(v + out * elem, cur, elem);
		out++;
	}
	return out;
}

static void add_request_entry(void *dst, const void *src)
{
	add_req_val(&((struct snap_request *)dst)->val, &((const struct snap_request *)src)->val);
}

static void add_usage_entry(void *dst, const void *src)
{
	add_usage(&((struct snap_usage *)dst)->val, &((const struct snap_usage *)src)->val);
}

static void add_lat_hist(struct ccproxy_lat_hist *to, const struct ccproxy_lat_hist *from)
{
	size_t i;

	to->sum_ns = snap_add(to->sum_ns, from->sum_ns);
	for (i = 0; i <= CCPROXY_LATENCY_BUCKETS; i++)
		to->buckets[i] = snap_add(to->buckets[i], from->buckets[i]);
}

static void add_latency_val(struct snap_latency_val *to, const struct snap_latency_val *from)
{
	size_t h;

	to->stream_chunks = snap_add(to->stream_chunks, from->stream_chunks);
	to->stream_bytes = snap_add(to->stream_bytes, from->stream_bytes);
	for (h = 0; h < CCPROXY_LATENCIES; h++)
		add_lat_hist(&to->lat[h], &from->lat[h]);
}

static void add_latency_entry(void *dst, const void *src)
{
	add_latency_val(&((struct snap_latency *)dst)->val,
			&((const struct snap_latency *)src)->val);
}

static void add_provider_entry(void *dst, const void *src)
{
	struct snap_provider *e = dst;

	e->count = snap_add(e->count, ((const struct snap_provider *)src)->count);
}

static void add_error_entry(void *dst, const void *src)
{
	struct snap_error *e = dst;

	e->count = snap_add(e->count, ((const struct snap_error *)src)->count);
}

static bool is_overflow_label(const char *s)
{
	return !strcmp(s, SNAP_OVERFLOW_LABEL);
}

bool snapshot__hist_overflow(const struct ccproxy_req_key *k)
{
	return (k->flags & CCPROXY_KEY_OVERFLOW) ||
	       (is_overflow_label(k->labels.endpoint) && is_overflow_label(k->labels.model) &&
		is_overflow_label(k->labels.service_type));
}

/* A key that prints as its family's overflow series becomes it (strings zero, flag set). */
static void join_overflow(char *const *fields, const size_t *sizes, size_t n, uint32_t *flags)
{
	size_t i;

	if (*flags & CCPROXY_KEY_OVERFLOW)
		return;
	for (i = 0; i < n; i++) {
		if (!is_overflow_label(fields[i]))
			return;
	}
	for (i = 0; i < n; i++)
		memset(fields[i], 0, sizes[i]);
	*flags |= CCPROXY_KEY_OVERFLOW;
}

static void join_usage_overflow(struct ccproxy_usage_key *k)
{
	char *const f[] = {k->model, k->service_type};
	const size_t sz[] = {sizeof(k->model), sizeof(k->service_type)};

	join_overflow(f, sz, 2, &k->flags);
}

/* method is no label of errors_total (and never "__overflow__": it has 7 bytes at most). */
static void join_error_overflow(struct ccproxy_error_key *k)
{
	char *const f[] = {k->labels.endpoint, k->labels.model, k->labels.service_type,
			   k->error_type};
	const size_t sz[] = {sizeof(k->labels.endpoint), sizeof(k->labels.model),
			     sizeof(k->labels.service_type), sizeof(k->error_type)};

	join_overflow(f, sz, 4, &k->flags);
}

/* The label fields a family renders, unified in turn; 0 or -ENOMEM. */
static int unify_labels(void *base, size_t n, size_t elem, size_t labels_off, bool method)
{
	static const struct {
		size_t off, size;
	} f[] = {
		{offsetof(struct ccproxy_labels, method), CCPROXY_METHOD_MAX},
		{offsetof(struct ccproxy_labels, endpoint), CCPROXY_ENDPOINT_MAX},
		{offsetof(struct ccproxy_labels, model), CCPROXY_MODEL_MAX},
		{offsetof(struct ccproxy_labels, service_type), CCPROXY_SERVICE_TYPE_MAX},
	};
	size_t i;
	int err = 0;

	for (i = method ? 0 : 1; !err && i < sizeof(f) / sizeof(f[0]); i++)
		err = unify_field(base, n, elem, labels_off + f[i].off, f[i].size);
	return err;
}

int snapshot__merge_requests(struct snap_request *v, size_t *n)
{
	size_t i;
	int err;

	for (i = 0; i < *n; i++) {
		normalize_labels(&v[i].key.labels);
		v[i].key.pad = 0;
	}
	err = unify_labels(v, *n, sizeof(*v), offsetof(struct snap_request, key.labels), true);
	qsort(v, *n, sizeof(*v), cmp_request);
	*n = merge_sorted(v, *n, sizeof(*v), sizeof(v->key), add_request_entry);
	return err;
}

int snapshot__merge_usage(struct snap_usage *v, size_t *n)
{
	size_t i;
	int err;

	for (i = 0; i < *n; i++) {
		snapshot__normalize_str(v[i].key.model, sizeof(v[i].key.model));
		snapshot__normalize_str(v[i].key.service_type, sizeof(v[i].key.service_type));
		join_usage_overflow(&v[i].key);
	}
	err = UNIFY(v, *n, key.model);
	if (!err)
		err = UNIFY(v, *n, key.service_type);
	qsort(v, *n, sizeof(*v), cmp_usage);
	*n = merge_sorted(v, *n, sizeof(*v), sizeof(v->key), add_usage_entry);
	return err;
}

int snapshot__merge_provider(struct snap_provider *v, size_t *n)
{
	size_t i;
	int err;

	for (i = 0; i < *n; i++) {
		snapshot__normalize_str(v[i].key.uk.model, sizeof(v[i].key.uk.model));
		snapshot__normalize_str(v[i].key.uk.service_type, sizeof(v[i].key.uk.service_type));
		v[i].key.pad = 0;
		join_usage_overflow(&v[i].key.uk);
		if (v[i].key.uk.flags & CCPROXY_KEY_OVERFLOW)
			v[i].key.status = 0; /* one overflow series, whatever the status */
	}
	err = UNIFY(v, *n, key.uk.model);
	if (!err)
		err = UNIFY(v, *n, key.uk.service_type);
	qsort(v, *n, sizeof(*v), cmp_provider);
	*n = merge_sorted(v, *n, sizeof(*v), sizeof(v->key), add_provider_entry);
	return err;
}

int snapshot__merge_latency(struct snap_latency *v, size_t *n)
{
	size_t i;
	int err;

	for (i = 0; i < *n; i++) {
		snapshot__normalize_str(v[i].key.model, sizeof(v[i].key.model));
		snapshot__normalize_str(v[i].key.service_type, sizeof(v[i].key.service_type));
		join_usage_overflow(&v[i].key);
	}
	err = UNIFY(v, *n, key.model);
	if (!err)
		err = UNIFY(v, *n, key.service_type);
	qsort(v, *n, sizeof(*v), cmp_latency);
	*n = merge_sorted(v, *n, sizeof(*v), sizeof(v->key), add_latency_entry);
	return err;
}

int snapshot__merge_errors(struct snap_error *v, size_t *n)
{
	size_t i;
	int err;

	for (i = 0; i < *n; i++) {
		normalize_labels(&v[i].key.labels);
		snapshot__normalize_str(v[i].key.error_type, sizeof(v[i].key.error_type));
		join_error_overflow(&v[i].key);
	}
	/* method is always empty here: not a label of errors_total. */
	err = unify_labels(v, *n, sizeof(*v), offsetof(struct snap_error, key.labels), false);
	if (!err)
		err = UNIFY(v, *n, key.error_type);
	qsort(v, *n, sizeof(*v), cmp_error);
	*n = merge_sorted(v, *n, sizeof(*v), sizeof(v->key), add_error_entry);
	return err;
}

/* Whether a version that renders as `version` does is listed; 0/1 or -ENOMEM. */
static int has_rendered_version(const struct snapshot *snap, const char *version)
{
	char want[RENDERED_MAX + 1], have[RENDERED_MAX + 1];
	struct strbuf sb = STRBUF_INIT;
	size_t i;
	int ret;

	ret = render_label(&sb, version, CCPROXY_VERSION_MAX, want);
	for (i = 0; !ret && i < snap->nversions; i++) {
		if (!ambiguous(snap->versions[i], CCPROXY_VERSION_MAX))
			continue;
		ret = render_label(&sb, snap->versions[i], CCPROXY_VERSION_MAX, have);
		if (!ret && !strcmp(want, have))
			ret = 1;
	}
	strbuf__free(&sb);
	return ret;
}

int snapshot__add_version(struct snapshot *snap, const char *version)
{
	char norm[CCPROXY_VERSION_MAX] = {0};
	char(*grown)[CCPROXY_VERSION_MAX];
	size_t i;
	int c = 1;

	strncpy(norm, version, sizeof(norm) - 1);
	if (ambiguous(norm, sizeof(norm))) {
		c = has_rendered_version(snap, norm);
		if (c)
			return c < 0 ? c : 0;
	}
	for (i = 0; i < snap->nversions && (c = strcmp(snap->versions[i], norm)) < 0; i++)
		;
	if (i < snap->nversions && c == 0)
		return 0;
	grown = realloc(snap->versions, (snap->nversions + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	snap->versions = grown;
	memmove(&grown[i + 1], &grown[i], (snap->nversions - i) * sizeof(*grown));
	memcpy(grown[i], norm, sizeof(norm));
	snap->nversions++;
	return 0;
}

int snapshot__add_proc(struct snapshot *snap, uint32_t tgid, const char *container_id)
{
	struct snap_proc *grown;
	size_t i;

	grown = realloc(snap->procs, (snap->nprocs + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	snap->procs = grown;
	/* Insertion keeps the array sorted for snapshot__proc's binary search. */
	for (i = snap->nprocs; i > 0 && grown[i - 1].tgid > tgid; i--)
		grown[i] = grown[i - 1];
	grown[i].tgid = tgid;
	snprintf(grown[i].container_id, sizeof(grown[i].container_id), "%s",
		 container_id ? container_id : "");
	snap->nprocs++;
	return 0;
}

const struct snap_proc *snapshot__proc(const struct snapshot *snap, uint32_t tgid)
{
	size_t lo = 0, hi = snap->nprocs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (snap->procs[mid].tgid == tgid)
			return &snap->procs[mid];
		if (snap->procs[mid].tgid < tgid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static bool usage_nonzero(const struct ccproxy_usage *u)
{
	size_t t;

	for (t = 0; t < CCPROXY_TOKEN_TYPES; t++) {
		if (u->tokens[t])
			return true;
	}
	return u->cost_nusd != 0;
}

int snapshot__fold_request_usage(struct snapshot *snap)
{
	struct snap_usage *grown;
	size_t i, n = snap->nusage;

	grown = realloc(snap->usage, (snap->nusage + snap->nrequests + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	snap->usage = grown;
	for (i = 0; i < snap->nrequests; i++) {
		const struct snap_request *r = &snap->requests[i];
		struct snap_usage *u = &grown[n];

		if (!usage_nonzero(&r->val.usage))
			continue;
		memset(u, 0, sizeof(*u));
		memcpy(u->key.model, r->key.labels.model, sizeof(u->key.model));
		memcpy(u->key.service_type, r->key.labels.service_type,
		       sizeof(u->key.service_type));
		u->key.tgid = r->key.tgid;
		u->key.flags = r->key.flags;
		u->val = r->val.usage;
		n++;
	}
	snap->nusage = n;
	return snapshot__merge_usage(snap->usage, &snap->nusage);
}

static bool latency_nonzero(const struct ccproxy_req_val *v)
{
	size_t h, i;

	if (v->stream_chunks || v->stream_bytes)
		return true;
	for (h = 0; h < CCPROXY_LATENCIES; h++) {
		for (i = 0; i <= CCPROXY_LATENCY_BUCKETS; i++) {
			if (v->lat[h].buckets[i])
				return true;
		}
	}
	return false;
}

int snapshot__fold_request_latency(struct snapshot *snap)
{
	struct snap_latency *v;
	size_t i, n = 0;

	v = calloc(snap->nrequests + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (i = 0; i < snap->nrequests; i++) {
		const struct snap_request *r = &snap->requests[i];
		struct snap_latency *l = &v[n];

		if (!latency_nonzero(&r->val))
			continue;
		memcpy(l->key.model, r->key.labels.model, sizeof(l->key.model));
		memcpy(l->key.service_type, r->key.labels.service_type,
		       sizeof(l->key.service_type));
		l->key.tgid = r->key.tgid;
		l->key.flags = r->key.flags;
		l->val.stream_chunks = r->val.stream_chunks;
		l->val.stream_bytes = r->val.stream_bytes;
		memcpy(l->val.lat, r->val.lat, sizeof(l->val.lat));
		n++;
	}
	free(snap->latency);
	snap->latency = v;
	snap->nlatency = n;
	return snapshot__merge_latency(snap->latency, &snap->nlatency);
}
