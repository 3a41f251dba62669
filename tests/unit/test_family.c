// SPDX-License-Identifier: BSD-2-Clause
#include <stdio.h>
#include <string.h>
#include <criterion/criterion.h>
#include "family.h"
#include "render.h"

static const double buckets[] = {0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 25.0};

/* Labels are printed in table order, which must be the name order prometheus_client prints. */
Test(family, labels_in_name_order_and_le_only_in_histograms)
{
	size_t i, j, les;

	for (i = 0; i < nfamilies; i++) {
		const struct family *f = &families[i];

		cr_assert_leq(f->nlabels, FAMILY_MAX_LABELS, "%s", f->name);
		for (j = 1; j < f->nlabels; j++)
			cr_expect_lt(strcmp(f->labels[j - 1].name, f->labels[j].name), 0, "%s: %s",
				     f->name, f->labels[j].name);
		for (j = 0, les = 0; j < f->nlabels; j++)
			les += f->labels[j].from == FAMILY_LABEL_LE;
		cr_expect_eq(les, f->type == FAMILY_HISTOGRAM, "%s", f->name);
		cr_expect_eq(f->bounds != FAMILY_BOUNDS_NONE, f->type == FAMILY_HISTOGRAM, "%s",
			     f->name);
		cr_expect_eq(f->value == FAMILY_VALUE_HIST, f->type == FAMILY_HISTOGRAM, "%s",
			     f->name);
	}
}

/* Every offset a row names lies inside the row: a wrong one would read past a snapshot row. */
Test(family, sources_and_families_stay_inside_their_rows)
{
	size_t i, j;

	for (i = 0; i < FAMILY_MAP_SOURCES; i++) {
		const struct family_source *s = &family_sources[i];

		cr_expect_leq(s->key_size, s->val_off, "%s", s->map);
		cr_expect_leq(s->tgid_off + sizeof(uint32_t), s->key_size, "%s", s->map);
		cr_expect_leq(s->flags_off + sizeof(uint32_t), s->key_size, "%s", s->map);
		for (j = 0; j < s->nstrs; j++)
			cr_expect_leq(s->strs[j].off + s->strs[j].size, s->key_size, "%s", s->map);
		for (j = 0; j < s->nsums; j++) {
			cr_expect_geq(s->sums[j].off, s->val_off, "%s", s->map);
			cr_expect_leq(s->sums[j].off + s->sums[j].count * sizeof(uint64_t),
				      s->row_size, "%s", s->map);
		}
	}
	for (i = 0; i < nfamilies; i++) {
		const struct family *f = &families[i];
		size_t row = family_sources[f->src].row_size;

		for (j = 0; j < f->nlabels; j++) {
			const struct family_field *fld = &f->labels[j].field;

			if (f->labels[j].from == FAMILY_LABEL_STR ||
			    f->labels[j].from == FAMILY_LABEL_STATUS)
				cr_expect_leq(fld->off + fld->size, row, "%s", f->name);
		}
		for (j = 0; j < f->nvariants; j++)
			cr_expect_leq(f->variants[j].val + sizeof(uint64_t), row, "%s", f->name);
		if (f->value == FAMILY_VALUE_U64 || f->value == FAMILY_VALUE_NANO ||
		    f->value == FAMILY_VALUE_BOOL)
			cr_expect_leq(f->val + sizeof(uint64_t), row, "%s", f->name);
	}
}

/* The JSON lists exactly the families the renderer prints, in the same order. */
Test(family, json_names_what_render_prints)
{
	static const double lat[] = {0.001, 2560.0};
	struct strbuf json = STRBUF_INIT, text = STRBUF_INIT;
	const struct family_opts b = {.response = buckets,
				      .nresponse = 10,
				      .latency = {lat, lat, lat, lat},
				      .nlatency = {2, 2, 2, 1},
				      .serve_latency = true};
	const struct render_opts o = {.namespace_ = "ns", .families = b};
	struct snapshot snap = {0};
	const char *j, *t;
	char want[128];
	size_t i;

	cr_assert_eq(family__json(&json, "ns", &b), 0);
	cr_assert_eq(render__families(&snap, &o, &text), 0);
	j = json.buf;
	t = text.buf;
	for (i = 0; i < nfamilies; i++) {
		const char *ns = families[i].bare ? "" : "ns_";

		snprintf(want, sizeof(want), "{\"name\": \"%s%s\"", ns, families[i].name);
		j = strstr(j, want);
		cr_assert_not_null(j, "json lacks %s", want);
		snprintf(want, sizeof(want), "# TYPE %s%s ", ns, families[i].name);
		t = strstr(t, want);
		cr_assert_not_null(t, "text lacks %s", want);
	}
	cr_expect_not_null(strstr(json.buf, "\"buckets\": [0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, "
					    "5.0, 10.0, 25.0]"));
	cr_expect_not_null(strstr(
		json.buf, "\"collect\": \"latency\", \"labels\": [\"le\", \"model\", "
			  "\"service_type\"], \"buckets\": [0.001, 2560.0], \"native\": true}"));
	cr_expect_not_null(strstr(json.buf, "\"buckets\": [0.001], \"native\": true}"));
	/* counters have no native buckets */
	cr_expect_not_null(strstr(json.buf,
				  "\"ns_requests_total\", \"help\": \"Total number of requests "
				  "processed\", \"type\": \"counter\", \"collect\": \"request\", "
				  "\"labels\": [\"endpoint\", \"method\", \"model\", "
				  "\"service_type\", \"status\"]}"));
	cr_expect_not_null(strstr(json.buf, "\"probes\": [\"request_start\", "));
	strbuf__free(&json);
	strbuf__free(&text);
}
