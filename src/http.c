// SPDX-License-Identifier: BSD-2-Clause
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>
#include <gnutls/gnutls.h>
#include <microhttpd.h>
#include "conns.h"
#include "gzip.h"
#include "http.h"
#include "log.h"
#include "negotiate.h"

#define HTTP_DEFAULT_MAX_CONNECTIONS 64
#define HTTP_DEFAULT_TIMEOUT_S	     10
#define HTTP_THREADS		     2
/* Per-connection pool: a request whose headers do not fit is answered 431 by libmicrohttpd. */
#define HTTP_CONN_MEMORY (32 * 1024)
#define HTTP_BACKLOG	 128
/* Connections libmicrohttpd may hold beyond the limit per thread, while conns refuses them. */
#define HTTP_REFUSING	 16
#define HTTP_HEALTH_PATH "/metrics/health"
#define HTTP_ALLOW	 "GET, HEAD"
/* The metrics body depends on both: caches must key on them. */
#define HTTP_VARY  "Accept, Accept-Encoding"
#define HTTP_REALM "ccproxy_exporter"
/* A host name's limit (RFC 1035: 253 characters), with room to spare. */
#define HTTP_HOST_MAX 256

#define CT_TEXT "text/plain; charset=utf-8"
#define CT_HTML "text/html; charset=utf-8"
#define CT_JSON "application/json"

struct http_server {
	struct MHD_Daemon *daemon;
	struct http_handlers h;
	char *telemetry_path;
	bool metrics_enabled;
	unsigned int formats; /* NEGOTIATE_OFFER_* */
	struct strbuf landing;
	const struct webconfig *web; /* NULL: no TLS, no auth */
	struct conns *conns;	     /* the connection limit and the header deadline */
};

/* One per connection, libmicrohttpd's socket context. */
struct http_conn {
	struct conn guard;
	/* Where the request target received ended, to find a NUL byte inside it. */
	uintptr_t target_end;
};

enum http_route { ROUTE_NONE, ROUTE_LANDING, ROUTE_METRICS, ROUTE_HEALTH };

/* One response: the body is copied by libmicrohttpd, so it may live on the caller's stack. */
struct http_reply {
	unsigned int status;
	const char *type;
	const char *body;
	size_t len;
	bool allow;    /* Allow: GET, HEAD (405) */
	bool no_cache; /* the ccproxy metrics headers, and Vary since the body depends on it */
	bool gzip;
};

/* ---- listen address ---------------------------------------------------------------------- */

static int parse_port(const char *s, unsigned short *port)
{
	unsigned long v = 0;
	size_t i;

	/* Five digits at most, so the value cannot overflow before the range check. */
	if (!s[0] || strlen(s) > 5)
		return -EINVAL;
	for (i = 0; s[i]; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	/* Port 0 would bind a random port nobody could scrape. */
	if (v == 0 || v > 65535)
		return -EINVAL;
	*port = (unsigned short)v;
	return 0;
}

static bool is_name_char(char c)
{
	return isalnum((unsigned char)c) || c == '-' || c == '.' || c == '_';
}

/* An IPv6 literal, with an optional non-empty %zone. */
static bool valid_v6(const char *s, size_t n)
{
	char buf[INET6_ADDRSTRLEN + 1];
	struct in6_addr a;
	const char *pct = memchr(s, '%', n);
	size_t addr_len = pct ? (size_t)(pct - s) : n;
	size_t i;

	if (addr_len == 0 || addr_len >= sizeof(buf))
		return false;
	if (pct) {
		if (pct + 1 == s + n)
			return false;
		for (i = addr_len + 1; i < n; i++)
			if (!is_name_char(s[i]))
				return false;
	}
	memcpy(buf, s, addr_len);
	buf[addr_len] = '\0';
	return inet_pton(AF_INET6, buf, &a) == 1;
}

/* Digits and dots only: meant as an IPv4 address, never to be looked up as a name. */
static bool is_numeric_host(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((s[i] < '0' || s[i] > '9') && s[i] != '.')
			return false;
	return n > 0;
}

static bool valid_v4(const char *s, size_t n)
{
	char buf[INET_ADDRSTRLEN];
	struct in_addr a;

	if (n >= sizeof(buf))
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return inet_pton(AF_INET, buf, &a) == 1;
}

/* The unbracketed host in s[0..n): NULL, or why it is not one. */
static const char *host_error(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!is_name_char(s[i]))
			return "has a bad host";
	/* "256.1.1.1" would otherwise reach the resolver as a name and fail only at bind. */
	if (is_numeric_host(s, n) && !valid_v4(s, n))
		return "has a bad IPv4 address";
	if (n >= HTTP_HOST_MAX)
		return "has a host longer than 255 bytes";
	return NULL;
}

/*
 * The one set of rules for a listen address: "[v6]:port", "host:port" or ":port". Fills
 * host[0..*hlen) and port; returns NULL, or why addr is none of them.
 */
static const char *split_listen(const char *addr, const char **host, size_t *hlen,
				unsigned short *port)
{
	const char *close, *colon, *why;

	if (addr[0] == '[') {
		close = strchr(addr, ']');
		if (!close || !valid_v6(addr + 1, (size_t)(close - addr - 1)))
			return "has a bad [IPv6] address";
		if (close[1] != ':')
			return close[1] ? "has junk after ]" : "has no port";
		*host = addr + 1;
		*hlen = (size_t)(close - addr - 1);
		colon = close + 1;
	} else {
		/* An unbracketed host may not contain ':', so "::1:80" is refused as ambiguous. */
		colon = strchr(addr, ':');
		if (!colon)
			return "has no port";
		*host = addr;
		*hlen = (size_t)(colon - addr);
		why = host_error(addr, *hlen);
		if (why)
			return why;
	}
	return parse_port(colon + 1, port) ? "has a bad port (1..65535)" : NULL;
}

int http__check_listen(const char *addr, const char **why)
{
	const char *host, *reason = "is missing";
	unsigned short port;
	size_t hlen;

	if (addr)
		reason = split_listen(addr, &host, &hlen, &port);
	if (why)
		*why = reason;
	return reason ? -EINVAL : 0;
}

int http__parse_listen(const char *addr, char *host, size_t hostlen, unsigned short *port)
{
	const char *h;
	unsigned short p;
	size_t n;

	if (!addr || !host || !port || hostlen == 0 || split_listen(addr, &h, &n, &p) ||
	    n >= hostlen)
		return -EINVAL;
	memcpy(host, h, n);
	host[n] = '\0';
	*port = p;
	return 0;
}

int http__check_path(const char *path, const char **why)
{
	const char *reason = NULL;
	size_t i;

	if (!path || path[0] != '/')
		reason = "must start with /";
	for (i = 0; !reason && path[i]; i++)
		if ((unsigned char)path[i] <= ' ' || (unsigned char)path[i] >= 0x7f ||
		    strchr("?#", path[i]))
			reason = "contains a space, control, non-ASCII, ? or # character";
	/* The fixed routes must stay reachable. */
	if (!reason && !strcmp(path, "/"))
		reason = "is the landing page";
	if (!reason && !strcmp(path, HTTP_HEALTH_PATH))
		reason = "is the health endpoint";
	if (why)
		*why = reason;
	return reason ? -EINVAL : 0;
}

/* ---- socket ------------------------------------------------------------------------------ */

/* Returns a listening, non-blocking socket or a negative errno (EADDRINUSE kept exact). */
static int bind_listen(int family, const struct sockaddr *sa, socklen_t salen, bool dual_stack)
{
	int fd, one = 1, zero = 0, err;

	fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* SO_REUSEADDR lets a restart bind over TIME_WAIT; Linux still refuses a live listener. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    (family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, dual_stack ? &zero : &one, sizeof(int))) ||
	    bind(fd, sa, salen) || listen(fd, HTTP_BACKLOG)) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/* ":port": [::] accepting IPv4 too, or 0.0.0.0 where the kernel has no IPv6. */
static int listen_any(unsigned short port)
{
	struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
	struct sockaddr_in a4 = {.sin_family = AF_INET, .sin_port = htons(port)};
	int fd;

	a6.sin6_addr = in6addr_any;
	fd = bind_listen(AF_INET6, (struct sockaddr *)&a6, sizeof(a6), true);
	if (fd != -EAFNOSUPPORT && fd != -EADDRNOTAVAIL)
		return fd;
	a4.sin_addr.s_addr = htonl(INADDR_ANY);
	return bind_listen(AF_INET, (struct sockaddr *)&a4, sizeof(a4), false);
}

static int gai_to_errno(int rc)
{
	switch (rc) {
	case EAI_AGAIN:
		return -EAGAIN;
	case EAI_MEMORY:
		return -ENOMEM;
	case EAI_SYSTEM:
		return errno ? -errno : -EIO;
	default: /* unknown host, no address of a usable family, ... */
		return -EINVAL;
	}
}

/*
 * Binds the first address that works. IPv4 results are tried before IPv6 ones, as Go's
 * listeners do, so "localhost:port" behaves as in other Prometheus exporters. An
 * EADDRINUSE from any candidate is what the caller sees if none can be bound.
 */
static int listen_resolved(const char *host, const char *service)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
				 .ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *res, *ai;
	int rc, pass, fd, err = -EADDRNOTAVAIL;

	rc = getaddrinfo(host, service, &hints, &res);
	if (rc)
		return gai_to_errno(rc);
	for (pass = 0; pass < 2; pass++) {
		for (ai = res; ai; ai = ai->ai_next) {
			if ((ai->ai_family == AF_INET) != (pass == 0))
				continue;
			fd = bind_listen(ai->ai_family, ai->ai_addr, ai->ai_addrlen, false);
			if (fd >= 0) {
				freeaddrinfo(res);
				return fd;
			}
			if (err != -EADDRINUSE)
				err = fd;
		}
	}
	freeaddrinfo(res);
	return err;
}

int http__listen(const char *addr)
{
	char host[HTTP_HOST_MAX], service[8];
	unsigned short port;
	int err;

	err = http__parse_listen(addr, host, sizeof(host), &port);
	if (err)
		return err;
	if (!host[0])
		return listen_any(port);
	snprintf(service, sizeof(service), "%u", (unsigned int)port);
	return listen_resolved(host, service);
}

/* ---- responses --------------------------------------------------------------------------- */

static bool add_header(struct MHD_Response *resp, const char *name, const char *value)
{
	return MHD_add_response_header(resp, name, value) == MHD_YES;
}

static bool add_headers(struct MHD_Response *resp, const struct http_reply *r)
{
	if (!add_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->type))
		return false;
	if (r->allow && !add_header(resp, MHD_HTTP_HEADER_ALLOW, HTTP_ALLOW))
		return false;
	if (r->no_cache && (!add_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
					"no-cache, no-store, must-revalidate") ||
			    !add_header(resp, MHD_HTTP_HEADER_PRAGMA, "no-cache") ||
			    !add_header(resp, MHD_HTTP_HEADER_EXPIRES, "0") ||
			    !add_header(resp, MHD_HTTP_HEADER_VARY, HTTP_VARY)))
		return false;
	if (r->gzip && !add_header(resp, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip"))
		return false;
	return true;
}

/* MHD_NO makes libmicrohttpd drop the connection: the only answer left when out of memory. */
static enum MHD_Result send_reply(struct MHD_Connection *conn, const struct http_reply *r)
{
	struct MHD_Response *resp;
	enum MHD_Result ret = MHD_NO;

	resp = MHD_create_response_from_buffer(r->len, (void *)(r->body ? r->body : ""),
					       MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return MHD_NO;
	if (add_headers(resp, r))
		ret = MHD_queue_response(conn, r->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result send_text(struct MHD_Connection *conn, unsigned int status, const char *body,
				 bool allow)
{
	struct http_reply r = {.status = status,
			       .type = CT_TEXT,
			       .body = body,
			       .len = strlen(body),
			       .allow = allow};

	return send_reply(conn, &r);
}

static enum MHD_Result send_failure(struct MHD_Connection *conn, const char *what, int err)
{
	char body[160];

	log_warn("failed to render %s: %s", what, strerror(-err));
	snprintf(body, sizeof(body), "Internal Server Error: failed to render %s: %s\n", what,
		 strerror(-err));
	return send_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, body, false);
}

static bool client_accepts_gzip(struct MHD_Connection *conn)
{
	return negotiate__gzip(MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
							   MHD_HTTP_HEADER_ACCEPT_ENCODING));
}

static enum negotiate_format client_format(const struct http_server *srv,
					   struct MHD_Connection *conn)
{
	return negotiate__format(
		MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT),
		srv->formats);
}

static int call_handler(struct http_server *srv, bool metrics, enum negotiate_format fmt,
			struct strbuf *out)
{
	if (metrics)
		return srv->h.metrics ? srv->h.metrics(srv->h.ctx, fmt, out) : -ENOSYS;
	return srv->h.health ? srv->h.health(srv->h.ctx, out) : -ENOSYS;
}

static enum MHD_Result serve_handler(struct http_server *srv, struct MHD_Connection *conn,
				     bool metrics)
{
	enum negotiate_format fmt = metrics ? client_format(srv, conn) : FMT_TEXT_0_0_4;
	const char *what = metrics ? "metrics" : "health";
	struct strbuf body = STRBUF_INIT, gz = STRBUF_INIT;
	struct http_reply r = {.status = MHD_HTTP_OK,
			       .type = metrics ? negotiate__content_type(fmt) : CT_JSON};
	enum MHD_Result ret;
	int err;

	err = call_handler(srv, metrics, fmt, &body);
	if (!err)
		err = body.err; /* sticky: an append that failed after a handler said 0 */
	if (err) {
		ret = send_failure(conn, what, err < 0 ? err : -EIO);
		goto out;
	}
	r.body = body.buf;
	r.len = body.len;
	r.no_cache = metrics;
	/* Identity is always acceptable, so a failed compression still answers, uncompressed. */
	if (metrics && client_accepts_gzip(conn) && !gzip__compress(body.buf, body.len, &gz)) {
		r.body = gz.buf;
		r.len = gz.len;
		r.gzip = true;
	}
	ret = send_reply(conn, &r);
out:
	strbuf__free(&body);
	strbuf__free(&gz);
	return ret;
}

static enum http_route route_of(const struct http_server *srv, const char *url)
{
	if (srv->metrics_enabled && strcmp(url, srv->telemetry_path) == 0)
		return ROUTE_METRICS;
	if (strcmp(url, "/") == 0)
		return ROUTE_LANDING;
	if (strcmp(url, HTTP_HEALTH_PATH) == 0)
		return ROUTE_HEALTH;
	return ROUTE_NONE;
}

static enum MHD_Result serve_route(struct http_server *srv, struct MHD_Connection *conn,
				   enum http_route route)
{
	struct http_reply landing = {.status = MHD_HTTP_OK,
				     .type = CT_HTML,
				     .body = srv->landing.buf,
				     .len = srv->landing.len};

	switch (route) {
	case ROUTE_LANDING:
		return send_reply(conn, &landing);
	case ROUTE_METRICS:
		return serve_handler(srv, conn, true);
	case ROUTE_HEALTH:
		return serve_handler(srv, conn, false);
	default:
		return send_text(conn, MHD_HTTP_NOT_FOUND, "Not Found\n", false);
	}
}

/* ---- access ------------------------------------------------------------------------------ */

/* The client certificate against the policy; libmicrohttpd only asked for it. */
static bool client_cert_ok(const struct http_server *srv, struct MHD_Connection *conn)
{
	enum webconfig_client_auth a = srv->web ? srv->web->client_auth : WEBCONFIG_NO_CLIENT_CERT;
	const union MHD_ConnectionInfo *info;
	const gnutls_datum_t *certs;
	unsigned int n = 0, status = 0;

	if (!srv->web || !srv->web->tls || a <= WEBCONFIG_REQUEST_CLIENT_CERT)
		return true;
	info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	if (!info || !info->tls_session)
		return false;
	certs = gnutls_certificate_get_peers(info->tls_session, &n);
	if (!certs || !n)
		return a == WEBCONFIG_VERIFY_CLIENT_CERT_IF_GIVEN;
	if (a == WEBCONFIG_REQUIRE_ANY_CLIENT_CERT)
		return true;
	/* Chain to client_ca_file, validity dates, signatures: any flag in status fails. */
	return gnutls_certificate_verify_peers2(info->tls_session, &status) == 0 && status == 0;
}

static bool password_ok(const struct http_server *srv, struct MHD_Connection *conn)
{
	char *user, *pass = NULL;
	bool ok;

	user = MHD_basic_auth_get_username_password(conn, &pass);
	ok = webconfig__check_password(srv->web, user, pass);
	if (pass) {
		explicit_bzero(pass, strlen(pass));
		MHD_free(pass);
	}
	if (user)
		MHD_free(user);
	return ok;
}

static enum MHD_Result send_unauthorized(struct MHD_Connection *conn)
{
	static const char body[] = "Unauthorized\n";
	struct MHD_Response *resp;
	enum MHD_Result ret = MHD_NO;

	resp = MHD_create_response_from_buffer(sizeof(body) - 1, (void *)body,
					       MHD_RESPMEM_PERSISTENT);
	if (!resp)
		return MHD_NO;
	if (add_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, CT_TEXT))
		ret = MHD_queue_basic_auth_fail_response(conn, HTTP_REALM, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* MHD_YES when the request may go on; otherwise *ret holds the answer already queued. */
static bool access_ok(const struct http_server *srv, struct MHD_Connection *conn,
		      enum MHD_Result *ret)
{
	if (!client_cert_ok(srv, conn)) {
		*ret = send_text(conn, MHD_HTTP_FORBIDDEN,
				 "Forbidden: client certificate missing or not trusted\n", false);
		return false;
	}
	if (webconfig__auth_required(srv->web) && !password_ok(srv, conn)) {
		*ret = send_unauthorized(conn);
		return false;
	}
	return true;
}

static bool is_get_or_head(const char *method)
{
	return strcmp(method, MHD_HTTP_METHOD_GET) == 0 ||
	       strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
}

static struct http_conn *conn_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *info =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return info ? info->socket_context : NULL;
}

/*
 * Whether the request target held no NUL byte, which would hide the rest of it from strcmp
 * ("/metrics\0x" read as "/metrics"). libmicrohttpd keeps the request line in one buffer and
 * ends the target where the space before the version was, so the version follows the
 * target's end, unless a NUL came first.
 */
static bool target_intact(struct MHD_Connection *conn, const char *version)
{
	struct http_conn *hc = conn_of(conn);

	return hc && hc->target_end && (uintptr_t)version == hc->target_end + 1;
}

/*
 * libmicrohttpd calls this once with the headers, once per chunk of request body, and once at
 * the end. Other methods are answered on the first call: libmicrohttpd then closes the
 * connection rather than read a body nobody wants. GET and HEAD are answered on the last
 * call, any body chunk dropped unread, so the connection stays usable and a body is never
 * mistaken for the next request.
 */
static enum MHD_Result http__on_request(void *cls, struct MHD_Connection *conn, const char *url,
					const char *method, const char *version,
					const char *upload_data, size_t *upload_data_size,
					void **req_cls)
{
	static int headers_seen;
	struct http_server *srv = cls;
	enum http_route route = target_intact(conn, version) ? route_of(srv, url) : ROUTE_NONE;
	struct http_conn *hc;
	enum MHD_Result denied;

	(void)upload_data;
	if (!*req_cls && (hc = conn_of(conn)))
		conns__headers_done(srv->conns, &hc->guard);
	/* Before anything else: who may not connect learns nothing, not even 404 from 405. */
	if (!*req_cls && !access_ok(srv, conn, &denied))
		return denied;
	if (!is_get_or_head(method)) {
		if (route == ROUTE_NONE)
			return send_text(conn, MHD_HTTP_NOT_FOUND, "Not Found\n", false);
		return send_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "Method Not Allowed\n", true);
	}
	if (!*req_cls) {
		*req_cls = &headers_seen;
		return MHD_YES;
	}
	if (*upload_data_size) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	return serve_route(srv, conn, route);
}

/* ---- connections ------------------------------------------------------------------------- */

/* Counted and timed by conns from accept to close; refused there when over the limit. */
static void http__on_connection(void *cls, struct MHD_Connection *conn, void **socket_ctx,
				enum MHD_ConnectionNotificationCode what)
{
	struct http_server *srv = cls;
	const union MHD_ConnectionInfo *info;
	struct http_conn *hc = *socket_ctx;

	if (what == MHD_CONNECTION_NOTIFY_CLOSED) {
		if (hc)
			conns__close(srv->conns, &hc->guard);
		free(hc);
		*socket_ctx = NULL;
		return;
	}
	info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (!info)
		return;
	hc = calloc(1, sizeof(*hc));
	if (!hc) {
		shutdown(info->connect_fd, SHUT_RDWR);
		return;
	}
	*socket_ctx = hc;
	if (conns__open(srv->conns, &hc->guard, info->connect_fd) == -EBUSY)
		log_debug("refused a connection: all %u slots in use", conns__count(srv->conns));
}

/* The end of a request restarts the clock for the next one's headers. */
static void http__on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
			       enum MHD_RequestTerminationCode toe)
{
	struct http_server *srv = cls;
	struct http_conn *hc = conn_of(conn);

	(void)req_cls;
	(void)toe;
	if (hc)
		conns__request_done(srv->conns, &hc->guard);
}

/* Called with the request target as received, before it is split and unescaped. */
static void *http__on_target(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct http_conn *hc = conn_of(conn);

	(void)cls;
	if (hc)
		hc->target_end = uri ? (uintptr_t)(uri + strlen(uri)) : 0;
	return NULL;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)(c | 0x20);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/*
 * libmicrohttpd's unescaping but for %00 and %2F: decoded, a NUL would end the path early
 * ("/metrics%00.html" read as "/metrics") and a slash would turn one segment into two
 * ("/metrics%2fhealth" read as "/metrics/health"). Left encoded, they match no route.
 */
static size_t http__unescape(void *cls, struct MHD_Connection *conn, char *s)
{
	char *in = s, *out = s;
	int hi, lo;

	(void)cls;
	(void)conn;
	while (*in) {
		if (in[0] == '%' && (hi = hex_digit(in[1])) >= 0 && (lo = hex_digit(in[2])) >= 0 &&
		    hi * 16 + lo != 0 && hi * 16 + lo != '/') {
			*out++ = (char)(hi * 16 + lo);
			in += 3;
			continue;
		}
		*out++ = *in++;
	}
	*out = '\0';
	return (size_t)(out - s);
}

/* ---- lifecycle --------------------------------------------------------------------------- */

static void html_escape(struct strbuf *sb, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&':
			strbuf__puts(sb, "&amp;");
			break;
		case '<':
			strbuf__puts(sb, "&lt;");
			break;
		case '>':
			strbuf__puts(sb, "&gt;");
			break;
		case '"':
			strbuf__puts(sb, "&quot;");
			break;
		case '\'':
			strbuf__puts(sb, "&#39;");
			break;
		default:
			strbuf__putc(sb, *s);
		}
	}
}

static int build_landing(struct http_server *srv)
{
	struct strbuf *sb = &srv->landing;

	strbuf__puts(sb, "<!DOCTYPE html>\n<html>\n<head><meta charset=\"utf-8\">"
			 "<title>ccproxy exporter</title></head>\n<body>\n"
			 "<h1>ccproxy exporter</h1>\n<ul>\n");
	if (srv->metrics_enabled) {
		strbuf__puts(sb, "<li><a href=\"");
		html_escape(sb, srv->telemetry_path);
		strbuf__puts(sb, "\">Metrics</a></li>\n");
	}
	strbuf__puts(sb, "<li><a href=\"" HTTP_HEALTH_PATH "\">Health</a></li>\n</ul>\n"
			 "</body>\n</html>\n");
	return sb->err;
}

#define OPT(o, v, p) ((struct MHD_OptionItem){(o), (intptr_t)(v), (p)})

#define FN(f) ((intptr_t)(f))

/*
 * libmicrohttpd's own limit stops accepting, which leaves the connections beyond it waiting
 * in the backlog: it is set above ours, which conns enforces by refusing at once. Its
 * timeout is the idle one; conns bounds the time to send the headers. TLS from web:
 * libmicrohttpd loads the PEM strings here, once.
 */
static int start_daemon(struct http_server *srv, const struct http_opts *opts, int fd,
			unsigned int limit, unsigned int timeout)
{
	unsigned int threads = limit < HTTP_THREADS ? 1 : HTTP_THREADS;
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC;
	const struct webconfig *web = opts->web;
	struct MHD_OptionItem o[16];
	size_t n = 0;

	o[n++] = OPT(MHD_OPTION_LISTEN_SOCKET, fd, NULL);
	o[n++] = OPT(MHD_OPTION_THREAD_POOL_SIZE, threads, NULL);
	o[n++] = OPT(MHD_OPTION_CONNECTION_LIMIT, threads * (limit + HTTP_REFUSING), NULL);
	o[n++] = OPT(MHD_OPTION_CONNECTION_TIMEOUT, timeout, NULL);
	o[n++] = OPT(MHD_OPTION_CONNECTION_MEMORY_LIMIT, HTTP_CONN_MEMORY, NULL);
	o[n++] = OPT(MHD_OPTION_NOTIFY_CONNECTION, FN(http__on_connection), srv);
	o[n++] = OPT(MHD_OPTION_NOTIFY_COMPLETED, FN(http__on_completed), srv);
	o[n++] = OPT(MHD_OPTION_URI_LOG_CALLBACK, FN(http__on_target), srv);
	o[n++] = OPT(MHD_OPTION_UNESCAPE_CALLBACK, FN(http__unescape), srv);
	if (web && web->tls) {
		if (!web->cert_pem || !web->key_pem)
			return -EINVAL;
		flags |= MHD_USE_TLS;
		o[n++] = OPT(MHD_OPTION_HTTPS_MEM_CERT, 0, web->cert_pem);
		o[n++] = OPT(MHD_OPTION_HTTPS_MEM_KEY, 0, web->key_pem);
		if (web->ca_pem && web->client_auth != WEBCONFIG_NO_CLIENT_CERT)
			o[n++] = OPT(MHD_OPTION_HTTPS_MEM_TRUST, 0, web->ca_pem);
	}
	o[n++] = OPT(MHD_OPTION_END, 0, NULL);
	srv->daemon = MHD_start_daemon(flags, 0, NULL, NULL, http__on_request, srv,
				       MHD_OPTION_ARRAY, o, MHD_OPTION_END);
	return srv->daemon ? 0 : -EINVAL;
}

/* The connection guard first: the daemon reports to it from its first connection on. */
static int start_serving(struct http_server *srv, const struct http_opts *opts, int fd)
{
	unsigned int limit =
		opts->max_connections ? opts->max_connections : HTTP_DEFAULT_MAX_CONNECTIONS;
	unsigned int timeout = opts->timeout_s ? opts->timeout_s : HTTP_DEFAULT_TIMEOUT_S;
	int err;

	srv->conns = conns__new(limit, timeout * 1000);
	if (!srv->conns)
		return -errno;
	err = start_daemon(srv, opts, fd, limit, timeout);
	if (err) {
		conns__free(srv->conns);
		srv->conns = NULL;
	}
	return err;
}

static void http__free(struct http_server *srv)
{
	strbuf__free(&srv->landing);
	free(srv->telemetry_path);
	free(srv);
}

struct http_server *http__start(const struct http_opts *opts, const struct http_handlers *h)
{
	struct http_server *srv;
	int fd, err;

	if (!opts || !h || http__check_listen(opts->listen_address, NULL) ||
	    http__check_path(opts->telemetry_path, NULL)) {
		if (opts && opts->listen_fd > 0)
			close(opts->listen_fd);
		errno = EINVAL;
		return NULL;
	}
	srv = calloc(1, sizeof(*srv));
	if (!srv) {
		if (opts->listen_fd > 0)
			close(opts->listen_fd);
		return NULL;
	}
	srv->h = *h;
	srv->metrics_enabled = opts->metrics_enabled;
	srv->formats = opts->formats;
	srv->web = opts->web;
	srv->telemetry_path = strdup(opts->telemetry_path);
	err = srv->telemetry_path ? build_landing(srv) : -ENOMEM;
	if (err) {
		if (opts->listen_fd > 0)
			close(opts->listen_fd);
		goto fail;
	}
	fd = opts->listen_fd > 0 ? opts->listen_fd : http__listen(opts->listen_address);
	if (fd < 0) {
		err = fd;
		goto fail;
	}
	err = start_serving(srv, opts, fd);
	if (err) {
		/* A refused start leaves the socket to us (checked against 0.9.75). */
		close(fd);
		goto fail;
	}
	return srv;
fail:
	http__free(srv);
	errno = -err;
	return NULL;
}

void http__stop(struct http_server *srv)
{
	if (!srv)
		return;
	/* Joins the worker threads after their requests end, and closes the listening socket. */
	MHD_stop_daemon(srv->daemon);
	/* After the daemon: closing its connections reported each one here. */
	conns__free(srv->conns);
	http__free(srv);
}
