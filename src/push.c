// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>
#include "gzip.h"
#include "push.h"

#define VM_WRITE  "/api/v1/write"
#define VM_IMPORT "/api/v1/import/prometheus"

#define CT_GATEWAY "Content-Type: text/plain; version=0.0.4; charset=utf-8"
#define CT_VM	   "Content-Type: text/plain; charset=utf-8"

struct push_client {
	CURL *curl;
	char *url;
	char *ca_file;
	char *username;
	char *password;
	bool victoria;
	long timeout_ms;
	long connect_timeout_ms;
	struct strbuf gz; /* the compressed body, kept to reuse its allocation */
};

/* What the write callback fills: the first bytes of the answer, escaped. */
struct snippet {
	char *out;
	size_t cap, len, seen;
};

bool push__is_victoria(const char *url)
{
	return url && strstr(url, VM_WRITE);
}

int push__base64url(struct strbuf *sb, const void *data, size_t len)
{
	static const char abc[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	const unsigned char *p = data;
	char q[4];
	size_t i;

	for (i = 0; i < len; i += 3) {
		unsigned int v = p[i] << 16;

		if (i + 1 < len)
			v |= p[i + 1] << 8;
		if (i + 2 < len)
			v |= p[i + 2];
		q[0] = abc[(v >> 18) & 63];
		q[1] = abc[(v >> 12) & 63];
		q[2] = i + 1 < len ? abc[(v >> 6) & 63] : '=';
		q[3] = i + 2 < len ? abc[v & 63] : '=';
		strbuf__append(sb, q, 4);
	}
	return sb->err;
}

static bool is_unreserved(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

int push__percent(struct strbuf *sb, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s; s++) {
		unsigned char c = *s;
		char esc[3] = {'%', hex[c >> 4], hex[c & 15]};

		if (is_unreserved(c))
			strbuf__putc(sb, c);
		else
			strbuf__append(sb, esc, 3);
	}
	return sb->err;
}

int push__key_segment(struct strbuf *sb, const char *name, const char *value)
{
	strbuf__putc(sb, '/');
	strbuf__puts(sb, name);
	/* The gateway unescapes the path before splitting it: %2F would still be a '/'. */
	/* An empty segment would vanish from the path: the gateway reads "=" as empty. */
	if (!*value)
		return strbuf__puts(sb, "@base64/=");
	if (strchr(value, '/')) {
		strbuf__puts(sb, "@base64/");
		return push__base64url(sb, value, strlen(value));
	}
	strbuf__putc(sb, '/');
	return push__percent(sb, value);
}

/* "&extra_label=<name>=<value>", all of it percent-encoded but the first '='. */
static void extra_label(struct strbuf *sb, bool first, const char *name, const char *value)
{
	strbuf__puts(sb, first ? "?extra_label=" : "&extra_label=");
	push__percent(sb, name);
	strbuf__puts(sb, "%3D");
	push__percent(sb, value);
}

static int victoria_url(struct strbuf *sb, const struct push_opts *o)
{
	const char *w = strstr(o->url, VM_WRITE);
	size_t i;

	strbuf__append(sb, o->url, w - o->url);
	strbuf__puts(sb, VM_IMPORT);
	strbuf__puts(sb, w + strlen(VM_WRITE));
	extra_label(sb, true, "job", o->job);
	extra_label(sb, false, "instance", o->instance ? o->instance : "");
	for (i = 0; i < o->nlabels; i++)
		extra_label(sb, false, o->labels[i].name, o->labels[i].value);
	return sb->err;
}

int push__request_url(struct strbuf *sb, const struct push_opts *o)
{
	size_t len, i;

	if (!o->url || !o->job ||
	    (strncasecmp(o->url, "http://", 7) && strncasecmp(o->url, "https://", 8)))
		return -EINVAL;
	if (push__is_victoria(o->url))
		return victoria_url(sb, o);
	len = strlen(o->url);
	while (len > 8 && o->url[len - 1] == '/')
		len--;
	strbuf__append(sb, o->url, len);
	strbuf__puts(sb, "/metrics");
	push__key_segment(sb, "job", o->job);
	push__key_segment(sb, "instance", o->instance ? o->instance : "");
	for (i = 0; i < o->nlabels; i++)
		push__key_segment(sb, o->labels[i].name, o->labels[i].value);
	return sb->err;
}

static char *dup_or_null(const char *s)
{
	return s && *s ? strdup(s) : NULL;
}

struct push_client *push__new(const struct push_opts *o)
{
	struct strbuf url = STRBUF_INIT;
	struct push_client *c;
	int err;

	if (!o || !o->url || !o->job) {
		errno = EINVAL;
		return NULL;
	}
	err = push__request_url(&url, o);
	if (err) {
		strbuf__free(&url);
		errno = -err;
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		strbuf__free(&url);
		errno = ENOMEM;
		return NULL;
	}
	c->url = url.buf;
	c->victoria = push__is_victoria(o->url);
	c->timeout_ms = o->timeout_ms;
	c->connect_timeout_ms = o->connect_timeout_ms;
	c->ca_file = dup_or_null(o->ca_file);
	c->username = dup_or_null(o->username);
	c->password = strdup(o->password ? o->password : "");
	err = ENOMEM;
	if ((o->ca_file && *o->ca_file && !c->ca_file) ||
	    (o->username && *o->username && !c->username) || !c->password)
		goto fail;
	/* Idempotent; called here, before the pushing thread exists, as libcurl asks. */
	err = EIO;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		goto fail;
	c->curl = curl_easy_init();
	if (!c->curl)
		goto fail;
	return c;
fail:
	push__free(c);
	errno = err;
	return NULL;
}

const char *push__url(const struct push_client *c)
{
	return c->url;
}

bool push__victoria(const struct push_client *c)
{
	return c->victoria;
}

void push__free(struct push_client *c)
{
	if (!c)
		return;
	if (c->curl)
		curl_easy_cleanup(c->curl);
	if (c->password) {
		explicit_bzero(c->password, strlen(c->password));
		free(c->password);
	}
	free(c->username);
	free(c->ca_file);
	free(c->url);
	strbuf__free(&c->gz);
	free(c);
}

/* Keeps the first PUSH_SNIPPET_MAX bytes, escaped; swallows the rest without failing. */
static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
	static const char hex[] = "0123456789abcdef";
	struct snippet *s = ctx;
	size_t i, total = size * n;

	for (i = 0; i < total && s->seen < PUSH_SNIPPET_MAX; i++, s->seen++) {
		unsigned char ch = data[i];

		if (s->len + 5 > s->cap)
			break;
		if (ch == '"' || ch == '\\') {
			s->out[s->len++] = '\\';
			s->out[s->len++] = ch;
		} else if (ch < 0x20 || ch == 0x7f) {
			s->out[s->len++] = '\\';
			s->out[s->len++] = 'x';
			s->out[s->len++] = hex[ch >> 4];
			s->out[s->len++] = hex[ch & 15];
		} else {
			s->out[s->len++] = ch;
		}
	}
	s->out[s->len] = '\0';
	return total;
}

/* libcurl calls this often during a transfer: non-zero abandons it. */
static int on_progress(void *ctx, curl_off_t dlt, curl_off_t dln, curl_off_t ult, curl_off_t uln)
{
	const atomic_bool *cancel = ctx;

	(void)dlt, (void)dln, (void)ult, (void)uln;
	return cancel && atomic_load(cancel);
}

static int curl_errno(CURLcode rc)
{
	switch (rc) {
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_COULDNT_CONNECT:
		return -ECONNREFUSED;
	case CURLE_COULDNT_RESOLVE_HOST:
		return -EHOSTUNREACH;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
		return -EPROTO;
	case CURLE_ABORTED_BY_CALLBACK:
		return -ECANCELED;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	default:
		return -EIO;
	}
}

#define SET(opt, val)                                                \
	do {                                                         \
		if (curl_easy_setopt(c->curl, opt, val) != CURLE_OK) \
			return -EINVAL;                              \
	} while (0)

/* Everything but the method and the body; the handle is reset before each request. */
static int set_common(struct push_client *c, struct snippet *snip, char *errbuf,
		      const atomic_bool *cancel)
{
	SET(CURLOPT_URL, c->url);
	SET(CURLOPT_NOSIGNAL, 1L); /* threads: no SIGALRM for resolver timeouts */
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_TIMEOUT_MS, c->timeout_ms);
	SET(CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
	SET(CURLOPT_USERAGENT, "ccproxy_exporter/" CCPROXY_EXPORTER_VERSION);
	SET(CURLOPT_ERRORBUFFER, errbuf);
	SET(CURLOPT_WRITEFUNCTION, on_body);
	SET(CURLOPT_WRITEDATA, snip);
	SET(CURLOPT_NOPROGRESS, 0L);
	SET(CURLOPT_XFERINFOFUNCTION, on_progress);
	SET(CURLOPT_XFERINFODATA, (void *)cancel);
	if (c->ca_file)
		SET(CURLOPT_CAINFO, c->ca_file);
	if (c->username) {
		SET(CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		SET(CURLOPT_USERNAME, c->username);
		SET(CURLOPT_PASSWORD, c->password);
	}
	return 0;
}

static int set_method(struct push_client *c, enum push_method m, struct curl_slist *hdrs)
{
	if (m == PUSH_DELETE) {
		SET(CURLOPT_CUSTOMREQUEST, "DELETE");
		return 0;
	}
	SET(CURLOPT_POST, 1L);
	SET(CURLOPT_POSTFIELDS, c->gz.buf ? c->gz.buf : "");
	SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)c->gz.len);
	if (m == PUSH_PUT)
		SET(CURLOPT_CUSTOMREQUEST, "PUT");
	SET(CURLOPT_HTTPHEADER, hdrs);
	return 0;
}

#undef SET

static struct curl_slist *body_headers(bool victoria)
{
	/* "Expect:" drops curl's 100-continue round trip for bodies above 1 KiB. */
	static const char *const lines[] = {"Content-Encoding: gzip", "Expect:"};
	struct curl_slist *h = curl_slist_append(NULL, victoria ? CT_VM : CT_GATEWAY), *next;
	size_t i;

	for (i = 0; h && i < sizeof(lines) / sizeof(lines[0]); i++) {
		next = curl_slist_append(h, lines[i]);
		if (!next) {
			curl_slist_free_all(h);
			return NULL;
		}
		h = next;
	}
	return h;
}

static bool status_ok(const struct push_client *c, long status)
{
	if (c->victoria)
		return status == 200 || status == 204;
	return status >= 200 && status < 300;
}

static int perform(struct push_client *c, enum push_method m, const atomic_bool *cancel,
		   struct push_result *res)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	struct snippet snip = {.out = res->body, .cap = sizeof(res->body)};
	struct curl_slist *hdrs = NULL;
	CURLcode rc;
	int err;

	curl_easy_reset(c->curl); /* keeps the connection and the DNS cache */
	if (m != PUSH_DELETE) {
		hdrs = body_headers(c->victoria);
		if (!hdrs)
			return -ENOMEM;
	}
	err = set_common(c, &snip, errbuf, cancel);
	if (!err)
		err = set_method(c, m, hdrs);
	if (err) {
		snprintf(res->error, sizeof(res->error), "failed to set up the request");
		curl_slist_free_all(hdrs);
		return err;
	}
	rc = curl_easy_perform(c->curl);
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &res->status);
	curl_slist_free_all(hdrs);
	if (rc != CURLE_OK) {
		snprintf(res->error, sizeof(res->error), "%s",
			 errbuf[0] ? errbuf : curl_easy_strerror(rc));
		return curl_errno(rc);
	}
	return status_ok(c, res->status) ? 0 : -EREMOTEIO;
}

int push__send(struct push_client *c, enum push_method m, const char *body, size_t len,
	       const atomic_bool *cancel, struct push_result *res)
{
	int err;

	memset(res, 0, sizeof(*res));
	if (c->victoria && m == PUSH_DELETE) {
		snprintf(res->error, sizeof(res->error), "VictoriaMetrics has no group to delete");
		return -EOPNOTSUPP;
	}
	if (c->victoria)
		m = PUSH_POST;
	if (m != PUSH_DELETE) {
		err = gzip__compress(body, len, &c->gz);
		if (err) {
			snprintf(res->error, sizeof(res->error), "failed to compress the body");
			return err;
		}
	}
	return perform(c, m, cancel, res);
}
