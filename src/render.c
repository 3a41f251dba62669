// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "expo.h"
#include "render.h"

static const char *const drop_reasons[CCPROXY_DROP_COUNT] = {
	[CCPROXY_DROP_READ_FAULT] = "read_fault",
	[CCPROXY_DROP_BAD_ABI] = "bad_abi",
	[CCPROXY_DROP_INVALID] = "invalid_value",
	[CCPROXY_DROP_INFLIGHT_FULL] = "inflight_full",
	[CCPROXY_DROP_UNPAIRED] = "unpaired",
	[CCPROXY_DROP_FOLDED] = "folded",
	[CCPROXY_DROP_MAP_FULL] = "map_full",
	[CCPROXY_DROP_SATURATED] = "saturated",
	[CCPROXY_DROP_INFLIGHT_PROCESS] = "inflight_per_process",
	[CCPROXY_DROP_NATIVE_FULL] = "native_full",
};

static const char *const probe_names[CCPROXY_PROBE_COUNT] = {CCPROXY_PROBE_NAMES};

#define CONST_LBL(n, v)                                                       \
	{                                                                     \
		.name = (n), .value = (v), .max = strlen(v), .fallback = NULL \
	}

/* A family's own labels, plus pid and container_id. */
#define MAX_LABELS (FAMILY_MAX_LABELS + 2)

static void sort_labels(struct expo_label *l, size_t n)
{
	size_t i, j;

	for (i = 1; i < n; i++) {
		struct expo_label cur = l[i];

		for (j = i; j > 0 && strcmp(l[j - 1].name, cur.name) > 0; j--)
			l[j] = l[j - 1];
		l[j] = cur;
	}
}

/* One row of a family as it prints: its labels are taken from the row, or the overflow ones. */
struct series {
	const struct family *f;
	const struct family_source *src;
	const char *row;
	bool overflow;
	const double *bounds; /* the family's, found once per family */
	size_t nbounds;
	uint64_t created; /* CLOCK_MONOTONIC ns: the row's, or its group's earliest; 0: unknown */
	char status[16], pid[16];
};

static uint32_t row_u32(const char *row, size_t off)
{
	uint32_t v;

	memcpy(&v, row + off, sizeof(v));
	return v;
}

static bool is_overflow_label(const char *row, const struct family_field *f)
{
	return !strncmp(row + f->off, RENDER_OVERFLOW_LABEL, f->size);
}

/*
 * Whether a row prints as its family's overflow series: its flag, or, for a family whose
 * rows group, string labels that all read the overflow label (they would print as it).
 */
static bool row_overflow(const struct family *f, const struct family_source *src, const char *row)
{
	size_t i, nstr = 0;

	if (src->flags_off == SIZE_MAX)
		return false;
	if (row_u32(row, src->flags_off) & CCPROXY_KEY_OVERFLOW)
		return true;
	if (!f->group)
		return false;
	for (i = 0; i < f->nlabels; i++) {
		if (f->labels[i].from != FAMILY_LABEL_STR)
			continue;
		if (!is_overflow_label(row, &f->labels[i].field))
			return false;
		nstr++;
	}
	return nstr > 0;
}

static const char *status_label(struct series *s, const struct family_field *f)
{
	uint32_t status = row_u32(s->row, f->off);

	if (s->overflow)
		return RENDER_OVERFLOW_LABEL;
	if (!status)
		return "error";
	snprintf(s->status, sizeof(s->status), "%u", status);
	return s->status;
}

/*
 * The labels of a series, in output order: le left out (its place returned in *le_at), pid
 * and container_id sorted in with per-process labels. Returns the count.
 */
static size_t series_labels(struct series *s, const struct snapshot *snap,
			    const struct render_opts *o, const char *variant, struct expo_label *l,
			    size_t *le_at)
{
	const struct family *f = s->f;
	uint32_t tgid = 0;
	size_t i, n = 0;

	*le_at = SIZE_MAX;
	for (i = 0; i < f->nlabels; i++) {
		const struct family_label *d = &f->labels[i];

		switch (d->from) {
		case FAMILY_LABEL_STR:
			l[n++] = (struct expo_label){
				.name = d->name,
				.value =
					s->overflow ? RENDER_OVERFLOW_LABEL : s->row + d->field.off,
				.max = s->overflow ? sizeof(RENDER_OVERFLOW_LABEL) : d->field.size,
				.fallback = SNAP_EMPTY_LABEL};
			break;
		case FAMILY_LABEL_STATUS:
			l[n++] = (struct expo_label)CONST_LBL(d->name, status_label(s, &d->field));
			break;
		case FAMILY_LABEL_CONST:
			l[n++] = (struct expo_label)CONST_LBL(d->name, d->value);
			break;
		case FAMILY_LABEL_VARIANT:
			l[n++] = (struct expo_label)CONST_LBL(d->name, variant);
			break;
		case FAMILY_LABEL_LE:
			*le_at = n;
			break;
		}
	}
	if (s->src->tgid_off != SIZE_MAX)
		tgid = row_u32(s->row, s->src->tgid_off);
	if (o->per_process && tgid) {
		const struct snap_proc *p = snapshot__proc(snap, tgid);

		snprintf(s->pid, sizeof(s->pid), "%u", tgid);
		l[n++] = (struct expo_label)CONST_LBL("pid", s->pid);
		if (p && p->container_id[0])
			l[n++] = (struct expo_label)CONST_LBL("container_id", p->container_id);
		sort_labels(l, n);
		/* le sorts between the names before and after it. */
		for (i = 0; *le_at != SIZE_MAX && i < n; i++) {
			if (strcmp(l[i].name, "le") > 0)
				break;
		}
		if (*le_at != SIZE_MAX)
			*le_at = i;
	}
	return n;
}

/* The sink's view of a family: the namespace applies unless the family is bare. */
static struct render_family sink_family(const struct family *f, const struct render_opts *o)
{
	return (struct render_family){.ns = f->bare ? NULL : o->namespace_,
				      .name = f->name,
				      .help = f->help,
				      .type = f->type};
}

/* A labelled row's series exists once it counted something; the one node row always does. */
static bool row_counted(const struct family *f, const char *row, size_t val, size_t nbounds)
{
	size_t i;

	if (f->src == FAMILY_SRC_NODE || f->src == FAMILY_SRC_VERSIONS)
		return true;
	if (f->value != FAMILY_VALUE_HIST)
		return snap_get_u64(row, val) != 0;
	for (i = 0; i <= nbounds; i++) {
		if (snap_get_u64(row, val + i * sizeof(uint64_t)))
			return true;
	}
	return false;
}

/* The row's created_ns, if its family sends one (counters and histograms only). */
static uint64_t row_created(const struct family *f, const struct family_source *src,
			    const char *row)
{
	return f->type != FAMILY_GAUGE && src->created ? snap_get_u64(row, src->created) : 0;
}

/* A series' creation in wall-clock ns, or 0: unknown, not asked for, or before the epoch. */
static uint64_t wall_created(const struct series *s, const struct render_opts *o)
{
	int64_t wall;

	if (!o->created || !s->created || s->created > INT64_MAX)
		return 0;
	if (__builtin_add_overflow((int64_t)s->created, o->wall_minus_mono_ns, &wall))
		return 0;
	return wall > 0 ? (uint64_t)wall : 0;
}

static struct render_value row_value(const struct family *f, const char *row, size_t val)
{
	switch (f->value) {
	case FAMILY_VALUE_NANO:
		return (struct render_value){.d = (double)snap_get_u64(row, val) / 1e9};
	case FAMILY_VALUE_ONE:
		return (struct render_value){.is_u64 = true, .u = 1};
	case FAMILY_VALUE_BOOL:
		return (struct render_value){.is_u64 = true, .u = snap_get_u64(row, val) != 0};
	default:
		return (struct render_value){.is_u64 = true, .u = snap_get_u64(row, val)};
	}
}

/* Whether f's series carry native buckets here: native histograms on, and f has them. */
static bool serves_native(const struct family *f, const struct render_opts *o)
{
	return o->native && f->nh_lost;
}

/*
 * Adds a row's native buckets to nh. False if the row lost some to a full map: its series
 * then goes with its classic buckets only, never with native counts that miss some.
 */
static bool add_native(const struct family *f, const struct snapshot *snap, const char *row,
		       struct nhist_counts *nh)
{
	const struct family_source *src = &family_sources[f->src];
	uint64_t series = src->id_off ? snap_get_u64(row, src->id_off) : 0;

	if (snap_get_u64(row, f->nh_lost))
		return false;
	snapshot__add_native(snap, series, f->nh_hist, nh);
	return true;
}

/* One row of a family, or the sum of a group of rows (hist and sum_ns given); nh: its native
 * buckets, or NULL. */
static int render_series(struct series *s, const struct snapshot *snap, const struct render_opts *o,
			 const struct render_sink *sink, const uint64_t *hist, uint64_t sum_ns,
			 const struct nhist_counts *nh)
{
	const struct render_family rf = sink_family(s->f, o);
	struct expo_label l[MAX_LABELS];
	struct render_hist h;
	size_t i, n, le_at;
	int err = 0;

	if (s->f->value == FAMILY_VALUE_HIST) {
		h.bounds = s->bounds;
		h.nbounds = s->nbounds;
		h.buckets = hist ? hist : (const uint64_t *)(s->row + s->f->val);
		h.sum_ns = hist ? sum_ns : snap_get_u64(s->row, s->f->sum);
		h.nh = nh;
		h.created_ns = wall_created(s, o);
		n = series_labels(s, snap, o, NULL, l, &le_at);
		return sink->ops->histogram(sink->ctx, &rf, l, n, le_at, &h);
	}
	for (i = 0; !err && i < (s->f->nvariants ? s->f->nvariants : 1); i++) {
		const struct family_variant *v = s->f->nvariants ? &s->f->variants[i] : NULL;
		size_t val = v ? v->val : s->f->val;
		struct render_value rv;

		if (!row_counted(s->f, s->row, val, 0))
			continue;
		n = series_labels(s, snap, o, v ? v->value : NULL, l, &le_at);
		rv = row_value(s->f, s->row, val);
		rv.created_ns = wall_created(s, o);
		err = sink->ops->sample(sink->ctx, &rf, l, n, rv);
	}
	return err;
}

/* What a row of a grouping family prints as, compared field by field; see row_overflow. */
struct group_cmp {
	const struct family *f;
	const struct family_source *src;
};

static int cmp_group(const struct group_cmp *g, const char *a, const char *b)
{
	static const char none[CCPROXY_MODEL_MAX];
	bool ao = row_overflow(g->f, g->src, a), bo = row_overflow(g->f, g->src, b);
	uint32_t x, y;
	size_t i;
	int c;

	for (i = 0; i < g->f->nlabels; i++) {
		const struct family_field *fld = &g->f->labels[i].field;

		if (g->f->labels[i].from != FAMILY_LABEL_STR)
			continue;
		c = memcmp(ao ? none : a + fld->off, bo ? none : b + fld->off, fld->size);
		if (c)
			return c;
	}
	x = row_u32(a, g->src->tgid_off);
	y = row_u32(b, g->src->tgid_off);
	if (x != y)
		return x < y ? -1 : 1;
	x = ao ? CCPROXY_KEY_OVERFLOW : row_u32(a, g->src->flags_off);
	y = bo ? CCPROXY_KEY_OVERFLOW : row_u32(b, g->src->flags_off);
	return (int)x - (int)y;
}

static int cmp_group_r(const void *a, const void *b, void *ctx)
{
	return cmp_group(ctx, *(const char *const *)a, *(const char *const *)b);
}

/* Sums each run of rows that print alike into one series. */
static int render_groups(const struct family *f, const struct snapshot *snap,
			 const struct render_opts *o, const struct render_sink *sink)
{
	struct group_cmp g = {f, &family_sources[f->src]};
	uint64_t hist[CCPROXY_MAX_BUCKETS + 1], sum_ns = 0, created = 0;
	struct nhist_counts *nh = NULL;
	size_t nrows, i, j, n = 0, nbounds;
	const double *bounds;
	const char *rows = family__rows(snap, f->src, &nrows), **idx;
	bool whole = true; /* no row of the group lost native buckets */
	int err = 0;

	bounds = family__bounds(f, &o->families, &nbounds);
	if (nbounds > CCPROXY_MAX_BUCKETS)
		return -EINVAL;
	idx = malloc((nrows + 1) * sizeof(*idx));
	if (serves_native(f, o))
		nh = calloc(1, sizeof(*nh));
	if (!idx || (serves_native(f, o) && !nh)) {
		free(idx);
		return -ENOMEM;
	}
	for (i = 0; i < nrows; i++) {
		if (row_counted(f, rows + i * g.src->row_size, f->val, nbounds))
			idx[n++] = rows + i * g.src->row_size;
	}
	qsort_r(idx, n, sizeof(*idx), cmp_group_r, &g);
	for (i = 0; !err && i < n; i++) {
		if (!i || cmp_group(&g, idx[i - 1], idx[i])) {
			memset(hist, 0, sizeof(hist));
			sum_ns = 0;
			created = 0;
			if (nh)
				nhist__clear(nh);
			whole = true;
		}
		if (nh)
			whole = add_native(f, snap, idx[i], nh) && whole;
		for (j = 0; j <= nbounds; j++)
			hist[j] = snap_add(hist[j],
					   snap_get_u64(idx[i], f->val + j * sizeof(uint64_t)));
		sum_ns = snap_add(sum_ns, snap_get_u64(idx[i], f->sum));
		created = snap_earliest(created, row_created(f, g.src, idx[i]));
		if (i + 1 == n || cmp_group(&g, idx[i], idx[i + 1])) {
			struct series s = {.f = f,
					   .src = g.src,
					   .row = idx[i],
					   .bounds = bounds,
					   .nbounds = nbounds,
					   .created = created};

			s.overflow = row_overflow(f, g.src, s.row);

			err = render_series(&s, snap, o, sink, hist, sum_ns, whole ? nh : NULL);
		}
	}
	free(nh);
	free(idx);
	return err;
}

static int render_family(const struct family *f, const struct snapshot *snap,
			 const struct render_opts *o, const struct render_sink *sink)
{
	const struct family_source *src = &family_sources[f->src];
	const struct render_family rf = sink_family(f, o);
	size_t nrows, i, nbounds;
	const char *rows = family__rows(snap, f->src, &nrows);
	const double *bounds;
	struct nhist_counts *nh;
	int err;

	if (f->collect == FAMILY_COLLECT_LATENCY && !o->families.serve_latency)
		return 0; /* an extension: switched off, not even HELP and TYPE */
	bounds = family__bounds(f, &o->families, &nbounds);
	err = sink->ops->family(sink->ctx, &rf);
	if (err)
		return err;
	if (f->group)
		return render_groups(f, snap, o, sink);
	nh = serves_native(f, o) ? calloc(1, sizeof(*nh)) : NULL;
	if (serves_native(f, o) && !nh)
		return -ENOMEM;
	for (i = 0; !err && i < nrows; i++) {
		struct series s = {.f = f,
				   .src = src,
				   .row = rows + i * src->row_size,
				   .bounds = bounds,
				   .nbounds = nbounds};

		s.overflow = row_overflow(f, src, s.row);
		s.created = row_created(f, src, s.row);
		if (f->value == FAMILY_VALUE_HIST && !row_counted(f, s.row, f->val, nbounds))
			continue;
		if (nh)
			nhist__clear(nh);
		err = render_series(&s, snap, o, sink, NULL, 0,
				    nh && add_native(f, snap, s.row, nh) ? nh : NULL);
	}
	free(nh);
	return err;
}

int render__families_to(const struct snapshot *snap, const struct render_opts *o,
			const struct render_sink *sink)
{
	size_t i;
	int err = 0;

	for (i = 0; !err && i < nfamilies; i++)
		err = render_family(&families[i], snap, o, sink);
	return err;
}

int render__families(const struct snapshot *snap, const struct render_opts *o, struct strbuf *sb)
{
	struct text_sink ts;
	struct render_sink sink = text_sink__init(&ts, sb);
	int err = render__families_to(snap, o, &sink);

	text_sink__free(&ts);
	return err ? err : sb->err;
}

/* The exporter's own families: a fixed prefix, whatever the namespace. */
#define SELF "ccproxy_exporter"

static int self_family(const struct render_sink *sink, struct render_family *rf, const char *name,
		       const char *help, enum family_type type)
{
	*rf = (struct render_family){.ns = SELF, .name = name, .help = help, .type = type};
	return sink->ops->family(sink->ctx, rf);
}

static int self_u64(const struct render_sink *sink, const struct render_family *rf,
		    const struct expo_label *l, size_t n, uint64_t v)
{
	return sink->ops->sample(sink->ctx, rf, l, n,
				 (struct render_value){.is_u64 = true, .u = v});
}

static int self_double(const struct render_sink *sink, const struct render_family *rf,
		       const struct expo_label *l, size_t n, double v)
{
	return sink->ops->sample(sink->ctx, rf, l, n, (struct render_value){.d = v});
}

/* A family with one sample per name of names[0..n), labelled `label`. */
static int self_labelled(const struct render_sink *sink, const char *name, const char *help,
			 enum family_type type, const char *label, const char *const *names,
			 const uint64_t *v, size_t stride, size_t n)
{
	struct render_family rf;
	size_t i;
	int err = self_family(sink, &rf, name, help, type);

	for (i = 0; !err && i < n; i++) {
		const struct expo_label l[] = {CONST_LBL(label, names[i])};

		err = self_u64(sink, &rf, l, 1, *(const uint64_t *)((const char *)v + i * stride));
	}
	return err;
}

static int render_maps(const struct snapshot *snap, const struct render_sink *sink)
{
	struct render_family rf;
	size_t i;
	int err;

	err = self_family(sink, &rf, "map_entries", "Entries in each BPF map.", FAMILY_GAUGE);
	for (i = 0; !err && i < SNAP_MAP_COUNT; i++) {
		const struct expo_label l[] = {CONST_LBL("map", snap_map_names[i])};

		if (snap->maps[i].capacity) /* read by this scrape (native: protobuf only) */
			err = self_u64(sink, &rf, l, 1, snap->maps[i].entries);
	}
	if (!err)
		err = self_family(sink, &rf, "map_capacity",
				  "Capacity of each BPF map, a family's overflow series included.",
				  FAMILY_GAUGE);
	for (i = 0; !err && i < SNAP_MAP_COUNT; i++) {
		const struct expo_label l[] = {CONST_LBL("map", snap_map_names[i])};

		if (snap->maps[i].capacity)
			err = self_u64(sink, &rf, l, 1, snap->maps[i].capacity);
	}
	return err;
}

static int render_progs(const struct snapshot *snap, const struct render_sink *sink)
{
	struct render_family rf;
	size_t i;
	int err;

	if (!snap->prog_stats)
		return 0;
	err = self_labelled(sink, "bpf_program_runs_total",
			    "Runs of each BPF program (kernel.bpf_stats_enabled=1 only).",
			    FAMILY_COUNTER, "program", probe_names, &snap->progs[0].run_cnt,
			    sizeof(snap->progs[0]), CCPROXY_PROBE_COUNT);
	if (!err)
		err = self_family(
			sink, &rf, "bpf_program_run_seconds_total",
			"Time spent in each BPF program (kernel.bpf_stats_enabled=1 only).",
			FAMILY_COUNTER);
	for (i = 0; !err && i < CCPROXY_PROBE_COUNT; i++) {
		const struct expo_label l[] = {CONST_LBL("program", probe_names[i])};

		err = self_double(sink, &rf, l, 1, (double)snap->progs[i].run_time_ns / 1e9);
	}
	return err;
}

static int self_gauge(const struct render_sink *sink, const char *name, const char *help,
		      uint64_t v)
{
	struct render_family rf;
	int err = self_family(sink, &rf, name, help, FAMILY_GAUGE);

	return err ? err : self_u64(sink, &rf, NULL, 0, v);
}

int render__self_to(const struct snapshot *snap, double scrape_seconds,
		    const struct render_sink *sink)
{
	struct render_family rf;
	int err;

	err = self_family(sink, &rf, "scrape_duration_seconds",
			  "Time spent reading the BPF maps and rendering this scrape.",
			  FAMILY_GAUGE);
	if (!err)
		err = self_double(sink, &rf, NULL, 0, scrape_seconds);
	if (!err)
		err = self_gauge(sink, "attached_processes", "Proxy processes attached and alive.",
				 snap->attached);
	if (!err)
		err = self_gauge(sink, "attached_objects",
				 "Executables and shared objects whose probes are attached, for "
				 "all their processes.",
				 snap->objects);
	if (!err)
		err = render_maps(snap, sink);
	if (!err)
		err = self_labelled(
			sink, "events_dropped_total",
			"Probe events, or parts of them, not recorded as sent, by reason.",
			FAMILY_COUNTER, "reason", drop_reasons, snap->stats.drops, sizeof(uint64_t),
			CCPROXY_DROP_COUNT);
	if (!err)
		err = self_labelled(sink, "probe_hits_total",
				    "Probe hits seen by the BPF programs.", FAMILY_COUNTER, "probe",
				    probe_names, snap->stats.hits, sizeof(uint64_t),
				    CCPROXY_PROBE_COUNT);
	if (!err)
		err = render_progs(snap, sink);
	return err;
}

int render__self(const struct snapshot *snap, double scrape_seconds, struct strbuf *sb)
{
	struct text_sink ts;
	struct render_sink sink = text_sink__init(&ts, sb);
	int err = render__self_to(snap, scrape_seconds, &sink);

	text_sink__free(&ts);
	return err ? err : sb->err;
}
