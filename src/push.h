/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * push: one request to a Prometheus Pushgateway (or VictoriaMetrics) with libcurl.
 *
 * Pushgateway: {url}/metrics/job/<job>/instance/<instance>[/<label>/<value>...], PUT replaces
 * the group, POST replaces the metrics of the same name in it, DELETE removes the group.
 * Grouping-key segments are percent-encoded; a value that is empty or holds '/' goes as
 * <name>@base64/<urlsafe base64>, as the Pushgateway wants (it decodes %2F before routing).
 * VictoriaMetrics: a URL holding /api/v1/write is rewritten to /api/v1/import/prometheus and
 * always POSTed as text/plain; job, instance and labels ride along as extra_label arguments,
 * so that several exporters do not write into the same series. 200 or 204 is success there.
 *
 * Bodies are gzipped (Content-Encoding: gzip). No redirects, http and https only. Nothing here
 * prints: the outcome of a request is returned, with the status and the start of the body.
 */
#ifndef CCPROXY_PUSH_H
#define CCPROXY_PUSH_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include "config.h"
#include "strbuf.h"

/* Bytes of a response body kept for the log. */
#define PUSH_SNIPPET_MAX 200

enum push_method { PUSH_PUT, PUSH_POST, PUSH_DELETE };

struct push_opts {
	const char *url; /* http(s)://host[:port][/path], no query */
	const char *job;
	const char *instance;
	const struct config_label *labels;
	size_t nlabels;
	const char *ca_file;  /* NULL or "": the system's CAs */
	const char *username; /* NULL or "": no basic auth */
	const char *password; /* copied, wiped at push__free */
	long timeout_ms;      /* whole request; 0: none */
	long connect_timeout_ms;
};

struct push_result {
	long status; /* HTTP status; 0 when no answer came */
	/* The first PUSH_SNIPPET_MAX bytes of the answer, escaped to stay on one log line. */
	char body[PUSH_SNIPPET_MAX * 4 + 8];
	char error[256]; /* why the transfer failed, when it did; else "" */
};

struct push_client;

/*
 * Builds the request URL and a curl handle; opts and what it points to are copied.
 * NULL with errno: EINVAL (no URL or job), ENOMEM, EIO (libcurl failed to initialise).
 */
struct push_client *push__new(const struct push_opts *opts);
/*
 * Sends body[0..len) (ignored for DELETE) gzipped with method (VictoriaMetrics: always POST;
 * DELETE is -EOPNOTSUPP there). The transfer is abandoned when *cancel turns true (NULL: never).
 * Returns 0 on success; -EREMOTEIO when the server answered with a failure status; -ETIMEDOUT,
 * -ECONNREFUSED, -EHOSTUNREACH (name not resolved), -EPROTO (TLS), -ECANCELED, -ENOMEM or -EIO
 * when the transfer failed. res is always filled. Not thread-safe: one caller per client.
 */
int push__send(struct push_client *c, enum push_method method, const char *body, size_t len,
	       const atomic_bool *cancel, struct push_result *res);
/* The URL requests go to (no credentials in it). */
const char *push__url(const struct push_client *c);
bool push__victoria(const struct push_client *c);
/* NULL-safe. */
void push__free(struct push_client *c);

/* Pure helpers, exposed for tests. Each appends to sb and returns its sticky error. */
/* Whether url is a VictoriaMetrics remote-write URL (holds "/api/v1/write"). */
bool push__is_victoria(const char *url);
/* RFC 4648 §5 base64 (the URL- and file-safe alphabet), with padding. */
int push__base64url(struct strbuf *sb, const void *data, size_t len);
/* Percent-encodes every byte but the RFC 3986 unreserved ones. */
int push__percent(struct strbuf *sb, const char *s);
/*
 * "/<name>/<value>"; "/<name>@base64/<value in base64url>" for a value with '/';
 * "/<name>@base64/=" for an empty one.
 */
int push__key_segment(struct strbuf *sb, const char *name, const char *value);
/* The whole request URL for opts (see the top of this file). -EINVAL for a URL without scheme. */
int push__request_url(struct strbuf *sb, const struct push_opts *opts);

#endif /* CCPROXY_PUSH_H */
