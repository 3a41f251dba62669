// SPDX-License-Identifier: BSD-2-Clause
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include "gunzip.h"
#include "http.h"
#include "log.h"
#include "negotiate.h"

/* ---- pure helpers ------------------------------------------------------------------------ */

/*
 * Criterion runs each parameter in a fresh process with its own address layout: parameters
 * carry strings by value, not pointers into the parent's image.
 */
struct listen_case {
	char addr[40];
	int ret;
	char host[32];
	unsigned short port;
};

ParameterizedTestParameters(http, parse_listen)
{
	static struct listen_case cases[] = {
		{":10464", 0, "", 10464},
		{":1", 0, "", 1},
		{":65535", 0, "", 65535},
		{":080", 0, "", 80},
		{"127.0.0.1:9090", 0, "127.0.0.1", 9090},
		{"0.0.0.0:80", 0, "0.0.0.0", 80},
		{"localhost:8080", 0, "localhost", 8080},
		{"exporter-1.example_net:80", 0, "exporter-1.example_net", 80},
		{"[::1]:9090", 0, "::1", 9090},
		{"[::]:9090", 0, "::", 9090},
		{"[fe80::1%eth0]:80", 0, "fe80::1%eth0", 80},
		{"", -EINVAL, "", 0},
		{":", -EINVAL, "", 0},
		{":0", -EINVAL, "", 0},
		{":65536", -EINVAL, "", 0},
		{":99999999999999999999", -EINVAL, "", 0},
		{":-1", -EINVAL, "", 0},
		{":+80", -EINVAL, "", 0},
		{": 80", -EINVAL, "", 0},
		{":80 ", -EINVAL, "", 0},
		{"host", -EINVAL, "", 0},
		{"host:", -EINVAL, "", 0},
		{"[::1", -EINVAL, "", 0},
		{"[::1]", -EINVAL, "", 0},
		{"[::1]:", -EINVAL, "", 0},
		{"[::1]80", -EINVAL, "", 0},
		{"[]:80", -EINVAL, "", 0},
		{"[1.2.3.4]:80", -EINVAL, "", 0},
		{"[fe80::1%]:80", -EINVAL, "", 0},
		{"[zz::1]:80", -EINVAL, "", 0},
		{"::1:80", -EINVAL, "", 0},
		{"1.2.3.4:abc", -EINVAL, "", 0},
		{"1.2.3.4:80:90", -EINVAL, "", 0},
		{"a b:80", -EINVAL, "", 0},
		{"a/b:80", -EINVAL, "", 0},
	};

	return cr_make_param_array(struct listen_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct listen_case *c, http, parse_listen)
{
	char host[64] = "untouched";
	unsigned short port = 7;
	int ret = http__parse_listen(c->addr, host, sizeof(host), &port);

	cr_assert_eq(ret, c->ret, "\"%s\": got %d, want %d", c->addr, ret, c->ret);
	if (ret == 0) {
		cr_expect_str_eq(host, c->host, "\"%s\"", c->addr);
		cr_expect_eq(port, c->port, "\"%s\": port %u", c->addr, port);
	} else {
		cr_expect_str_eq(host, "untouched", "\"%s\": host written on error", c->addr);
		cr_expect_eq(port, 7, "\"%s\": port written on error", c->addr);
	}
}

Test(http, parse_listen_bad_arguments)
{
	char host[4];
	unsigned short port;

	cr_expect_eq(http__parse_listen(NULL, host, sizeof(host), &port), -EINVAL);
	cr_expect_eq(http__parse_listen(":80", NULL, 8, &port), -EINVAL);
	cr_expect_eq(http__parse_listen(":80", host, 0, &port), -EINVAL);
	cr_expect_eq(http__parse_listen(":80", host, sizeof(host), NULL), -EINVAL);
	/* "abcd" needs 5 bytes with its NUL */
	cr_expect_eq(http__parse_listen("abcd:80", host, sizeof(host), &port), -EINVAL);
	cr_expect_eq(http__parse_listen("abc:80", host, sizeof(host), &port), 0);
}

/* Config applies these rules at parse time: each reason must read after the quoted value. */
struct check_case {
	char value[32];
	char why[64]; /* empty: accepted */
};

ParameterizedTestParameters(http, check_listen)
{
	static struct check_case cases[] = {
		{":80", ""},
		{"[fe80::1%eth-0]:80", ""},
		{"exporter_1.example-net:80", ""},
		{"1.2.3.4:80", ""},
		{"", "has no port"},
		{"10464", "has no port"},
		{"[::1]", "has no port"},
		{"[::1]x:80", "has junk after ]"},
		{"[::g]:80", "has a bad [IPv6] address"},
		{"[::1%]:80", "has a bad [IPv6] address"},
		{"[1.2.3.4]:80", "has a bad [IPv6] address"},
		{"a b:80", "has a bad host"},
		{"256.1.1.1:80", "has a bad IPv4 address"},
		{"1.2.3:80", "has a bad IPv4 address"},
		{"::1:80", "has a bad port (1..65535)"},
		{":0", "has a bad port (1..65535)"},
	};

	return cr_make_param_array(struct check_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct check_case *c, http, check_listen)
{
	const char *why = "untouched";
	int ret = http__check_listen(c->value, &why);

	if (!c->why[0]) {
		cr_expect_eq(ret, 0, "\"%s\": %s", c->value, why);
		cr_expect_null(why);
	} else {
		cr_expect_eq(ret, -EINVAL, "\"%s\" accepted", c->value);
		cr_expect_str_eq(why ? why : "(null)", c->why, "\"%s\"", c->value);
	}
}

ParameterizedTestParameters(http, check_path)
{
	static struct check_case cases[] = {
		{"/metrics", ""},
		{"/a/b-c_d.e", ""},
		{"", "must start with /"},
		{"metrics", "must start with /"},
		{"/a b", "contains a space, control, non-ASCII, ? or # character"},
		{"/a?x", "contains a space, control, non-ASCII, ? or # character"},
		{"/a#x", "contains a space, control, non-ASCII, ? or # character"},
		{"/\xc3\xa9", "contains a space, control, non-ASCII, ? or # character"},
		{"/", "is the landing page"},
		{"/metrics/health", "is the health endpoint"},
	};

	return cr_make_param_array(struct check_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct check_case *c, http, check_path)
{
	const char *why = "untouched";
	int ret = http__check_path(c->value, &why);

	cr_expect_eq(ret, c->why[0] ? -EINVAL : 0, "\"%s\"", c->value);
	cr_expect_str_eq(why ? why : "", c->why, "\"%s\"", c->value);
}

Test(http, check_null_and_no_reason)
{
	cr_expect_eq(http__check_listen(NULL, NULL), -EINVAL);
	cr_expect_eq(http__check_path(NULL, NULL), -EINVAL);
	cr_expect_eq(http__check_listen(":80", NULL), 0);
	cr_expect_eq(http__check_path("/m", NULL), 0);
}

struct ae_case {
	bool null; /* header absent */
	char header[48];
	bool gzip;
};

ParameterizedTestParameters(http, accepts_gzip)
{
	static struct ae_case cases[] = {
		{true, "", false},
		{false, "", false},
		{false, "gzip", true},
		{false, "GZip", true},
		{false, "x-gzip", true},
		{false, "deflate, gzip", true},
		{false, "gzip, deflate, br", true},
		{false, "  gzip  ", true},
		{false, "\tgzip\t,deflate", true},
		{false, ",, gzip ,", true},
		{false, "gzip;q=1", true},
		{false, "gzip;q=1.0", true},
		{false, "gzip;q=1.000", true},
		{false, "gzip;q=0.5", true},
		{false, "gzip;q=0.001", true},
		{false, "gzip ; q=0.8", true},
		{false, "gzip;Q=0.8", true},
		{false, "gzip;q = 0.8", true},
		{false, "gzip;level=9", true},
		{false, "br;q=1.0, gzip;q=0.8, *;q=0.1", true},
		{false, "gzip;q=0", false},
		{false, "gzip;q=0.", false},
		{false, "gzip;q=0.0", false},
		{false, "gzip; q=0.000", false},
		{false, "gzip;q=", false},
		{false, "gzip;q=abc", false},
		{false, "gzip;q=.5", false},
		{false, "gzip;q=0.5000", false},
		{false, "gzip;q=1.5", false},
		{false, "gzip;q=1.001", false},
		{false, "gzip;q=2", false},
		{false, "gzip;q=-1", false},
		{false, "gzip;q=\"0.5\"", false},
		{false, "*", true},
		{false, "*;q=0.3", true},
		{false, "*;q=0", false},
		{false, "*;q=bad", false},
		{false, "identity", false},
		{false, "deflate", false},
		{false, "gzipx", false},
		{false, "gzip-ish", false},
		{false, "identity;q=0", false},
		/* an explicit gzip entry decides over "*", either way */
		{false, "gzip;q=0, *", false},
		{false, "*;q=0, gzip", true},
		{false, "gzip, gzip;q=0", false},
	};

	return cr_make_param_array(struct ae_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct ae_case *c, http, accepts_gzip)
{
	cr_expect_eq(negotiate__gzip(c->null ? NULL : c->header), c->gzip, "\"%s\": want %s",
		     c->null ? "(null)" : c->header, c->gzip ? "gzip" : "identity");
}

/* ---- a real server ----------------------------------------------------------------------- */

#define METRICS_LINE "ccproxy_requests_total{method=\"POST\",status=\"200\"} 12345\n"
#define HEALTH_BODY \
	"{\"status\": \"healthy\", \"prometheus_enabled\": true, \"namespace\": \"ccproxy\"}"

struct fake {
	int metrics_err;
	int health_err;
	int lines;
};

static struct fake fake = {.lines = 200};

static int fake_metrics(void *ctx, enum negotiate_format fmt, struct strbuf *out)
{
	struct fake *f = ctx;
	int i;

	if (f->metrics_err)
		return f->metrics_err;
	/* Another format's body starts with its number: the test sees what was asked for. */
	if (fmt != FMT_TEXT_0_0_4)
		strbuf__printf(out, "format %d\n", (int)fmt);
	strbuf__puts(out, "# HELP ccproxy_requests_total Total requests\n");
	for (i = 0; i < f->lines; i++)
		strbuf__puts(out, METRICS_LINE);
	return out->err;
}

static int fake_health(void *ctx, struct strbuf *out)
{
	struct fake *f = ctx;

	if (f->health_err)
		return f->health_err;
	return strbuf__puts(out, HEALTH_BODY);
}

static const struct http_handlers handlers = {fake_metrics, fake_health, &fake};

static struct http_server *srv;
static unsigned short port;
static char addr[64];

static unsigned short free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	cr_assert_geq(fd, 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
	close(fd);
	return ntohs(a.sin_port);
}

static struct http_server *start_at(const char *listen, const char *path, bool enabled)
{
	struct http_opts opts = {.listen_address = listen,
				 .telemetry_path = path,
				 .metrics_enabled = enabled,
				 .formats = NEGOTIATE_OFFER_ALL,
				 .timeout_s = 5};

	return http__start(&opts, &handlers);
}

static void start_server(const char *path, bool enabled)
{
	port = free_port();
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", port);
	srv = start_at(addr, path, enabled);
	cr_assert_not_null(srv, "http__start(%s): %s", addr, strerror(errno));
}

static void setup(void)
{
	start_server("/metrics", true);
}

static void teardown(void)
{
	http__stop(srv);
	srv = NULL;
}

struct reply {
	int status;
	char head[8192];
	char *body;
	size_t body_len;
	char *raw; /* everything the server sent */
	size_t raw_len;
};

static int connect_to(int family, const char *ip, unsigned short p)
{
	struct sockaddr_storage ss = {0};
	struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
	struct timeval tv = {.tv_sec = 5};
	socklen_t len;
	int fd = socket(family, SOCK_STREAM, 0);

	if (fd < 0)
		return -1;
	if (family == AF_INET) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons(p);
		inet_pton(AF_INET, ip, &a4->sin_addr);
		len = sizeof(*a4);
	} else {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(p);
		inet_pton(AF_INET6, ip, &a6->sin6_addr);
		len = sizeof(*a6);
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&ss, len)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Sends raw bytes, reads until the server closes; the first response is parsed into r. */
static void exchange_on(int family, const char *ip, const char *req, size_t req_len,
			struct reply *r)
{
	size_t cap = 1 << 16;
	char *end;
	ssize_t n;
	int fd = connect_to(family, ip, port);

	memset(r, 0, sizeof(*r));
	cr_assert_geq(fd, 0, "connect %s:%u: %s", ip, port, strerror(errno));
	cr_assert_eq(send(fd, req, req_len, MSG_NOSIGNAL), (ssize_t)req_len);
	r->raw = malloc(cap + 1);
	while ((n = recv(fd, r->raw + r->raw_len, cap - r->raw_len, 0)) > 0) {
		r->raw_len += (size_t)n;
		if (r->raw_len == cap)
			r->raw = realloc(r->raw, (cap *= 2) + 1);
	}
	close(fd);
	r->raw[r->raw_len] = '\0';
	end = strstr(r->raw, "\r\n\r\n");
	if (!end || sscanf(r->raw, "HTTP/1.%*d %d", &r->status) != 1)
		return; /* status stays 0: no complete response */
	cr_assert_lt((size_t)(end - r->raw), sizeof(r->head));
	memcpy(r->head, r->raw, (size_t)(end - r->raw) + 2);
	r->body = end + 4;
	r->body_len = r->raw_len - (size_t)(r->body - r->raw);
}

static void exchange(const char *req, struct reply *r)
{
	exchange_on(AF_INET, "127.0.0.1", req, strlen(req), r);
}

static void request(const char *method, const char *path, const char *extra, struct reply *r)
{
	char req[1024];

	snprintf(req, sizeof(req),
		 "%s %s HTTP/1.1\r\nHost: localhost\r\n%sConnection: close\r\n\r\n", method, path,
		 extra ? extra : "");
	exchange(req, r);
}

/* The value of a response header (case-insensitive name), or NULL; static storage. */
static const char *header(const struct reply *r, const char *name)
{
	static char value[512];
	const char *p = r->head;
	size_t n = strlen(name);

	while ((p = strstr(p, "\r\n")) != NULL) {
		p += 2;
		if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
			const char *v = p + n + 1, *e = strstr(v, "\r\n");

			while (*v == ' ')
				v++;
			snprintf(value, sizeof(value), "%.*s", (int)(e - v), v);
			return value;
		}
	}
	return NULL;
}

static void expect_header(const struct reply *r, const char *name, const char *want)
{
	const char *got = header(r, name);

	cr_expect_not_null(got, "missing %s", name);
	if (got)
		cr_expect_str_eq(got, want, "%s", name);
}

static void free_reply(struct reply *r)
{
	free(r->raw);
}

static size_t metrics_len(void)
{
	return strlen("# HELP ccproxy_requests_total Total requests\n") +
	       (size_t)fake.lines * strlen(METRICS_LINE);
}

TestSuite(server, .init = setup, .fini = teardown, .timeout = 30);

Test(server, landing_page)
{
	struct reply r;

	request("GET", "/", NULL, &r);
	cr_assert_eq(r.status, 200);
	expect_header(&r, "Content-Type", "text/html; charset=utf-8");
	cr_expect_not_null(strstr(r.body, "href=\"/metrics\""));
	cr_expect_not_null(strstr(r.body, "href=\"/metrics/health\""));
	free_reply(&r);
}

Test(server, metrics)
{
	struct reply r;
	char len[32];

	request("GET", "/metrics", NULL, &r);
	cr_assert_eq(r.status, 200);
	expect_header(&r, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
	expect_header(&r, "Cache-Control", "no-cache, no-store, must-revalidate");
	expect_header(&r, "Pragma", "no-cache");
	expect_header(&r, "Expires", "0");
	cr_expect_null(header(&r, "Content-Encoding"));
	snprintf(len, sizeof(len), "%zu", metrics_len());
	expect_header(&r, "Content-Length", len);
	cr_assert_eq(r.body_len, metrics_len());
	cr_expect(strncmp(r.body, "# HELP ccproxy_requests_total", 29) == 0);
	free_reply(&r);
}

Test(server, health)
{
	struct reply r;

	request("GET", "/metrics/health", NULL, &r);
	cr_assert_eq(r.status, 200);
	expect_header(&r, "Content-Type", "application/json");
	cr_expect_eq(r.body_len, strlen(HEALTH_BODY));
	cr_expect(strncmp(r.body, HEALTH_BODY, r.body_len) == 0);
	free_reply(&r);
}

Test(server, unknown_path_is_404)
{
	static const char *const paths[] = {"/nope", "/metrics/",  "/metricsx", "/metrics/health/",
					    "//",    "/index.html"};
	struct reply r;
	size_t i;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		request("GET", paths[i], NULL, &r);
		cr_expect_eq(r.status, 404, "%s: %d", paths[i], r.status);
		cr_expect_eq(r.body_len, strlen("Not Found\n"), "%s", paths[i]);
		cr_expect(strncmp(r.body ? r.body : "", "Not Found", 9) == 0, "%s", paths[i]);
		free_reply(&r);
	}
}

Test(server, not_found_keeps_the_connection)
{
	static const char req[] =
		"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"
		"GET /metrics/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
	struct reply r;
	const char *second;

	exchange(req, &r);
	cr_assert_eq(r.status, 404);
	second = strstr(r.body, "HTTP/1.1 ");
	cr_assert_not_null(second, "no second response: %s", r.raw);
	cr_expect(strncmp(second, "HTTP/1.1 200", 12) == 0, "%s", second);
	free_reply(&r);
}

Test(server, unknown_path_with_other_method_is_404)
{
	struct reply r;

	request("POST", "/nope", NULL, &r);
	cr_expect_eq(r.status, 404);
	cr_expect_null(header(&r, "Allow"));
	free_reply(&r);
}

Test(server, query_string_is_ignored)
{
	struct reply r;

	request("GET", "/metrics?x=1", NULL, &r);
	cr_expect_eq(r.status, 200);
	free_reply(&r);
}

/* libmicrohttpd unescapes the target and hands it over as a C string: the whole of it counts. */
Test(server, hidden_suffixes_are_404)
{
	static const char *const paths[] = {"/metrics%00.html", "/metrics%2fhealth",
					    "/metrics%2Fhealth", "/%00", "/metrics/health%00"};
	static const char nul[] = "GET /metrics\0.html HTTP/1.1\r\nHost: x\r\n"
				  "Connection: close\r\n\r\n";
	struct reply r;
	size_t i;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		request("GET", paths[i], NULL, &r);
		cr_expect_eq(r.status, 404, "%s: %d", paths[i], r.status);
		free_reply(&r);
	}
	exchange_on(AF_INET, "127.0.0.1", nul, sizeof(nul) - 1, &r);
	cr_expect(r.status == 404 || r.status == 400 || r.status == 0, "raw NUL: %d", r.status);
	cr_expect_neq(r.status, 200);
	free_reply(&r);
}

Test(server, other_escapes_still_match)
{
	struct reply r;

	request("GET", "/%6detrics", NULL, &r);
	cr_expect_eq(r.status, 200);
	free_reply(&r);
	request("GET", "/metrics/health?a=%00&b=%2f", NULL, &r);
	cr_expect_eq(r.status, 200);
	free_reply(&r);
}

Test(server, other_methods_are_405)
{
	static const char *const methods[] = {"POST", "PUT", "DELETE", "OPTIONS", "PATCH", "get"};
	struct reply r;
	size_t i;

	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		request(methods[i], "/metrics", "Content-Length: 5\r\n", &r);
		/* the body "hello" is not sent: the server must answer without waiting for it */
		cr_expect_eq(r.status, 405, "%s: %d", methods[i], r.status);
		expect_header(&r, "Allow", "GET, HEAD");
		free_reply(&r);
	}
	request("POST", "/", NULL, &r);
	cr_expect_eq(r.status, 405);
	free_reply(&r);
	request("POST", "/metrics/health", NULL, &r);
	cr_expect_eq(r.status, 405);
	free_reply(&r);
}

Test(server, post_with_body_is_not_read_as_next_request)
{
	static const char req[] = "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 28\r\n\r\n"
				  "GET /metrics/health HTTP/1.1";
	struct reply r;

	exchange(req, &r);
	cr_expect_eq(r.status, 405);
	cr_expect_null(strstr(r.raw, "application/json"));
	cr_expect_null(strstr(r.raw + 12, "HTTP/1.1 "), "a second response: %s", r.raw);
	free_reply(&r);
}

Test(server, get_body_is_discarded)
{
	/* A GET with a body, then a pipelined second request on the same connection. */
	static const char req[] =
		"GET /metrics/health HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n"
		"hello world"
		"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
	struct reply r;
	const char *second;

	exchange(req, &r);
	cr_assert_eq(r.status, 200);
	expect_header(&r, "Content-Type", "application/json");
	second = strstr(r.body, "HTTP/1.1 ");
	cr_assert_not_null(second, "no second response: %s", r.raw);
	cr_expect(strncmp(second, "HTTP/1.1 200", 12) == 0, "%s", second);
	cr_expect_not_null(strstr(second, "text/html"));
	free_reply(&r);
}

Test(server, chunked_get_body_is_discarded)
{
	static const char req[] =
		"GET /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
		"Connection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
	struct reply r;

	exchange(req, &r);
	cr_expect_eq(r.status, 200);
	cr_expect_eq(r.body_len, metrics_len());
	free_reply(&r);
}

Test(server, head)
{
	struct reply r;
	char len[32];

	request("HEAD", "/metrics", NULL, &r);
	cr_assert_eq(r.status, 200);
	expect_header(&r, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
	expect_header(&r, "Cache-Control", "no-cache, no-store, must-revalidate");
	snprintf(len, sizeof(len), "%zu", metrics_len());
	expect_header(&r, "Content-Length", len);
	cr_expect_eq(r.body_len, 0, "HEAD sent %zu body bytes", r.body_len);
	free_reply(&r);

	request("HEAD", "/", NULL, &r);
	cr_expect_eq(r.status, 200);
	cr_expect_eq(r.body_len, 0);
	free_reply(&r);
}

Test(server, gzip)
{
	struct reply r;
	char *plain = NULL, len[32];
	long n;

	request("GET", "/metrics", "Accept-Encoding: deflate, gzip;q=0.9\r\n", &r);
	cr_assert_eq(r.status, 200);
	expect_header(&r, "Content-Encoding", "gzip");
	expect_header(&r, "Vary", "Accept, Accept-Encoding");
	expect_header(&r, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
	snprintf(len, sizeof(len), "%zu", r.body_len);
	expect_header(&r, "Content-Length", len);
	cr_expect_lt(r.body_len, metrics_len() / 4, "%zu bytes gzipped", r.body_len);
	n = gunzip(r.body, r.body_len, &plain);
	cr_assert_eq(n, (long)metrics_len());
	cr_expect(strncmp(plain, "# HELP ccproxy_requests_total", 29) == 0);
	free(plain);
	free_reply(&r);

	request("GET", "/metrics", "Accept-Encoding: gzip;q=0, *\r\n", &r);
	cr_assert_eq(r.status, 200);
	cr_expect_null(header(&r, "Content-Encoding"));
	cr_expect_eq(r.body_len, metrics_len());
	free_reply(&r);

	request("HEAD", "/metrics", "Accept-Encoding: gzip\r\n", &r);
	cr_expect_eq(r.status, 200);
	expect_header(&r, "Content-Encoding", "gzip");
	cr_expect_eq(r.body_len, 0);
	free_reply(&r);
}

#define PROM_ACCEPT_PROTO                                                                       \
	"Accept: application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;"      \
	"encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,"                  \
	"application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;" \
	"q=0.1\r\n"
#define PROM_ACCEPT_OM                                                                     \
	"Accept: application/openmetrics-text;version=1.0.0,application/openmetrics-text;" \
	"version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1\r\n"

/* The handler is asked for the negotiated format, and the reply names it exactly. */
Test(server, negotiates_format)
{
	struct reply r;

	request("GET", "/metrics", PROM_ACCEPT_PROTO, &r);
	cr_assert_eq(r.status, 200);
	expect_header(&r, "Content-Type",
		      "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; "
		      "encoding=delimited");
	cr_expect(r.body && strncmp(r.body, "format 3\n", 9) == 0);
	free_reply(&r);

	request("GET", "/metrics", PROM_ACCEPT_OM, &r);
	cr_assert_eq(r.status, 200);
	expect_header(&r, "Content-Type",
		      "application/openmetrics-text; version=1.0.0; charset=utf-8");
	cr_expect(r.body && strncmp(r.body, "format 1\n", 9) == 0);
	free_reply(&r);

	request("GET", "/metrics", "Accept: */*\r\n", &r);
	cr_assert_eq(r.status, 200);
	expect_header(&r, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
	cr_expect_eq(r.body_len, metrics_len());
	free_reply(&r);
}

/* gzip is the transfer's business: it applies to every format alike. */
Test(server, gzip_every_format)
{
	struct reply r;
	char *plain = NULL;
	long n;

	request("GET", "/metrics", PROM_ACCEPT_PROTO "Accept-Encoding: gzip\r\n", &r);
	cr_assert_eq(r.status, 200);
	expect_header(&r, "Content-Encoding", "gzip");
	expect_header(&r, "Vary", "Accept, Accept-Encoding");
	n = gunzip(r.body, r.body_len, &plain);
	cr_assert_eq(n, (long)(metrics_len() + strlen("format 3\n")));
	cr_expect(strncmp(plain, "format 3\n", 9) == 0);
	free(plain);
	free_reply(&r);
}

/* Only the formats offered are sent; text 0.0.4 is always there. */
Test(server, restricted_offer, .init = NULL)
{
	struct http_opts opts = {.telemetry_path = "/metrics",
				 .metrics_enabled = true,
				 .formats = NEGOTIATE_OFFER_OPENMETRICS,
				 .timeout_s = 5};
	struct reply r;

	port = free_port();
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", port);
	opts.listen_address = addr;
	srv = http__start(&opts, &handlers);
	cr_assert_not_null(srv);
	request("GET", "/metrics", PROM_ACCEPT_PROTO, &r);
	cr_assert_eq(r.status, 200);
	expect_header(&r, "Content-Type",
		      "application/openmetrics-text; version=1.0.0; charset=utf-8");
	free_reply(&r);
}

Test(server, empty_metrics)
{
	struct reply r;

	fake.lines = 0;
	request("GET", "/metrics", "Accept-Encoding: gzip\r\n", &r);
	cr_expect_eq(r.status, 200);
	free_reply(&r);
}

static void expect_500(const char *path)
{
	struct reply r;
	const char *nl;

	request("GET", path, NULL, &r);
	cr_assert_eq(r.status, 500, "%s: %d", path, r.status);
	expect_header(&r, "Content-Type", "text/plain; charset=utf-8");
	nl = memchr(r.body, '\n', r.body_len);
	cr_expect(nl && nl == r.body + r.body_len - 1, "not one line: %s", r.body);
	cr_expect_not_null(strstr(r.body, strerror(EIO)), "%s", r.body);
	free_reply(&r);
}

Test(server, handler_error_is_500)
{
	struct reply r;

	log__set_level(LOG_LEVEL_ERROR); /* the expected per-request warnings */
	fake.metrics_err = -EIO;
	expect_500("/metrics");
	fake.health_err = -EIO;
	expect_500("/metrics/health");
	/* the server keeps serving after a failure */
	fake.metrics_err = 0;
	request("GET", "/metrics", NULL, &r);
	cr_expect_eq(r.status, 200);
	free_reply(&r);
}

Test(server, huge_headers_are_refused)
{
	size_t big = 40 * 1024;
	char *req = malloc(big + 256);
	struct reply r;
	int n;

	cr_assert_not_null(req);
	n = snprintf(req, 256, "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: ");
	memset(req + n, 'a', big);
	strcpy(req + n + big, "\r\nConnection: close\r\n\r\n");
	exchange(req, &r);
	cr_expect(r.status == 431 || r.status == 0, "status %d", r.status);
	free_reply(&r);
	free(req);
}

Test(server, many_requests)
{
	struct reply r;
	int i;

	for (i = 0; i < 200; i++) {
		request("GET", "/metrics", i % 2 ? "Accept-Encoding: gzip\r\n" : NULL, &r);
		cr_assert_eq(r.status, 200, "request %d", i);
		free_reply(&r);
	}
}

/* Stopping closes the listening socket at once: the port refuses connections. */
Test(server, stop_closes_the_port)
{
	int fd = connect_to(AF_INET, "127.0.0.1", port);

	cr_assert_geq(fd, 0, "the server does not listen before the stop");
	close(fd);
	http__stop(srv);
	srv = NULL;
	cr_expect_lt(connect_to(AF_INET, "127.0.0.1", port), 0, "port %u still open", port);
	cr_expect_eq(errno, ECONNREFUSED, "%s", strerror(errno));
	http__stop(NULL); /* NULL-safe: returns without touching anything */
}

/* Suites below start their own servers. */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Seconds until the server closes fd (EOF or reset), reading what it sends; -1 after max. */
static double closed_after(int fd, double t0, double max)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	char buf[4096];
	ssize_t n;

	while (now_s() - t0 < max) {
		if (poll(&p, 1, 50) <= 0)
			continue;
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			return now_s() - t0;
	}
	return -1;
}

static void start_limited(unsigned int max_connections, unsigned int timeout_s)
{
	struct http_opts opts = {.listen_address = addr,
				 .telemetry_path = "/metrics",
				 .metrics_enabled = true,
				 .max_connections = max_connections,
				 .timeout_s = timeout_s};

	port = free_port();
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", port);
	srv = http__start(&opts, &handlers);
	cr_assert_not_null(srv, "http__start: %s", strerror(errno));
}

Test(limits, over_the_limit_is_closed_at_once, .fini = teardown, .timeout = 30)
{
	int held[2], extra, i;
	double t0, took;
	struct reply r;

	start_limited(2, 10);
	for (i = 0; i < 2; i++) {
		held[i] = connect_to(AF_INET, "127.0.0.1", port);
		cr_assert_geq(held[i], 0);
		send(held[i], "GET / HTTP/1.1\r\n", 16, MSG_NOSIGNAL);
	}
	usleep(200 * 1000);
	t0 = now_s();
	extra = connect_to(AF_INET, "127.0.0.1", port);
	cr_assert_geq(extra, 0);
	send(extra, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 35, MSG_NOSIGNAL);
	took = closed_after(extra, t0, 5);
	close(extra);
	cr_expect(took >= 0 && took < 1.0, "closed after %.2f s (-1: not within 5 s)", took);
	/* A freed slot serves again. */
	close(held[0]);
	usleep(200 * 1000);
	request("GET", "/metrics/health", NULL, &r);
	cr_expect_eq(r.status, 200);
	free_reply(&r);
	close(held[1]);
}

/* The idle timer restarts with every byte; the headers' deadline does not. */
Test(limits, slow_headers_are_cut_after_the_timeout, .fini = teardown, .timeout = 30)
{
	static const char req[] =
		"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaa";
	double t0 = 0, took = -1;
	size_t i;
	int fd;

	start_limited(4, 1);
	fd = connect_to(AF_INET, "127.0.0.1", port);
	cr_assert_geq(fd, 0);
	t0 = now_s();
	for (i = 0; i < sizeof(req) - 1 && now_s() - t0 < 5; i++) {
		if (send(fd, req + i, 1, MSG_NOSIGNAL) != 1)
			break;
		took = closed_after(fd, t0, now_s() - t0 + 0.2);
		if (took >= 0)
			break;
	}
	if (took < 0)
		took = closed_after(fd, t0, 5);
	close(fd);
	cr_expect(took >= 0.8 && took < 2.0, "closed after %.2f s (-1: not within 5 s)", took);
}

/* The deadline is per request: a kept-alive connection serves many. */
Test(limits, keep_alive_requests_each_get_the_deadline, .fini = teardown, .timeout = 30)
{
	static const char req[] = "GET /metrics/health HTTP/1.1\r\nHost: x\r\n\r\n";
	char buf[4096];
	int fd, i;

	start_limited(4, 1);
	fd = connect_to(AF_INET, "127.0.0.1", port);
	cr_assert_geq(fd, 0);
	for (i = 0; i < 4; i++) {
		usleep(600 * 1000);
		cr_assert_eq(send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL), (ssize_t)sizeof(req) - 1,
			     "request %d", i);
		cr_assert_gt(recv(fd, buf, sizeof(buf), 0), 12, "request %d", i);
		cr_expect(strncmp(buf, "HTTP/1.1 200", 12) == 0, "request %d", i);
	}
	close(fd);
}

Test(config, metrics_disabled_is_404, .fini = teardown, .timeout = 30)
{
	struct reply r;

	start_server("/metrics", false);
	request("GET", "/metrics", NULL, &r);
	cr_expect_eq(r.status, 404);
	free_reply(&r);
	request("GET", "/metrics/health", NULL, &r);
	cr_expect_eq(r.status, 200);
	free_reply(&r);
	request("GET", "/", NULL, &r);
	cr_expect_eq(r.status, 200);
	cr_expect_null(strstr(r.body, "href=\"/metrics\""));
	free_reply(&r);
}

Test(config, custom_telemetry_path, .fini = teardown, .timeout = 30)
{
	struct reply r;

	start_server("/x/<metrics>", true);
	request("GET", "/x/<metrics>", NULL, &r);
	cr_expect_eq(r.status, 200);
	free_reply(&r);
	request("GET", "/metrics", NULL, &r);
	cr_expect_eq(r.status, 404);
	free_reply(&r);
	request("GET", "/", NULL, &r);
	cr_expect_not_null(strstr(r.body, "href=\"/x/&lt;metrics&gt;\""), "%s", r.body);
	free_reply(&r);
}

Test(config, bad_options_are_einval)
{
	static const char *const paths[] = {NULL, "", "metrics", "/", "/metrics/health"};
	size_t i;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		errno = 0;
		cr_expect_null(start_at("127.0.0.1:1", paths[i], true));
		cr_expect_eq(errno, EINVAL, "path %s", paths[i] ? paths[i] : "(null)");
	}
	errno = 0;
	cr_expect_null(start_at("1.2.3.4:abc", "/metrics", true));
	cr_expect_eq(errno, EINVAL);
	errno = 0;
	cr_expect_null(start_at(":0", "/metrics", true));
	cr_expect_eq(errno, EINVAL);
	errno = 0;
	cr_expect_null(start_at("no-such-host.invalid:9100", "/metrics", true));
	cr_expect_neq(errno, 0);
	errno = 0;
	cr_expect_null(http__start(NULL, &handlers));
	cr_expect_eq(errno, EINVAL);
}

static int hold_port(int family, const char *ip, unsigned short p)
{
	struct sockaddr_storage ss = {0};
	struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
	int fd = socket(family, SOCK_STREAM, 0), one = 1;

	cr_assert_geq(fd, 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (family == AF_INET) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons(p);
		inet_pton(AF_INET, ip, &a4->sin_addr);
	} else {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(p);
		inet_pton(AF_INET6, ip, &a6->sin6_addr);
	}
	cr_assert_eq(
		bind(fd, (struct sockaddr *)&ss, family == AF_INET ? sizeof(*a4) : sizeof(*a6)), 0);
	cr_assert_eq(listen(fd, 1), 0);
	return fd;
}

Test(config, port_in_use_is_eaddrinuse)
{
	unsigned short p = free_port();
	char a[64];
	int fd = hold_port(AF_INET, "127.0.0.1", p);

	snprintf(a, sizeof(a), "127.0.0.1:%u", p);
	errno = 0;
	cr_expect_null(start_at(a, "/metrics", true));
	cr_expect_eq(errno, EADDRINUSE, "%s", strerror(errno));
	/* the wildcard socket collides with the held loopback one too */
	snprintf(a, sizeof(a), ":%u", p);
	errno = 0;
	cr_expect_null(start_at(a, "/metrics", true));
	cr_expect_eq(errno, EADDRINUSE, "%s", strerror(errno));
	snprintf(a, sizeof(a), "localhost:%u", p);
	errno = 0;
	cr_expect_null(start_at(a, "/metrics", true));
	cr_expect_eq(errno, EADDRINUSE, "%s", strerror(errno));
	close(fd);
}

Test(config, second_server_on_same_port, .fini = teardown, .timeout = 30)
{
	start_server("/metrics", true);
	errno = 0;
	cr_expect_null(start_at(addr, "/metrics", true));
	cr_expect_eq(errno, EADDRINUSE);
}

static bool have_ipv6(void)
{
	int fd = socket(AF_INET6, SOCK_STREAM, 0);
	struct sockaddr_in6 a = {.sin6_family = AF_INET6};
	bool ok;

	if (fd < 0)
		return false;
	a.sin6_addr = in6addr_loopback;
	ok = bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return ok;
}

Test(config, any_address_is_dual_stack, .fini = teardown, .timeout = 30)
{
	char a[32];
	struct reply r;
	static const char req[] =
		"GET /metrics/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

	port = free_port();
	snprintf(a, sizeof(a), ":%u", port);
	srv = start_at(a, "/metrics", true);
	cr_assert_not_null(srv, "%s: %s", a, strerror(errno));
	exchange_on(AF_INET, "127.0.0.1", req, strlen(req), &r);
	cr_expect_eq(r.status, 200);
	free_reply(&r);
	if (!have_ipv6())
		cr_skip_test("no IPv6 loopback: IPv4 checked only");
	exchange_on(AF_INET6, "::1", req, strlen(req), &r);
	cr_expect_eq(r.status, 200);
	free_reply(&r);
}

Test(config, ipv6_literal, .fini = teardown, .timeout = 30)
{
	char a[32];
	struct reply r;
	static const char req[] = "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

	if (!have_ipv6())
		cr_skip_test("no IPv6 loopback");
	port = free_port();
	snprintf(a, sizeof(a), "[::1]:%u", port);
	srv = start_at(a, "/metrics", true);
	cr_assert_not_null(srv, "%s: %s", a, strerror(errno));
	exchange_on(AF_INET6, "::1", req, strlen(req), &r);
	cr_expect_eq(r.status, 200);
	free_reply(&r);
}

Test(config, hostname, .fini = teardown, .timeout = 30)
{
	char a[32];
	struct reply r;
	static const char req[] = "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

	port = free_port();
	snprintf(a, sizeof(a), "localhost:%u", port);
	srv = start_at(a, "/metrics", true);
	cr_assert_not_null(srv, "%s: %s", a, strerror(errno));
	/* IPv4 is preferred when a name has both families */
	exchange_on(AF_INET, "127.0.0.1", req, strlen(req), &r);
	cr_expect_eq(r.status, 200);
	free_reply(&r);
}

Test(config, small_connection_limit, .fini = teardown, .timeout = 30)
{
	struct http_opts opts = {.listen_address = addr,
				 .telemetry_path = "/metrics",
				 .metrics_enabled = true,
				 .max_connections = 1};
	struct reply r;

	port = free_port();
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", port);
	srv = http__start(&opts, &handlers);
	cr_assert_not_null(srv, "%s", strerror(errno));
	request("GET", "/metrics/health", NULL, &r);
	cr_expect_eq(r.status, 200);
	free_reply(&r);
}
