// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "expo.h"
#include "family.h"
#include "nhist.h"
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
	[SNAP_MAP_NATIVE] = "native",
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
	free(snap->native);
	free(snap->aliases);
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

/*
 * Sums a row's counters into another's (saturating, as the BPF side does); the merged series
 * was created when the earlier of the two was.
 */
static void add_row(const struct family_source *src, char *dst, const char *from)
{
	size_t r, i, off;

	if (src->created)
		snap_put_u64(dst, src->created,
			     snap_earliest(snap_get_u64(dst, src->created),
					   snap_get_u64(from, src->created)));
	for (r = 0; r < src->nsums; r++) {
		for (i = 0; i < src->sums[r].count; i++) {
			off = src->sums[r].off + i * sizeof(uint64_t);
			snap_put_u64(dst, off,
				     snap_add(snap_get_u64(dst, off), snap_get_u64(from, off)));
		}
	}
}

static uint64_t row_id(const struct family_source *src, const char *row)
{
	return src->id_off ? snap_get_u64(row, src->id_off) : 0;
}

/* Records that the series id of row `from` now belongs to row `to`. 0 or -ENOMEM. */
static int add_alias(struct snapshot *snap, const struct family_source *src, char *to,
		     const char *from)
{
	uint64_t t = row_id(src, to), f = row_id(src, from);
	struct snap_alias *grown;

	if (!f || f == t)
		return 0;
	if (!t) { /* the row kept has no native buckets yet: it takes the other's id */
		snap_put_u64(to, src->id_off, f);
		return 0;
	}
	/* A folded source gives nearly every row an alias: grow by doubling. */
	if (snap->naliases == snap->aliases_cap) {
		size_t cap = snap->aliases_cap ? 2 * snap->aliases_cap : 16;

		grown = realloc(snap->aliases, cap * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		snap->aliases = grown;
		snap->aliases_cap = cap;
	}
	snap->aliases[snap->naliases++] =
		(struct snap_alias){.from = f, .to = t, .src = (uint32_t)(src - family_sources)};
	return 0;
}

/* Sorted runs of equal keys collapse into their first row; snap (or NULL) gets the aliases. */
static int merge_sorted(const struct family_source *src, char *v, size_t *n, struct snapshot *snap)
{
	size_t out = 0, i;
	int err = 0;

	for (i = 0; i < *n; i++) {
		char *cur = v + i * src->row_size, *last = out ? v + (out - 1) * src->row_size : v;

		if (out && !memcmp(last, cur, src->key_size)) {
			add_row(src, last, cur);
			if (snap && !err)
				err = add_alias(snap, src, last, cur);
			continue;
		}
		if (out != i)
			memcpy(v + out * src->row_size, cur, src->row_size);
		out++;
	}
	*n = out;
	return err;
}

static bool is_overflow_label(const char *s)
{
	return !strcmp(s, SNAP_OVERFLOW_LABEL);
}

/*
 * A key whose every string label prints as the overflow series becomes it (strings zero,
 * flag set). No requests key does: its method holds 7 bytes at most.
 */
static void join_overflow(const struct family_source *src, char *row)
{
	uint32_t flags;
	size_t i;

	memcpy(&flags, row + src->flags_off, sizeof(flags));
	for (i = 0; !(flags & CCPROXY_KEY_OVERFLOW) && i < src->nstrs; i++) {
		if (!is_overflow_label(row + src->strs[i].off))
			return;
	}
	if (!(flags & CCPROXY_KEY_OVERFLOW)) {
		for (i = 0; i < src->nstrs; i++)
			memset(row + src->strs[i].off, 0, src->strs[i].size);
		flags |= CCPROXY_KEY_OVERFLOW;
		memcpy(row + src->flags_off, &flags, sizeof(flags));
	}
	memset(row + src->overflow_zero.off, 0, src->overflow_zero.size);
}

static int cmp_key(const void *a, const void *b, void *src)
{
	return memcmp(a, b, ((const struct family_source *)src)->key_size);
}

/* snapshot__merge, recording aliases in snap unless it is NULL. */
static int merge(const struct family_source *src, void *rows, size_t *n, struct snapshot *snap)
{
	char *v = rows;
	size_t i, f;
	int err = 0, err2;

	for (i = 0; i < *n; i++) {
		char *row = v + i * src->row_size;

		for (f = 0; f < src->nstrs; f++)
			snapshot__normalize_str(row + src->strs[f].off, src->strs[f].size);
		for (f = 0; f < src->nzero; f++)
			memset(row + src->zero[f].off, 0, src->zero[f].size);
		join_overflow(src, row);
	}
	for (f = 0; !err && f < src->nstrs; f++)
		err = unify_field(v, *n, src->row_size, src->strs[f].off, src->strs[f].size);
	qsort_r(v, *n, src->row_size, cmp_key, (void *)src);
	err2 = merge_sorted(src, v, n, snap);
	return err ? err : err2;
}

int snapshot__merge(const struct family_source *src, void *rows, size_t *n)
{
	return merge(src, rows, n, NULL);
}

int snapshot__merge_rows(struct snapshot *snap, const struct family_source *src)
{
	char *rows = *(char **)((char *)snap + src->rows_off);
	size_t *n = (size_t *)((char *)snap + src->count_off);

	return merge(src, rows, n, snap);
}

int snapshot__merge_requests(struct snap_request *v, size_t *n)
{
	return snapshot__merge(&family_sources[FAMILY_SRC_REQUESTS], v, n);
}

int snapshot__merge_usage(struct snap_usage *v, size_t *n)
{
	return snapshot__merge(&family_sources[FAMILY_SRC_USAGE], v, n);
}

int snapshot__merge_provider(struct snap_provider *v, size_t *n)
{
	return snapshot__merge(&family_sources[FAMILY_SRC_PROVIDER], v, n);
}

int snapshot__merge_latency(struct snap_latency *v, size_t *n)
{
	return snapshot__merge(&family_sources[FAMILY_SRC_LATENCY], v, n);
}

int snapshot__merge_errors(struct snap_error *v, size_t *n)
{
	return snapshot__merge(&family_sources[FAMILY_SRC_ERRORS], v, n);
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

/* All zero iff the first byte is and every byte equals the next: one memcmp, not a byte loop
 * (a requests row folds 848 bytes of latency counters, most of them zero). */
static bool any_nonzero(const char *p, size_t n)
{
	return n && (p[0] || memcmp(p, p + 1, n - 1));
}

/* Whether a row of fold->from adds anything to dst: any of dst's counters, as laid out there. */
static bool folds_counts(const struct family_source *dst, const char *from_row)
{
	size_t r;

	for (r = 0; r < dst->nsums; r++) {
		const char *at = from_row + dst->fold->val_off + (dst->sums[r].off - dst->val_off);

		if (any_nonzero(at, dst->sums[r].count * sizeof(uint64_t)))
			return true;
	}
	return false;
}

int snapshot__fold(struct snapshot *snap, const struct family_source *dst)
{
	const struct family_fold *fold = dst->fold;
	const struct family_source *from = &family_sources[fold->from];
	size_t val_end = dst->created ? dst->created : dst->row_size;
	size_t val_size = val_end - dst->val_off, nfrom, ndst, i;
	const char *rows = family__rows(snap, fold->from, &nfrom);
	char **dst_rows = (char **)((char *)snap + dst->rows_off);
	size_t *dst_n = (size_t *)((char *)snap + dst->count_off);
	char *grown;

	grown = realloc(*dst_rows, (*dst_n + nfrom + 1) * dst->row_size);
	if (!grown)
		return -ENOMEM;
	*dst_rows = grown;
	ndst = *dst_n;
	for (i = 0; i < nfrom; i++) {
		const char *r = rows + i * from->row_size;
		char *u = grown + ndst * dst->row_size;

		if (!folds_counts(dst, r))
			continue;
		memset(u, 0, dst->row_size);
		memcpy(u, r + fold->key_off, dst->key_size);
		memcpy(u + dst->val_off, r + fold->val_off, val_size);
		if (dst->created && from->created)
			snap_put_u64(u, dst->created, snap_get_u64(r, from->created));
		ndst++;
	}
	*dst_n = ndst;
	return snapshot__merge_rows(snap, dst);
}

static int cmp_series_alias(const void *a, const void *b)
{
	const struct snap_alias *x = a, *y = b;

	if (x->src != y->src)
		return x->src < y->src ? -1 : 1;
	return x->from < y->from ? -1 : x->from > y->from;
}

/* The id a row of src with series id `id` merged into; id itself if it did not. */
static uint64_t resolve(const struct snapshot *snap, uint32_t src, uint64_t id)
{
	struct snap_alias want = {.from = id, .src = src};
	const struct snap_alias *a =
		bsearch(&want, snap->aliases, snap->naliases, sizeof(want), cmp_series_alias);

	return a ? a->to : id;
}

static int cmp_native(const void *a, const void *b)
{
	const struct snap_native *x = a, *y = b;

	if (x->series != y->series)
		return x->series < y->series ? -1 : 1;
	if (x->hist != y->hist)
		return x->hist < y->hist ? -1 : 1;
	return x->slot < y->slot ? -1 : x->slot > y->slot;
}

void snapshot__resolve_native(struct snapshot *snap)
{
	size_t i, out = 0;

	if (snap->naliases)
		qsort(snap->aliases, snap->naliases, sizeof(*snap->aliases), cmp_series_alias);
	for (i = 0; i < snap->nnative; i++) {
		struct snap_native *e = &snap->native[i];

		if (e->hist == CCPROXY_NH_POOL)
			continue; /* one series: summed over processes */
		e->series = resolve(snap, FAMILY_SRC_REQUESTS, e->series);
		if (e->hist >= CCPROXY_NH_LATENCY)
			e->series = resolve(snap, FAMILY_SRC_LATENCY, e->series);
	}
	if (snap->nnative)
		qsort(snap->native, snap->nnative, sizeof(*snap->native), cmp_native);
	for (i = 0; i < snap->nnative; i++) {
		struct snap_native *e = &snap->native[i];

		if (out && !cmp_native(&snap->native[out - 1], e))
			snap->native[out - 1].count =
				snap_add(snap->native[out - 1].count, e->count);
		else
			snap->native[out++] = *e;
	}
	snap->nnative = out;
}

void snapshot__add_native(const struct snapshot *snap, uint64_t series, uint32_t hist,
			  struct nhist_counts *h)
{
	const struct snap_native want = {.series = series, .hist = hist};
	size_t lo = 0, hi = snap->nnative;

	while (lo < hi) { /* the first bucket at or after (series, hist, 0) */
		size_t mid = lo + (hi - lo) / 2;

		if (cmp_native(&snap->native[mid], &want) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < snap->nnative; lo++) {
		const struct snap_native *e = &snap->native[lo];

		if (e->series != series || e->hist != hist)
			break;
		nhist__add_slot(h, e->slot, e->count);
	}
}

int snapshot__fold_request_usage(struct snapshot *snap)
{
	return snapshot__fold(snap, &family_sources[FAMILY_SRC_USAGE]);
}

int snapshot__fold_request_latency(struct snapshot *snap)
{
	return snapshot__fold(snap, &family_sources[FAMILY_SRC_LATENCY]);
}
