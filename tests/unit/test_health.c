// SPDX-License-Identifier: BSD-2-Clause
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <criterion/criterion.h>
#include "health.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static struct strbuf sb;

static void setup(void)
{
	memset(&sb, 0, sizeof(sb));
}

static void teardown(void)
{
	strbuf__free(&sb);
}

TestSuite(health, .init = setup, .fini = teardown);

/* ---- A strict little JSON parser (RFC 8259), enough to read the document back ---- */

enum jtype { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

struct jval {
	enum jtype type;
	bool b;
	double num;
	char *str;	     /* J_STR: decoded to UTF-8; NUL-free in these tests */
	char **keys;	     /* J_OBJ */
	struct jval **items; /* J_ARR, J_OBJ */
	size_t n;
};

struct jparser {
	const char *p;
	int depth;
};

static struct jval *jparse_value(struct jparser *j);

static void jskip(struct jparser *j)
{
	while (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')
		j->p++;
}

static void jfree(struct jval *v)
{
	size_t i;

	if (!v)
		return;
	for (i = 0; i < v->n; i++) {
		jfree(v->items[i]);
		if (v->keys)
			free(v->keys[i]);
	}
	free(v->items);
	free(v->keys);
	free(v->str);
	free(v);
}

static void put_utf8(char **out, unsigned int cp)
{
	char *o = *out;

	if (cp < 0x80) {
		*o++ = (char)cp;
	} else if (cp < 0x800) {
		*o++ = (char)(0xc0 | cp >> 6);
		*o++ = (char)(0x80 | (cp & 0x3f));
	} else {
		*o++ = (char)(0xe0 | cp >> 12);
		*o++ = (char)(0x80 | (cp >> 6 & 0x3f));
		*o++ = (char)(0x80 | (cp & 0x3f));
	}
	*out = o;
}

/* A string; raw bytes below 0x20 and unknown escapes are errors. NULL on error. */
static char *jparse_string(struct jparser *j)
{
	const char *p = j->p;
	char *s, *o;

	if (*p++ != '"')
		return NULL;
	s = o = malloc(strlen(p) * 3 + 1);
	cr_assert_not_null(s);
	for (; *p != '"'; p++) {
		unsigned int cp;

		if ((unsigned char)*p < 0x20)
			goto fail;
		if (*p != '\\') {
			*o++ = *p;
			continue;
		}
		switch (*++p) {
		case '"':
		case '\\':
		case '/':
			*o++ = *p;
			break;
		case 'b':
			*o++ = '\b';
			break;
		case 'f':
			*o++ = '\f';
			break;
		case 'n':
			*o++ = '\n';
			break;
		case 'r':
			*o++ = '\r';
			break;
		case 't':
			*o++ = '\t';
			break;
		case 'u':
			if (!isxdigit((unsigned char)p[1]) || !isxdigit((unsigned char)p[2]) ||
			    !isxdigit((unsigned char)p[3]) || !isxdigit((unsigned char)p[4]) ||
			    sscanf(p + 1, "%4x", &cp) != 1 || (cp >= 0xd800 && cp <= 0xdfff))
				goto fail;
			put_utf8(&o, cp);
			p += 4;
			break;
		default:
			goto fail;
		}
	}
	*o = '\0';
	j->p = p + 1;
	return s;
fail:
	free(s);
	return NULL;
}

static bool jparse_members(struct jparser *j, struct jval *v, bool object)
{
	char close = object ? '}' : ']';

	j->p++;
	jskip(j);
	if (*j->p == close) {
		j->p++;
		return true;
	}
	for (;;) {
		struct jval *item;
		char *key = NULL;

		v->items = realloc(v->items, (v->n + 1) * sizeof(*v->items));
		cr_assert_not_null(v->items);
		if (object) {
			v->keys = realloc(v->keys, (v->n + 1) * sizeof(*v->keys));
			cr_assert_not_null(v->keys);
			jskip(j);
			key = jparse_string(j);
			if (!key)
				return false;
			jskip(j);
			if (*j->p++ != ':') {
				free(key);
				return false;
			}
		}
		item = jparse_value(j);
		if (!item) {
			free(key);
			return false;
		}
		if (object)
			v->keys[v->n] = key;
		v->items[v->n++] = item;
		jskip(j);
		if (*j->p == close) {
			j->p++;
			return true;
		}
		if (*j->p++ != ',')
			return false;
	}
}

static struct jval *jparse_value(struct jparser *j)
{
	struct jval *v = calloc(1, sizeof(*v));
	char *end;

	cr_assert_not_null(v);
	if (++j->depth > 32)
		goto fail;
	jskip(j);
	if (*j->p == '{' || *j->p == '[') {
		v->type = *j->p == '{' ? J_OBJ : J_ARR;
		if (!jparse_members(j, v, v->type == J_OBJ))
			goto fail;
	} else if (*j->p == '"') {
		v->type = J_STR;
		if (!(v->str = jparse_string(j)))
			goto fail;
	} else if (!strncmp(j->p, "true", 4) || !strncmp(j->p, "false", 5)) {
		v->type = J_BOOL;
		v->b = *j->p == 't';
		j->p += v->b ? 4 : 5;
	} else if (!strncmp(j->p, "null", 4)) {
		v->type = J_NULL;
		j->p += 4;
	} else if (*j->p == '-' || isdigit((unsigned char)*j->p)) {
		v->type = J_NUM;
		v->num = strtod(j->p, &end);
		if (end == j->p)
			goto fail;
		j->p = end;
	} else {
		goto fail;
	}
	j->depth--;
	return v;
fail:
	jfree(v);
	return NULL;
}

/* The whole text must be one value (whitespace around it allowed). */
static struct jval *jparse(const char *text)
{
	struct jparser j = {.p = text};
	struct jval *v = jparse_value(&j);

	if (v) {
		jskip(&j);
		if (*j.p) {
			jfree(v);
			v = NULL;
		}
	}
	return v;
}

static const struct jval *jget(const struct jval *obj, const char *key)
{
	size_t i;

	cr_assert_eq(obj->type, J_OBJ);
	for (i = 0; i < obj->n; i++) {
		if (!strcmp(obj->keys[i], key))
			return obj->items[i];
	}
	cr_assert_fail("no key %s", key);
	return NULL;
}

static const char *jstr(const struct jval *obj, const char *key)
{
	const struct jval *v = jget(obj, key);

	cr_assert_eq(v->type, J_STR, "%s is not a string", key);
	return v->str;
}

Test(health, json_parser_self_check)
{
	static const char *const bad[] = {
		"", "{", "{\"a\" 1}", "[1,]", "\"\x01\"", "\"\\q\"", "\"\\u12\"", "{} x", "tru",
	};
	struct jval *v;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		v = jparse(bad[i]);
		cr_expect_null(v, "accepted: %s", bad[i]);
		jfree(v);
	}
	v = jparse(" {\"a\": [1, true, null, \"x\\u00e9\\n\"], \"b\": {}}\n");
	cr_assert_not_null(v);
	cr_expect_eq(jget(v, "a")->n, 4);
	cr_expect_str_eq(jget(v, "a")->items[3]->str, "x\xc3\xa9\n");
	jfree(v);
}

/* ---- health__json_string ---- */

static const char *json_string(const char *s)
{
	strbuf__reset(&sb);
	cr_assert_eq(health__json_string(&sb, s), 0);
	cr_assert_not_null(sb.buf);
	return sb.buf;
}

Test(health, json_string_plain_and_empty)
{
	cr_expect_str_eq(json_string(""), "\"\"");
	cr_expect_str_eq(json_string("ccproxy"), "\"ccproxy\"");
	cr_expect_str_eq(json_string("/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0"),
			 "\"/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0\"");
	cr_expect_str_eq(json_string(" !#$%&'()*+,-./09:;<=>?@AZ[]^_`az{|}~"),
			 "\" !#$%&'()*+,-./09:;<=>?@AZ[]^_`az{|}~\"");
}

Test(health, json_string_quotes_and_backslash)
{
	cr_expect_str_eq(json_string("a\"b"), "\"a\\\"b\"");
	cr_expect_str_eq(json_string("a\\b"), "\"a\\\\b\"");
	cr_expect_str_eq(json_string("\"\\\""), "\"\\\"\\\\\\\"\"");
}

Test(health, json_string_control_bytes)
{
	char in[2] = {0};
	char want[16];
	int c;

	cr_expect_str_eq(json_string("a\nb\tc\rd"), "\"a\\u000ab\\u0009c\\u000dd\"");
	for (c = 1; c < 0x20; c++) {
		in[0] = (char)c;
		snprintf(want, sizeof(want), "\"\\u%04x\"", c);
		cr_expect_str_eq(json_string(in), want, "byte %#x", c);
	}
	cr_expect_str_eq(json_string("\x7f"), "\"\\u007f\"");
}

/* Paths are bytes: each byte >= 0x80 becomes \u00XX, so the document stays valid JSON. */
Test(health, json_string_high_bytes)
{
	char in[2] = {0};
	char want[16];
	int c;

	cr_expect_str_eq(json_string("\xff"), "\"\\u00ff\"");
	cr_expect_str_eq(json_string("a\x80z"), "\"a\\u0080z\"");
	cr_expect_str_eq(json_string("\xc3\xa9"), "\"\\u00c3\\u00a9\"");
	for (c = 0x80; c < 0x100; c++) {
		in[0] = (char)c;
		snprintf(want, sizeof(want), "\"\\u%04x\"", c);
		cr_expect_str_eq(json_string(in), want, "byte %#x", c);
	}
}

/* Every byte value, in one string: the output is ASCII and parses back. */
Test(health, json_string_every_byte_parses)
{
	char in[256];
	const char *out;
	struct jval *v;
	size_t i;

	for (i = 1; i < 256; i++)
		in[i - 1] = (char)i;
	in[255] = '\0';
	out = json_string(in);
	for (i = 0; out[i]; i++)
		cr_assert(out[i] >= 0x20 && out[i] < 0x7f, "byte %#x at %zu", out[i], i);
	v = jparse(out);
	cr_assert_not_null(v, "%s", out);
	cr_expect_eq(v->type, J_STR);
	/* ASCII comes back as itself. */
	cr_expect_eq(memcmp(v->str, in, 0x7e), 0);
	jfree(v);
}

Test(health, json_string_appends_and_keeps_sticky_error)
{
	cr_assert_eq(strbuf__puts(&sb, "x="), 0);
	cr_assert_eq(health__json_string(&sb, "y"), 0);
	cr_expect_str_eq(sb.buf, "x=\"y\"");
	sb.err = -ENOMEM;
	cr_expect_eq(health__json_string(&sb, "z"), -ENOMEM);
	cr_expect_eq(sb.len, strlen("x=\"y\""));
}

/* ---- health__render ---- */

static struct jval *render(const struct config *cfg, const struct target *t, size_t n)
{
	struct jval *v;

	strbuf__reset(&sb);
	cr_assert_eq(health__render(cfg, t, n, &sb), 0);
	cr_assert_not_null(sb.buf);
	cr_expect_eq(sb.buf[sb.len - 1], '\n');
	v = jparse(sb.buf);
	cr_assert_not_null(v, "not JSON: %s", sb.buf);
	cr_assert_eq(v->type, J_OBJ);
	return v;
}

static void set_object(struct target *t, size_t i, const char *path)
{
	snprintf(t->objects[i].path, sizeof(t->objects[i].path), "%s", path);
	if (t->nobjects < i + 1)
		t->nobjects = i + 1;
}

Test(health, render_defaults_no_processes)
{
	struct config cfg;
	struct jval *v;

	config__defaults(&cfg);
	v = render(&cfg, NULL, 0);
	/* ccproxy's fields first, in its order. */
	cr_assert_geq(v->n, 4);
	cr_expect_str_eq(v->keys[0], "status");
	cr_expect_str_eq(v->keys[1], "prometheus_enabled");
	cr_expect_str_eq(v->keys[2], "namespace");
	cr_expect_str_eq(jstr(v, "status"), "healthy");
	cr_expect_eq(jget(v, "prometheus_enabled")->type, J_BOOL);
	cr_expect(jget(v, "prometheus_enabled")->b);
	cr_expect_str_eq(jstr(v, "namespace"), "ccproxy");
	cr_expect_eq(jget(v, "processes")->type, J_ARR);
	cr_expect_eq(jget(v, "processes")->n, 0);
	jfree(v);
}

Test(health, render_disabled_and_endpoint_off)
{
	struct config cfg;
	struct jval *v;

	config__defaults(&cfg);
	cfg.enabled = false;
	v = render(&cfg, NULL, 0);
	cr_expect_str_eq(jstr(v, "status"), "disabled");
	cr_expect_eq(jget(v, "prometheus_enabled")->type, J_BOOL);
	cr_expect_not(jget(v, "prometheus_enabled")->b);
	jfree(v);

	config__defaults(&cfg);
	cfg.metrics_endpoint_enabled = false;
	v = render(&cfg, NULL, 0);
	cr_expect_str_eq(jstr(v, "status"), "healthy");
	cr_expect_not(jget(v, "prometheus_enabled")->b);
	jfree(v);
}

Test(health, render_namespace_null_when_empty)
{
	struct config cfg;
	struct jval *v;

	config__defaults(&cfg);
	cfg.namespace_[0] = '\0';
	v = render(&cfg, NULL, 0);
	cr_expect_eq(jget(v, "namespace")->type, J_NULL);
	jfree(v);

	snprintf(cfg.namespace_, sizeof(cfg.namespace_), "my_proxy");
	v = render(&cfg, NULL, 0);
	cr_expect_str_eq(jstr(v, "namespace"), "my_proxy");
	jfree(v);
}

Test(health, render_processes_attached_and_exited)
{
	struct target t[3];
	struct config cfg;
	const struct jval *procs, *p;
	struct jval *v;

	memset(t, 0, sizeof(t));
	config__defaults(&cfg);
	t[0].pid = 1234;
	t[0].alive = true;
	t[0].probes = (1u << CCPROXY_PROBE_COUNT) - 1;
	set_object(&t[0], 0, "/usr/bin/python3.11");
	set_object(&t[0], 1, "/opt/ccproxy/lib/_ccproxy_usdt.cpython-311-x86_64-linux-gnu.so");
	t[1].pid = 99;
	t[1].alive = false;
	t[1].probes = 0x5;
	set_object(&t[1], 0, "/tmp/we\"ird\\path\n\xff");
	t[2].pid = 4194304;
	t[2].alive = true;
	v = render(&cfg, t, ARRAY_SIZE(t));
	procs = jget(v, "processes");
	cr_assert_eq(procs->type, J_ARR);
	cr_assert_eq(procs->n, 3);

	p = procs->items[0];
	cr_expect_eq(jget(p, "pid")->type, J_NUM);
	cr_expect_eq(jget(p, "pid")->num, 1234);
	cr_expect_str_eq(jstr(p, "state"), "attached");
	cr_expect_eq(jget(p, "probes")->num, CCPROXY_PROBE_COUNT);
	cr_assert_eq(jget(p, "objects")->type, J_ARR);
	cr_assert_eq(jget(p, "objects")->n, 2);
	cr_expect_str_eq(jget(p, "objects")->items[0]->str, "/usr/bin/python3.11");
	cr_expect_str_eq(jget(p, "objects")->items[1]->str,
			 "/opt/ccproxy/lib/_ccproxy_usdt.cpython-311-x86_64-linux-gnu.so");

	p = procs->items[1];
	cr_expect_eq(jget(p, "pid")->num, 99);
	cr_expect_str_eq(jstr(p, "state"), "exited");
	cr_expect_eq(jget(p, "probes")->num, 2);
	cr_assert_eq(jget(p, "objects")->n, 1);
	/* \xff comes back as U+00FF: the bytes stay visible, the JSON stays valid. */
	cr_expect_str_eq(jget(p, "objects")->items[0]->str, "/tmp/we\"ird\\path\n\xc3\xbf");

	p = procs->items[2];
	cr_expect_eq(jget(p, "pid")->num, 4194304);
	cr_expect_str_eq(jstr(p, "state"), "attached");
	cr_expect_eq(jget(p, "probes")->num, 0);
	cr_expect_eq(jget(p, "objects")->type, J_ARR);
	cr_expect_eq(jget(p, "objects")->n, 0);
	jfree(v);
}

Test(health, render_full_object_table)
{
	struct target t;
	struct config cfg;
	struct jval *v;
	const struct jval *objs;
	char path[256];
	size_t i;

	memset(&t, 0, sizeof(t));
	config__defaults(&cfg);
	t.pid = 7;
	t.alive = true;
	for (i = 0; i < TARGET_MAX_OBJECTS; i++) {
		memset(path, 'a' + (int)i, sizeof(path) - 1);
		path[0] = '/';
		path[sizeof(path) - 1] = '\0';
		set_object(&t, i, path);
	}
	v = render(&cfg, &t, 1);
	objs = jget(jget(v, "processes")->items[0], "objects");
	cr_assert_eq(objs->n, TARGET_MAX_OBJECTS);
	for (i = 0; i < TARGET_MAX_OBJECTS; i++)
		cr_expect_str_eq(objs->items[i]->str, t.objects[i].path);
	jfree(v);
}

Test(health, render_sticky_error)
{
	struct config cfg;

	config__defaults(&cfg);
	sb.err = -ENOMEM;
	cr_expect_eq(health__render(&cfg, NULL, 0, &sb), -ENOMEM);
	cr_expect_eq(sb.len, 0);
}
