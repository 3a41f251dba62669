// SPDX-License-Identifier: BSD-2-Clause
/*
 * The web config read with libyaml's document loader: it resolves anchors, aliases, flow and
 * block styles and quoting, so this file only walks the resulting node tree against the
 * exporter-toolkit's schema. libyaml applies no implicit typing (every untagged scalar is a
 * string), which is what every field here wants; nulls are recognised by their spelling.
 */
#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>
#include "files.h"
#include "webconfig.h"
#include "webtls.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define BCRYPT_LEN    60
#define SCALAR_MAX    4096
#define USER_NAME_MAX 256
/* "<<" merges may merge mappings that merge others; a cycle of aliases must end. */
#define MERGE_DEPTH_MAX 8
/* Pairs visited, merged ones included: aliases merged again and again could otherwise make
 * a small file cost exponential time. Far above what the users limit allows. */
#define PAIRS_MAX 4096

struct parser {
	struct webconfig *wc;
	const char *name, *base_dir;
	char *err;
	size_t errlen;
	yaml_document_t *doc;
	bool seen_tls, seen_users;
	bool seen[4]; /* tls keys, by index in tls_keys */
	bool any_tls_value;
	size_t pairs; /* visited so far, PAIRS_MAX at most */
};

/* What a mapping's pairs are handed to; merged: the pair came through a "<<" merge key. */
typedef int (*pair_fn)(struct parser *p, const yaml_node_t *k, const char *key, yaml_node_t *v,
		       bool merged);

static const char *const tls_keys[] = {"cert_file", "key_file", "client_ca_file",
				       "client_auth_type"};
static const char *const auth_names[] = {
	[WEBCONFIG_NO_CLIENT_CERT] = "NoClientCert",
	[WEBCONFIG_REQUEST_CLIENT_CERT] = "RequestClientCert",
	[WEBCONFIG_REQUIRE_ANY_CLIENT_CERT] = "RequireAnyClientCert",
	[WEBCONFIG_VERIFY_CLIENT_CERT_IF_GIVEN] = "VerifyClientCertIfGiven",
	[WEBCONFIG_REQUIRE_AND_VERIFY_CLIENT_CERT] = "RequireAndVerifyClientCert",
};

static int perr(struct parser *p, size_t line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * "<name>:<line>: <message>"; line 0 is the document as a whole. Quoted keys and values may
 * hold any character: control ones become '?', so that the message stays one line.
 */
static int perr(struct parser *p, size_t line, const char *fmt, ...)
{
	va_list ap;
	char *c;
	int n;

	if (!p->err || !p->errlen)
		return -EINVAL;
	n = line ? snprintf(p->err, p->errlen, "%s:%zu: ", p->name, line)
		 : snprintf(p->err, p->errlen, "%s: ", p->name);
	if (n >= 0 && (size_t)n < p->errlen) {
		va_start(ap, fmt);
		vsnprintf(p->err + n, p->errlen - n, fmt, ap);
		va_end(ap);
	}
	for (c = p->err; *c; c++)
		if ((unsigned char)*c < ' ' || *c == 0x7f)
			*c = '?';
	return -EINVAL;
}

const char *webconfig__client_auth_name(enum webconfig_client_auth a)
{
	return (unsigned int)a < ARRAY_SIZE(auth_names) ? auth_names[a] : "?";
}

void webconfig__free(struct webconfig *wc)
{
	size_t i;

	if (!wc)
		return;
	for (i = 0; i < wc->nusers; i++) {
		free(wc->users[i].name);
		free(wc->users[i].hash);
	}
	free(wc->users);
	free(wc->cert_file);
	free(wc->key_file);
	free(wc->client_ca_file);
	free(wc->cert_pem);
	/* The private key should not linger in freed heap memory. */
	if (wc->key_pem)
		explicit_bzero(wc->key_pem, strlen(wc->key_pem));
	free(wc->key_pem);
	free(wc->ca_pem);
	memset(wc, 0, sizeof(*wc));
}

/* ---- nodes ------------------------------------------------------------------------------- */

static size_t line_of(const yaml_node_t *n)
{
	return n->start_mark.line + 1;
}

static const char *kind_of(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_MAPPING_NODE:
		return "a mapping";
	case YAML_SEQUENCE_NODE:
		return "a list";
	default:
		return "a scalar";
	}
}

static bool has_tag(const yaml_node_t *n, const char *tag)
{
	return n->tag && !strcmp((const char *)n->tag, tag);
}

/* YAML 1.1's null: an explicit !!null, or a plain ~, null, Null, NULL or nothing at all. */
static bool is_null(const yaml_node_t *n)
{
	static const char *const spellings[] = {"", "~", "null", "Null", "NULL"};
	const char *v = (const char *)n->data.scalar.value;
	size_t i;

	if (n->type != YAML_SCALAR_NODE)
		return false;
	if (has_tag(n, YAML_NULL_TAG))
		return true;
	if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	for (i = 0; i < ARRAY_SIZE(spellings); i++)
		if (!strcmp(v, spellings[i]))
			return true;
	return false;
}

/*
 * Scalar tags taken as the text written, as Go's yaml decodes them into a string field: an
 * explicit !!int 8080 is "8080". !!binary, !!null and local tags (!x) are not.
 */
static bool is_text_tag(const yaml_node_t *n)
{
	static const char *const tags[] = {YAML_STR_TAG, YAML_INT_TAG, YAML_FLOAT_TAG,
					   YAML_BOOL_TAG, YAML_TIMESTAMP_TAG};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(tags); i++)
		if (has_tag(n, tags[i]))
			return true;
	return false;
}

/*
 * A string value into *out (borrowed from the document), or NULL for null. Mappings, lists,
 * other tags (is_text_tag), NUL bytes and overlong values are refused.
 */
static int string_of(struct parser *p, const yaml_node_t *n, const char *what, size_t max,
		     const char **out)
{
	*out = NULL;
	if (is_null(n))
		return 0;
	if (n->type != YAML_SCALAR_NODE)
		return perr(p, line_of(n), "%s must be a string, not %s", what, kind_of(n));
	if (!is_text_tag(n))
		return perr(p, line_of(n), "%s must be a string, not %s", what,
			    (const char *)n->tag);
	if (strlen((const char *)n->data.scalar.value) != n->data.scalar.length)
		return perr(p, line_of(n), "%s holds a NUL byte", what);
	if (n->data.scalar.length >= max)
		return perr(p, line_of(n), "%s longer than %zu bytes", what, max - 1);
	*out = (const char *)n->data.scalar.value;
	return 0;
}

/* A mapping, or NULL for null (an empty section); anything else is refused. */
static int mapping_of(struct parser *p, yaml_node_t *n, const char *what, yaml_node_t **out)
{
	*out = NULL;
	if (is_null(n))
		return 0;
	if (n->type != YAML_MAPPING_NODE || !has_tag(n, YAML_MAP_TAG))
		return perr(p, line_of(n), "\"%s\" must be a mapping, not %s", what, kind_of(n));
	*out = n;
	return 0;
}

static bool is_merge_key(const yaml_node_t *k)
{
	return k->type == YAML_SCALAR_NODE && k->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	       !strcmp((const char *)k->data.scalar.value, "<<");
}

static int each_pair(struct parser *p, yaml_node_t *map, pair_fn fn, bool merged, int depth);

/* "<<: *base" or "<<: [*a, *b]": the mappings' pairs, earlier ones winning. */
static int merge(struct parser *p, yaml_node_t *v, pair_fn fn, int depth)
{
	yaml_node_item_t *it;
	yaml_node_t *m;
	int err;

	if (depth >= MERGE_DEPTH_MAX)
		return perr(p, line_of(v), "merge keys nested deeper than %d", MERGE_DEPTH_MAX);
	if (v->type == YAML_MAPPING_NODE)
		return each_pair(p, v, fn, true, depth + 1);
	if (v->type != YAML_SEQUENCE_NODE)
		return perr(p, line_of(v), "\"<<\" must merge a mapping or a list of them");
	for (it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
		m = yaml_document_get_node(p->doc, *it);
		if (m->type != YAML_MAPPING_NODE)
			return perr(p, line_of(m), "\"<<\" must merge a mapping, not %s",
				    kind_of(m));
		err = each_pair(p, m, fn, true, depth + 1);
		if (err)
			return err;
	}
	return 0;
}

/*
 * Hands every pair of map to fn: its own pairs first, then the merged ones, so that a key
 * written in the mapping overrides a merged one, as YAML's merge key defines.
 */
static int each_pair(struct parser *p, yaml_node_t *map, pair_fn fn, bool merged, int depth)
{
	yaml_node_pair_t *pair, *start = map->data.mapping.pairs.start;
	yaml_node_pair_t *top = map->data.mapping.pairs.top;
	yaml_node_t *k, *v;
	const char *key;
	int pass, err;

	for (pass = 0; pass < 2; pass++) {
		for (pair = start; pair < top; pair++) {
			k = yaml_document_get_node(p->doc, pair->key);
			v = yaml_document_get_node(p->doc, pair->value);
			if (is_merge_key(k) != (pass == 1))
				continue;
			if (++p->pairs > PAIRS_MAX)
				return perr(p, line_of(k),
					    "more than %d keys, merged ones included", PAIRS_MAX);
			if (pass == 1) {
				err = merge(p, v, fn, depth);
			} else {
				err = string_of(p, k, "a key", USER_NAME_MAX, &key);
				if (!err && !key)
					err = perr(p, line_of(k), "a key must not be null");
				if (!err)
					err = fn(p, k, key, v, merged);
			}
			if (err)
				return err;
		}
	}
	return 0;
}

/* ---- sections ---------------------------------------------------------------------------- */

static char *join_path(const char *base, const char *path)
{
	char *out;

	if (path[0] == '/' || !base || !base[0])
		return strdup(path);
	if (asprintf(&out, "%s/%s", base, path) < 0)
		return NULL;
	return out;
}

static int tls_value(struct parser *p, size_t k, const yaml_node_t *n)
{
	struct webconfig *wc = p->wc;
	char **field[] = {&wc->cert_file, &wc->key_file, &wc->client_ca_file};
	const char *v;
	size_t i;
	int err;

	err = string_of(p, n, tls_keys[k], SCALAR_MAX, &v);
	if (err || !v || !v[0])
		return err; /* as the exporter-toolkit: an empty value is unset */
	p->any_tls_value = true;
	if (k < ARRAY_SIZE(field)) {
		*field[k] = join_path(p->base_dir, v);
		return *field[k] ? 0 : -ENOMEM;
	}
	for (i = 0; i < ARRAY_SIZE(auth_names); i++) {
		if (!strcmp(v, auth_names[i])) {
			wc->client_auth = (enum webconfig_client_auth)i;
			return 0;
		}
	}
	return perr(p, line_of(n),
		    "client_auth_type \"%s\" is not one of NoClientCert, RequestClientCert, "
		    "RequireAnyClientCert, VerifyClientCertIfGiven, RequireAndVerifyClientCert",
		    v);
}

static int tls_pair(struct parser *p, const yaml_node_t *kn, const char *k, yaml_node_t *v,
		    bool merged)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(tls_keys); i++) {
		if (strcmp(k, tls_keys[i]))
			continue;
		if (p->seen[i])
			return merged ? 0 : perr(p, line_of(kn), "duplicate key \"%s\"", k);
		p->seen[i] = true;
		return tls_value(p, i, v);
	}
	return perr(p, line_of(kn),
		    "unknown or unsupported key \"%s\" in tls_server_config (supported: "
		    "cert_file, key_file, client_ca_file, client_auth_type)",
		    k);
}

/* The cost of a hash is_bcrypt accepted. */
static int bcrypt_cost(const char *h)
{
	return (h[4] - '0') * 10 + (h[5] - '0');
}

/* $2a$, $2b$ or $2y$, a two-digit cost 04..31, then 53 characters of bcrypt's base64. */
static bool is_bcrypt(const char *h)
{
	size_t i;
	int cost;

	if (strlen(h) != BCRYPT_LEN || h[0] != '$' || h[1] != '2' || !strchr("aby", h[2]) ||
	    !h[2] || h[3] != '$' || h[4] < '0' || h[4] > '9' || h[5] < '0' || h[5] > '9' ||
	    h[6] != '$')
		return false;
	cost = (h[4] - '0') * 10 + (h[5] - '0');
	if (cost < 4 || cost > 31)
		return false;
	for (i = 7; i < BCRYPT_LEN; i++)
		if (!strchr("./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
			    h[i]))
			return false;
	return true;
}

static int add_user(struct parser *p, size_t line, const char *k, const char *v)
{
	struct webconfig *wc = p->wc;
	struct webconfig_user *u;

	if (wc->nusers == WEBCONFIG_MAX_USERS)
		return perr(p, line, "more than %d users", WEBCONFIG_MAX_USERS);
	u = realloc(wc->users, (wc->nusers + 1) * sizeof(*u));
	if (!u)
		return -ENOMEM;
	wc->users = u;
	u += wc->nusers;
	u->name = strdup(k);
	u->hash = strdup(v);
	if (wc->nusers && u->hash && bcrypt_cost(v) > bcrypt_cost(wc->users[wc->slowest].hash))
		wc->slowest = wc->nusers;
	wc->nusers++; /* counted before the check, so webconfig__free frees a half entry */
	return u->name && u->hash ? 0 : -ENOMEM;
}

static int user_pair(struct parser *p, const yaml_node_t *kn, const char *k, yaml_node_t *v,
		     bool merged)
{
	struct webconfig *wc = p->wc;
	const char *hash;
	size_t i;
	int err;

	if (!k[0] || strchr(k, ':'))
		return perr(p, line_of(kn), "user name \"%s\" is empty or contains ':'", k);
	for (i = 0; i < wc->nusers; i++)
		if (!strcmp(wc->users[i].name, k))
			return merged ? 0 : perr(p, line_of(kn), "duplicate user \"%s\"", k);
	err = string_of(p, v, "a password", SCALAR_MAX, &hash);
	if (err)
		return err;
	if (!hash || !is_bcrypt(hash))
		return perr(p, line_of(v),
			    "user \"%s\": the password must be a bcrypt hash ($2y$...)", k);
	return add_user(p, line_of(kn), k, hash);
}

static int top_pair(struct parser *p, const yaml_node_t *kn, const char *k, yaml_node_t *v,
		    bool merged)
{
	yaml_node_t *map;
	pair_fn fn;
	bool *seen;
	int err;

	if (!strcmp(k, "tls_server_config")) {
		seen = &p->seen_tls;
		fn = tls_pair;
	} else if (!strcmp(k, "basic_auth_users")) {
		seen = &p->seen_users;
		fn = user_pair;
	} else {
		return perr(p, line_of(kn),
			    "unknown or unsupported key \"%s\" (supported: tls_server_config, "
			    "basic_auth_users)",
			    k);
	}
	if (*seen)
		return merged ? 0 : perr(p, line_of(kn), "duplicate key \"%s\"", k);
	*seen = true;
	err = mapping_of(p, v, k, &map);
	return err || !map ? err : each_pair(p, map, fn, false, 0);
}

/* Cross-key checks, as the exporter-toolkit makes them. */
static int check_tls(struct parser *p)
{
	struct webconfig *wc = p->wc;
	enum webconfig_client_auth a = wc->client_auth;

	if (!p->any_tls_value)
		return 0;
	if (!wc->cert_file)
		return perr(p, 0, "tls_server_config: missing cert_file");
	if (!wc->key_file)
		return perr(p, 0, "tls_server_config: missing key_file");
	if (wc->client_ca_file && a == WEBCONFIG_NO_CLIENT_CERT)
		return perr(p, 0, "tls_server_config: client_ca_file needs a client_auth_type");
	/* Unlike Go, every policy that asks for a certificate needs the CA: libmicrohttpd
	 * asks clients for one only when it has a trust list to send. */
	if (!wc->client_ca_file && a != WEBCONFIG_NO_CLIENT_CERT)
		return perr(p, 0, "tls_server_config: client_auth_type %s needs client_ca_file",
			    auth_names[a]);
	wc->tls = true;
	return 0;
}

/* ---- documents --------------------------------------------------------------------------- */

/* libyaml's own message, at the line it names: "did not find expected key (while parsing a
 * block mapping)". */
static int yaml_error(struct parser *p, const yaml_parser_t *yp)
{
	const char *problem = yp->problem ? yp->problem : "invalid YAML";
	size_t line = yp->problem_mark.line + 1;

	if (yp->error == YAML_MEMORY_ERROR)
		return -ENOMEM;
	if (yp->context)
		return perr(p, line, "%s (%s)", problem, yp->context);
	return perr(p, line, "%s", problem);
}

/* The root: nothing, null or a mapping of the two sections. */
static int walk(struct parser *p)
{
	yaml_node_t *root = yaml_document_get_root_node(p->doc);

	if (!root || is_null(root))
		return 0;
	if (root->type != YAML_MAPPING_NODE || !has_tag(root, YAML_MAP_TAG))
		return perr(p, line_of(root), "the document must be a mapping, not %s",
			    kind_of(root));
	return each_pair(p, root, top_pair, false, 0);
}

/* A stream of more than one document is refused: which one would count is unclear. */
static int check_single(struct parser *p, yaml_parser_t *yp)
{
	yaml_document_t next;
	yaml_node_t *root;
	int err = 0;

	if (!yaml_parser_load(yp, &next))
		return yaml_error(p, yp);
	root = yaml_document_get_root_node(&next);
	if (root)
		err = perr(p, line_of(root), "only one document is supported");
	yaml_document_delete(&next);
	return err;
}

static int parse_yaml(struct parser *p, const char *text, size_t len)
{
	yaml_parser_t yp;
	yaml_document_t doc;
	int err;

	if (!yaml_parser_initialize(&yp))
		return -ENOMEM;
	yaml_parser_set_input_string(&yp, (const unsigned char *)text, len);
	yaml_parser_set_encoding(&yp, YAML_UTF8_ENCODING);
	if (!yaml_parser_load(&yp, &doc)) {
		err = yaml_error(p, &yp);
		yaml_parser_delete(&yp);
		return err;
	}
	p->doc = &doc;
	err = walk(p);
	if (!err)
		err = check_single(p, &yp);
	if (!err)
		err = check_tls(p);
	yaml_document_delete(&doc);
	yaml_parser_delete(&yp);
	return err;
}

/* The line of text's first NUL byte; 0 if it has none. */
static size_t nul_line(const char *text, size_t len)
{
	const char *nul = memchr(text, '\0', len), *s;
	size_t line = 1;

	if (!nul)
		return 0;
	for (s = text; s < nul; s++)
		line += *s == '\n';
	return line;
}

int webconfig__parse(struct webconfig *wc, const char *text, size_t len, const char *name,
		     const char *base_dir, char *err, size_t errlen)
{
	struct parser p = {.wc = wc,
			   .name = name ? name : "web config",
			   .base_dir = base_dir,
			   .err = err,
			   .errlen = errlen};
	size_t line;
	int ret;

	memset(wc, 0, sizeof(*wc));
	if (!text && len)
		return -EINVAL;
	if (len > WEBCONFIG_MAX_FILE)
		return perr(&p, 0, "larger than %d bytes", WEBCONFIG_MAX_FILE);
	/* libyaml would stop at it with a vaguer message. */
	line = nul_line(text, len);
	if (line)
		return perr(&p, line, "NUL byte");
	ret = parse_yaml(&p, text ? text : "", len);
	if (ret)
		webconfig__free(wc);
	return ret;
}

/* ---- files ------------------------------------------------------------------------------- */

/* The whole file, NUL-terminated, in *out; -EFBIG above max. */
static int read_file(const char *path, size_t max, char **out, size_t *len)
{
	struct stat st;
	ssize_t n;
	size_t got = 0;
	char *buf;
	int fd, err = 0;

	fd = files__open_regular(path);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st)) {
		err = -errno;
		goto out;
	}
	if ((uintmax_t)st.st_size > max) {
		err = -EFBIG;
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		err = -ENOMEM;
		goto out;
	}
	/* The file may shrink while read; it may not grow past what was allocated. */
	while (got < (size_t)st.st_size &&
	       (n = read(fd, buf + got, (size_t)st.st_size - got)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			free(buf);
			goto out;
		}
		got += (size_t)n;
	}
	buf[got] = '\0';
	*out = buf;
	if (len)
		*len = got;
out:
	close(fd);
	return err;
}

static const char *file_error(int err)
{
	if (err == -EFBIG)
		return "file too large";
	return files__strerror(err);
}

static int load_pem(const char *cfg, const char *what, const char *path, char **out, char *err,
		    size_t errlen)
{
	int ret;

	if (!path)
		return 0;
	ret = read_file(path, WEBCONFIG_MAX_PEM, out, NULL);
	if (ret)
		snprintf(err, errlen, "%s: %s \"%s\": %s", cfg, what, path, file_error(ret));
	return ret;
}

int webconfig__load(struct webconfig *wc, const char *path, char *err, size_t errlen)
{
	char *text = NULL, *dir;
	const char *slash;
	size_t len = 0;
	int ret;

	memset(wc, 0, sizeof(*wc));
	ret = read_file(path, WEBCONFIG_MAX_FILE, &text, &len);
	if (ret) {
		snprintf(err, errlen, "%s: %s", path, file_error(ret));
		return ret;
	}
	slash = strrchr(path, '/');
	dir = slash ? strndup(path, (size_t)(slash - path + (slash == path))) : strdup("");
	ret = dir ? webconfig__parse(wc, text, len, path, dir, err, errlen) : -ENOMEM;
	free(dir);
	free(text);
	if (!ret)
		ret = load_pem(path, "cert_file", wc->cert_file, &wc->cert_pem, err, errlen);
	if (!ret)
		ret = load_pem(path, "key_file", wc->key_file, &wc->key_pem, err, errlen);
	if (!ret)
		ret = load_pem(path, "client_ca_file", wc->client_ca_file, &wc->ca_pem, err,
			       errlen);
	if (!ret)
		ret = webtls__check(wc, path, err, errlen);
	if (ret == -ENOMEM)
		snprintf(err, errlen, "%s: out of memory", path);
	if (ret)
		webconfig__free(wc);
	return ret;
}

/* ---- passwords --------------------------------------------------------------------------- */

bool webconfig__auth_required(const struct webconfig *wc)
{
	return wc && wc->nusers > 0;
}

/* Both strings BCRYPT_LEN long: the time does not depend on where they differ. */
static bool equal_ct(const char *a, const char *b)
{
	unsigned char diff = 0;
	size_t i;

	for (i = 0; i < BCRYPT_LEN; i++)
		diff |= (unsigned char)a[i] ^ (unsigned char)b[i];
	return diff == 0;
}

bool webconfig__check_password(const struct webconfig *wc, const char *user, const char *password)
{
	const struct webconfig_user *u = NULL, *slowest;
	struct crypt_data *cd;
	const char *out;
	bool ok = false;
	size_t i;

	if (!wc || !wc->nusers || !user || !password)
		return false;
	for (i = 0; i < wc->nusers; i++)
		if (!strcmp(wc->users[i].name, user))
			u = &wc->users[i];
	/* crypt_data is 32 KiB: too much for a server thread's stack. */
	cd = calloc(1, sizeof(*cd));
	if (!cd)
		return false;
	/* Every failure costs at least the costliest user's hash, so that the time taken does
	 * not tell an unknown name from one whose hash is cheaper. */
	slowest = &wc->users[wc->slowest];
	out = crypt_rn(password, u ? u->hash : slowest->hash, cd, sizeof(*cd));
	if (u && out && strlen(out) == BCRYPT_LEN)
		ok = equal_ct(out, u->hash);
	if (!ok && u && bcrypt_cost(u->hash) < bcrypt_cost(slowest->hash))
		crypt_rn(password, slowest->hash, cd, sizeof(*cd));
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return ok;
}
