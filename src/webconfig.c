// SPDX-License-Identifier: BSD-2-Clause
/*
 * A line-oriented parser for the small YAML subset of webconfig.h. YAML proper is large and
 * its corner cases (anchors, tags, implicit typing) are where configuration parsers break;
 * refusing all of it keeps the code short and every accepted document unambiguous.
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
#include "files.h"
#include "webconfig.h"
#include "webtls.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define BCRYPT_LEN    60
#define PATH_MAX_LEN  4096
#define SCALAR_MAX    4096
#define USER_NAME_MAX 256

enum section { SEC_NONE, SEC_TLS, SEC_USERS };

struct parser {
	struct webconfig *wc;
	const char *name, *base_dir;
	char *err;
	size_t errlen;
	unsigned int line;
	enum section sec;
	int child_indent; /* -1 until the section's first key */
	bool seen_tls, seen_users;
	bool seen[4]; /* tls keys, by index in tls_keys */
	bool any_tls_value;
};

static const char *const tls_keys[] = {"cert_file", "key_file", "client_ca_file",
				       "client_auth_type"};
static const char *const auth_names[] = {
	[WEBCONFIG_NO_CLIENT_CERT] = "NoClientCert",
	[WEBCONFIG_REQUEST_CLIENT_CERT] = "RequestClientCert",
	[WEBCONFIG_REQUIRE_ANY_CLIENT_CERT] = "RequireAnyClientCert",
	[WEBCONFIG_VERIFY_CLIENT_CERT_IF_GIVEN] = "VerifyClientCertIfGiven",
	[WEBCONFIG_REQUIRE_AND_VERIFY_CLIENT_CERT] = "RequireAndVerifyClientCert",
};

static int perr(struct parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "<name>:<line>: <message>"; line 0 is the document as a whole. */
static int perr(struct parser *p, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!p->err || !p->errlen)
		return -EINVAL;
	n = p->line ? snprintf(p->err, p->errlen, "%s:%u: ", p->name, p->line)
		    : snprintf(p->err, p->errlen, "%s: ", p->name);
	if (n >= 0 && (size_t)n < p->errlen) {
		va_start(ap, fmt);
		vsnprintf(p->err + n, p->errlen - n, fmt, ap);
		va_end(ap);
	}
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

/* ---- scalars ----------------------------------------------------------------------------- */

/* Only a comment may follow a value. */
static bool rest_is_comment(const char *s, const char *end)
{
	while (s < end && *s == ' ')
		s++;
	return s == end || *s == '#';
}

static int double_quoted(struct parser *p, const char *s, const char *end, char *out, size_t size,
			 const char **after)
{
	size_t n = 0;

	for (s++; s < end && *s != '"'; s++) {
		char c = *s;

		if (c == '\\') {
			if (++s == end)
				break;
			switch (*s) {
			case '\\':
			case '"':
			case '/':
				c = *s;
				break;
			default:
				return perr(p, "unsupported escape \\%c in a quoted string", *s);
			}
		}
		if (n + 1 >= size)
			return perr(p, "value longer than %zu bytes", size - 1);
		out[n++] = c;
	}
	if (s == end)
		return perr(p, "unterminated quoted string");
	out[n] = '\0';
	*after = s + 1;
	return 0;
}

static int single_quoted(struct parser *p, const char *s, const char *end, char *out, size_t size,
			 const char **after)
{
	size_t n = 0;

	for (s++; s < end; s++) {
		if (*s == '\'') {
			if (s + 1 < end && s[1] == '\'')
				s++; /* '' is a quote */
			else
				break;
		}
		if (n + 1 >= size)
			return perr(p, "value longer than %zu bytes", size - 1);
		out[n++] = *s;
	}
	if (s == end)
		return perr(p, "unterminated quoted string");
	out[n] = '\0';
	*after = s + 1;
	return 0;
}

/* A plain scalar runs to " #" or the end of the line, trailing spaces cut. */
static int plain(struct parser *p, const char *s, const char *end, char *out, size_t size,
		 const char **after)
{
	const char *e = s;
	size_t n;

	if (strchr("[]{}&*!|>%@`,", *s) || (*s == '-' && (s + 1 == end || s[1] == ' ')))
		return perr(p, "unsupported YAML (flow, anchor, tag, block or list) at '%c'", *s);
	while (e < end && !(*e == '#' && e[-1] == ' '))
		e++;
	while (e > s && e[-1] == ' ')
		e--;
	n = (size_t)(e - s);
	if (memmem(s, n, ": ", 2) || (n && s[n - 1] == ':'))
		return perr(p, "nested mappings are not supported here");
	if (n >= size)
		return perr(p, "value longer than %zu bytes", size - 1);
	memcpy(out, s, n);
	out[n] = '\0';
	*after = e;
	return 0;
}

/* A value after "key:"; *null when there is none (or ~, null). */
static int scalar(struct parser *p, const char *s, const char *end, char *out, size_t size,
		  bool *null)
{
	const char *after;
	int err;

	while (s < end && *s == ' ')
		s++;
	*null = s == end || *s == '#';
	out[0] = '\0';
	if (*null)
		return 0;
	if (*s == '"')
		err = double_quoted(p, s, end, out, size, &after);
	else if (*s == '\'')
		err = single_quoted(p, s, end, out, size, &after);
	else
		err = plain(p, s, end, out, size, &after);
	if (err)
		return err;
	if (!rest_is_comment(after, end))
		return perr(p, "unexpected text after the value");
	if (*s != '"' && *s != '\'' && (!strcmp(out, "~") || !strcmp(out, "null")))
		*null = true;
	return 0;
}

/* "key:" at s; the key is plain or quoted. *rest is what follows the colon. */
static int key(struct parser *p, const char *s, const char *end, char *out, size_t size,
	       const char **rest)
{
	const char *colon, *after;
	size_t n;
	int err;

	if (*s == '"' || *s == '\'') {
		err = *s == '"' ? double_quoted(p, s, end, out, size, &after)
				: single_quoted(p, s, end, out, size, &after);
		if (err)
			return err;
		if (after == end || *after != ':')
			return perr(p, "expected ':' after the key");
		colon = after;
	} else {
		if (strchr("[]{}&*!|>%@`,?#", *s) || (*s == '-' && (s + 1 == end || s[1] == ' ')))
			return perr(p, "unsupported YAML (flow, anchor, tag, list) at '%c'", *s);
		for (colon = s; colon < end; colon++)
			if (*colon == ':' && (colon + 1 == end || colon[1] == ' '))
				break;
		if (colon == end)
			return perr(p, "expected \"key: value\"");
		n = (size_t)(colon - s);
		while (n && s[n - 1] == ' ')
			n--;
		if (n >= size)
			return perr(p, "key longer than %zu bytes", size - 1);
		memcpy(out, s, n);
		out[n] = '\0';
	}
	if (colon + 1 < end && colon[1] != ' ')
		return perr(p, "expected a space after ':'");
	*rest = colon + 1;
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

static int tls_value(struct parser *p, size_t k, const char *v, bool null)
{
	struct webconfig *wc = p->wc;
	char **field[] = {&wc->cert_file, &wc->key_file, &wc->client_ca_file};
	size_t i;

	if (null || !v[0])
		return 0; /* as the exporter-toolkit: an empty value is unset */
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
	return perr(p,
		    "client_auth_type \"%s\" is not one of NoClientCert, RequestClientCert, "
		    "RequireAnyClientCert, VerifyClientCertIfGiven, RequireAndVerifyClientCert",
		    v);
}

static int tls_key(struct parser *p, const char *k, const char *v, bool null)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(tls_keys); i++) {
		if (strcmp(k, tls_keys[i]))
			continue;
		if (p->seen[i])
			return perr(p, "duplicate key \"%s\"", k);
		p->seen[i] = true;
		return tls_value(p, i, v, null);
	}
	return perr(p,
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

static int user_key(struct parser *p, const char *k, const char *v, bool null)
{
	struct webconfig *wc = p->wc;
	struct webconfig_user *u;
	size_t i;

	if (!k[0] || strchr(k, ':'))
		return perr(p, "user name \"%s\" is empty or contains ':'", k);
	for (i = 0; i < wc->nusers; i++)
		if (!strcmp(wc->users[i].name, k))
			return perr(p, "duplicate user \"%s\"", k);
	if (null || !is_bcrypt(v))
		return perr(p, "user \"%s\": the password must be a bcrypt hash ($2y$...)", k);
	if (wc->nusers == WEBCONFIG_MAX_USERS)
		return perr(p, "more than %d users", WEBCONFIG_MAX_USERS);
	u = realloc(wc->users, (wc->nusers + 1) * sizeof(*u));
	if (!u)
		return -ENOMEM;
	wc->users = u;
	u += wc->nusers;
	u->name = strdup(k);
	u->hash = strdup(v);
	if (wc->nusers && bcrypt_cost(v) > bcrypt_cost(wc->users[wc->slowest].hash))
		wc->slowest = wc->nusers;
	wc->nusers++; /* counted before the check, so webconfig__free frees a half entry */
	return u->name && u->hash ? 0 : -ENOMEM;
}

static int top_key(struct parser *p, const char *k, const char *rest, const char *end)
{
	bool *seen;

	if (!strcmp(k, "tls_server_config")) {
		p->sec = SEC_TLS;
		seen = &p->seen_tls;
	} else if (!strcmp(k, "basic_auth_users")) {
		p->sec = SEC_USERS;
		seen = &p->seen_users;
	} else {
		return perr(p,
			    "unknown or unsupported key \"%s\" (supported: tls_server_config, "
			    "basic_auth_users)",
			    k);
	}
	if (*seen)
		return perr(p, "duplicate key \"%s\"", k);
	*seen = true;
	p->child_indent = -1;
	while (rest < end && *rest == ' ')
		rest++;
	/* "{}" and null are an empty mapping; any other value on this line is not a mapping. */
	if (rest < end && *rest == '{' && rest + 1 < end && rest[1] == '}')
		rest += 2;
	else if (rest + 4 <= end && !memcmp(rest, "null", 4))
		rest += 4;
	else if (rest < end && *rest == '~')
		rest++;
	if (!rest_is_comment(rest, end))
		return perr(p, "\"%s\" must be a mapping", k);
	return 0;
}

static int child_line(struct parser *p, int indent, const char *s, const char *end)
{
	char k[USER_NAME_MAX], v[SCALAR_MAX];
	const char *rest;
	bool null;
	int err;

	if (p->sec == SEC_NONE)
		return perr(p, "indented line outside a section");
	if (p->child_indent < 0)
		p->child_indent = indent;
	if (indent != p->child_indent)
		return perr(p, "inconsistent indentation (nested mappings are not supported)");
	err = key(p, s, end, k, sizeof(k), &rest);
	if (!err)
		err = scalar(p, rest, end, v, sizeof(v), &null);
	if (err)
		return err;
	return p->sec == SEC_TLS ? tls_key(p, k, v, null) : user_key(p, k, v, null);
}

static int parse_line(struct parser *p, const char *s, const char *end)
{
	char k[USER_NAME_MAX];
	const char *rest;
	int indent = 0, err;

	while (s < end && *s == ' ')
		s++, indent++;
	if (s < end && *s == '\t')
		return perr(p, "tab in indentation");
	if (s == end || *s == '#')
		return 0;
	if (indent == 0 && end - s >= 3 && !memcmp(s, "---", 3) && rest_is_comment(s + 3, end))
		return p->seen_tls || p->seen_users ? perr(p, "only one document is supported") : 0;
	if (indent > 0)
		return child_line(p, indent, s, end);
	err = key(p, s, end, k, sizeof(k), &rest);
	return err ? err : top_key(p, k, rest, end);
}

/* Cross-key checks, as the exporter-toolkit makes them. */
static int check_tls(struct parser *p)
{
	struct webconfig *wc = p->wc;
	enum webconfig_client_auth a = wc->client_auth;

	p->line = 0;
	if (!p->any_tls_value)
		return 0;
	if (!wc->cert_file)
		return perr(p, "tls_server_config: missing cert_file");
	if (!wc->key_file)
		return perr(p, "tls_server_config: missing key_file");
	if (wc->client_ca_file && a == WEBCONFIG_NO_CLIENT_CERT)
		return perr(p, "tls_server_config: client_ca_file needs a client_auth_type");
	/* Unlike Go, every policy that asks for a certificate needs the CA: libmicrohttpd
	 * asks clients for one only when it has a trust list to send. */
	if (!wc->client_ca_file && a != WEBCONFIG_NO_CLIENT_CERT)
		return perr(p, "tls_server_config: client_auth_type %s needs client_ca_file",
			    auth_names[a]);
	wc->tls = true;
	return 0;
}

int webconfig__parse(struct webconfig *wc, const char *text, size_t len, const char *name,
		     const char *base_dir, char *err, size_t errlen)
{
	struct parser p = {.wc = wc,
			   .name = name ? name : "web config",
			   .base_dir = base_dir,
			   .err = err,
			   .errlen = errlen};
	const char *s = text, *end = text + len, *nl, *e;
	int ret = 0;

	memset(wc, 0, sizeof(*wc));
	if (!text && len)
		return -EINVAL;
	if (len > WEBCONFIG_MAX_FILE)
		return perr(&p, "larger than %d bytes", WEBCONFIG_MAX_FILE);
	nl = memchr(text, '\0', len);
	if (nl) {
		for (p.line = 1; s < nl; s++)
			p.line += *s == '\n';
		return perr(&p, "NUL byte");
	}
	while (s < end && !ret) {
		nl = memchr(s, '\n', (size_t)(end - s));
		e = nl ? nl : end;
		if (e > s && e[-1] == '\r')
			e--;
		p.line++;
		ret = parse_line(&p, s, e);
		s = nl ? nl + 1 : end;
	}
	if (!ret)
		ret = check_tls(&p);
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
