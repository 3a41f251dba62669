/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * http: the exporter's web server (libmicrohttpd), routes and content negotiation only.
 *
 * Routes: "/" landing page, opts->telemetry_path (metrics), "/metrics/health" (JSON), compared
 * whole: a target holding a NUL byte, %00 or %2F matches none of them.
 * GET and HEAD only (405 with Allow otherwise), 404 for anything else and for the telemetry
 * path while opts->metrics_enabled is false. Metrics responses come in the format the
 * request's Accept asks for among opts->formats (negotiate.h), with that format's exact
 * Content-Type, the ccproxy headers (Cache-Control, Pragma, Expires, Vary) and gzip when the
 * client's Accept-Encoding allows it, whatever the format. A handler that fails gives 500
 * with a one-line text body; the server never exits on a request.
 *
 * With opts->web: TLS with the configured certificate, client certificates checked per its
 * client_auth_type (403 when missing or not trusted), and basic auth on every path (401 with
 * WWW-Authenticate when missing or wrong), both before routing.
 *
 * Handlers run on the server's threads, possibly concurrently: they must be thread-safe.
 */
#ifndef CCPROXY_HTTP_H
#define CCPROXY_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include "negotiate.h"
#include "strbuf.h"
#include "webconfig.h"

struct http_handlers {
	/* Append the exposition in format fmt to out; return 0 or a negative errno. */
	int (*metrics)(void *ctx, enum negotiate_format fmt, struct strbuf *out);
	/* Append the health JSON object to out; return 0 or a negative errno. */
	int (*health)(void *ctx, struct strbuf *out);
	void *ctx;
};

struct http_opts {
	const char *listen_address; /* "host:port", ":port", "[v6]:port" */
	int listen_fd;		    /* > 0: a socket from http__listen, owned from here on */
	const char *telemetry_path; /* e.g. "/metrics" */
	bool metrics_enabled;
	/* NEGOTIATE_OFFER_* formats offered; 0: text 0.0.4 only. */
	unsigned int formats;
	/* Connections at once, 0: default (64); more are closed at once, not queued. */
	unsigned int max_connections;
	/* Seconds a connection may stay idle, and may take to send a request's headers from
	 * its start or its previous request's end; 0: default (10). */
	unsigned int timeout_s;
	/* TLS and basic auth (webconfig.h); NULL: plain HTTP, no auth. Borrowed: it must
	 * outlive the server. */
	const struct webconfig *web;
};

struct http_server;

/*
 * Binds listen_address and listens, without serving yet, so a process can claim its port
 * before it starts threads. The socket, or a negative errno (-EINVAL bad address,
 * -EADDRINUSE, ...). Give it to http__start as opts->listen_fd.
 */
int http__listen(const char *listen_address);
/*
 * Binds and starts serving; opts and h are copied. ":port" listens on every address (IPv6
 * socket accepting IPv4 too, or IPv4 only without IPv6); a hostname binds its first usable
 * address, IPv4 ones first. The address and telemetry path must pass http__check_listen and
 * http__check_path. NULL with errno set: EINVAL (bad address or path, unknown host),
 * EADDRINUSE, EACCES (privileged port), ...
 */
struct http_server *http__start(const struct http_opts *opts, const struct http_handlers *h);
/* Stops accepting, waits for handlers in progress, frees. NULL-safe. */
void http__stop(struct http_server *srv);

/*
 * The rules for --web.listen-address and --web.telemetry-path. They live here, with the code
 * that binds and routes, and config applies them when it parses, so a value config accepts
 * is one the server takes. 0, or -EINVAL with *why (if why is not NULL) a static phrase to
 * follow the quoted value: "has no port", "has a bad [IPv6] address", "is the landing page".
 * A listen address is "[v6]:port", "host:port" or ":port" (port 1..65535; a host of letters,
 * digits, '-', '.', '_', a numeric one a valid IPv4 address; a v6 zone after '%'); a path
 * starts with '/', holds no space, control, non-ASCII, '?' or '#', and is neither "/" nor
 * "/metrics/health". Whether a host name resolves is known only when binding.
 */
int http__check_listen(const char *addr, const char **why);
int http__check_path(const char *path, const char **why);

/*
 * A pure helper, exposed for tests: fills host (empty: any) and port; returns 0 or -EINVAL.
 */
int http__parse_listen(const char *addr, char *host, size_t hostlen, unsigned short *port);

#endif /* CCPROXY_HTTP_H */
