// SPDX-License-Identifier: BSD-2-Clause
/*
 * One table of options drives the flags, the PLUGINS__METRICS__ variables, validation and the
 * usage text, so that a setting cannot exist in one of them and be missing from another.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <regex.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "config.h"
#include "http.h"
#include "negotiate.h"
#include "nhist.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define ENV_PREFIX "PLUGINS__METRICS__"
/* Far above CCPROXY_DURATION_NS_MAX, and small enough that llround() stays defined. */
#define BUCKET_MAX_SECONDS 1e9
/* Bytes of an offending value shown in a message. */
#define QUOTE_MAX 64
/* getopt_long vals above any character getopt itself returns. */
#define VAL_SET 1000
#define VAL_NEG 2000

enum opt_kind { K_BOOL, K_STR, K_UINT, K_BUCKETS, K_PID, K_LEVEL, K_LABEL, K_HELP, K_VERSION };

typedef int (*check_fn)(const char *v, const char *who, char *err, size_t errlen);

struct opt {
	const char *name; /* long flag without "--" */
	const char *neg;  /* "no-<name>" for booleans */
	enum opt_kind kind;
	bool env; /* a ccproxy field: also PLUGINS__METRICS__<NAME with '_'> */
	size_t off, size;
	size_t count_off;      /* K_BUCKETS: the size_t that counts the bounds at off */
	unsigned int min, max; /* K_UINT; K_BUCKETS: max is the capacity */
	check_fn check;	       /* K_STR */
	const char *arg;       /* value name in the usage text */
	const char *help;
};

struct quoted {
	char s[QUOTE_MAX * 4 + 8];
};

static const double default_buckets[] = {0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 25.0};
/* LLM scale, vLLM's time-to-first-token ladder: 1 ms to 2560 s, for every latency family. */
static const double default_latency_buckets[] = {
	0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1,  0.25,	 0.5,	0.75,
	1.0,   2.5,   5.0,  7.5,  10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0,
};
_Static_assert(sizeof(default_latency_buckets) / sizeof(double) <= CCPROXY_LATENCY_BUCKETS,
	       "the default latency ladder fits");
static const char *const level_names[] = {"debug", "info", "warn", "error"};

static int fail(char *err, size_t errlen, const char *who, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Writes "<who>: <message>"; a message cut by a short buffer is still a message. */
static int fail(char *err, size_t errlen, const char *who, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!err || !errlen)
		return -EINVAL;
	n = snprintf(err, errlen, "%s: ", who);
	if (n >= 0 && (size_t)n < errlen) {
		va_start(ap, fmt);
		vsnprintf(err + n, errlen - n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* A value as it may appear in a message: quoted, escaped, cut, so it cannot garble a log line. */
static const char *quote(struct quoted *q, const char *v)
{
	static const char hex[] = "0123456789abcdef";
	char *p = q->s;
	size_t i;

	*p++ = '"';
	for (i = 0; v[i] && i < QUOTE_MAX; i++) {
		unsigned char c = v[i];

		if (c == '"' || c == '\\') {
			*p++ = '\\';
			*p++ = c;
		} else if (c < 0x20 || c >= 0x7f) {
			*p++ = '\\';
			*p++ = 'x';
			*p++ = hex[c >> 4];
			*p++ = hex[c & 15];
		} else {
			*p++ = c;
		}
	}
	*p++ = '"';
	if (v[i]) {
		memcpy(p, "...", 3);
		p += 3;
	}
	*p = '\0';
	return q->s;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_ctl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

/* pydantic's spellings (case-insensitive); t/f/y/n too, as pydantic accepts them. */
static int parse_bool(const char *v, bool *out)
{
	static const char *const words[][2] = {{"true", "false"}, {"1", "0"}, {"yes", "no"},
					       {"on", "off"},	  {"t", "f"}, {"y", "n"}};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(words); i++) {
		if (!strcasecmp(v, words[i][0]) || !strcasecmp(v, words[i][1])) {
			*out = !strcasecmp(v, words[i][0]);
			return 0;
		}
	}
	return -EINVAL;
}

/* Decimal digits only: no sign, space or suffix. -EINVAL not a number, -ERANGE too large. */
static int parse_u64(const char *v, unsigned long long *out)
{
	unsigned long long n = 0;
	size_t i;

	if (!*v)
		return -EINVAL;
	for (i = 0; v[i]; i++)
		if (!is_digit(v[i]))
			return -EINVAL;
	for (i = 0; v[i]; i++) {
		unsigned int d = v[i] - '0';

		if (n > (ULLONG_MAX - d) / 10)
			return -ERANGE;
		n = n * 10 + d;
	}
	*out = n;
	return 0;
}

static int parse_range(const char *v, unsigned long long min, unsigned long long max,
		       unsigned long long *out, const char *who, char *err, size_t errlen)
{
	struct quoted q;
	int ret = parse_u64(v, out);

	if (ret == -EINVAL)
		return fail(err, errlen, who, "%s is not a number", quote(&q, v));
	if (ret || *out < min || *out > max)
		return fail(err, errlen, who, "%s is out of range %llu..%llu", quote(&q, v), min,
			    max);
	return 0;
}

struct family_opts config__families(const struct config *cfg)
{
	struct family_opts b = {.response = cfg->histogram_buckets,
				.nresponse = cfg->nbuckets,
				.serve_latency = cfg->collect_latency_metrics};
	size_t i;

	for (i = 0; i < CCPROXY_LATENCIES; i++) {
		b.latency[i] = cfg->latency_buckets[i];
		b.nlatency[i] = cfg->nlatency_buckets[i];
	}
	return b;
}

unsigned long long config__bucket_ns(double seconds)
{
	double ns = seconds * 1e9;

	if (!isfinite(ns) || !(ns > 0) || ns >= 9e18)
		return 0;
	return (unsigned long long)llround(ns);
}

/* Shortest "%g" that reads back as the same double: 0.1 and 10 rather than 0.10000000000000001. */
static void format_double(char *buf, size_t size, double v)
{
	int prec, exp10 = isfinite(v) && v != 0 ? (int)floor(log10(fabs(v))) : 0;

	for (prec = 1; prec < 17; prec++) {
		snprintf(buf, size, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	/* %g turns to exponent form once the exponent reaches the precision: 10 is "1e+01". */
	if (exp10 >= prec && exp10 < 17)
		prec = exp10 + 1;
	snprintf(buf, size, "%.*g", prec, v);
}

/* One bound against the one before it (i > 0); text is the bound as the user wrote it. */
static int check_bucket(const double *b, size_t i, const char *text, const char *who, char *err,
			size_t errlen)
{
	double v = b[i];

	if (!isfinite(v))
		return fail(err, errlen, who, "%s is not finite", text);
	if (!(v > 0))
		return fail(err, errlen, who, "%s is not > 0", text);
	if (v > BUCKET_MAX_SECONDS)
		return fail(err, errlen, who, "%s is above %g seconds", text, BUCKET_MAX_SECONDS);
	if (config__bucket_ns(v) < 1)
		return fail(err, errlen, who, "%s rounds to 0 ns", text);
	if (i > 0 && !(v > b[i - 1]))
		return fail(err, errlen, who, "not increasing at %s", text);
	/* BPF compares integer ns: two bounds in one ns would be one bucket counted twice. */
	if (i > 0 && config__bucket_ns(v) == config__bucket_ns(b[i - 1]))
		return fail(err, errlen, who, "not increasing in nanoseconds at %s", text);
	return 0;
}

static int check_buckets(const double *b, size_t n, size_t max, const char *who, char *err,
			 size_t errlen)
{
	char text[32];
	size_t i;
	int ret;

	if (n < 1)
		return fail(err, errlen, who, "needs at least one finite bucket");
	if (n > max)
		return fail(err, errlen, who, "more than %zu buckets", max);
	for (i = 0; i < n; i++) {
		format_double(text, sizeof(text), b[i]);
		ret = check_bucket(b, i, text, who, err, errlen);
		if (ret)
			return ret;
	}
	return 0;
}

/* A bound as JSON or Python writes it. 1 for +Inf, 0 for a number, -EINVAL otherwise. */
static int parse_bound(const char *tok, double *out)
{
	const char *w = tok + (*tok == '+' || *tok == '-');
	char *end;
	size_t i;

	if (!strcasecmp(w, "inf") || !strcasecmp(w, "infinity")) {
		*out = *tok == '-' ? -INFINITY : INFINITY;
		return *tok == '-' ? 0 : 1;
	}
	/* strtod alone would also take hex, "nan" and leading spaces. */
	for (i = 0; tok[i]; i++)
		if (!is_digit(tok[i]) && !strchr(".eE+-", tok[i]))
			return -EINVAL;
	if (!*tok)
		return -EINVAL;
	*out = strtod(tok, &end);
	if (*end || end == tok)
		return -EINVAL;
	return 0;
}

static size_t trim(const char **s, size_t len)
{
	while (len && (**s == ' ' || **s == '\t')) {
		(*s)++;
		len--;
	}
	while (len && ((*s)[len - 1] == ' ' || (*s)[len - 1] == '\t'))
		len--;
	return len;
}

/*
 * Cuts the next element of "a, b" into tok; a quoted element ("0.1") is taken, as pydantic
 * takes it. Sets *more when a comma follows. -E2BIG (tok holds a cut copy) if it does not fit.
 */
static int next_element(const char **p, const char *end, char *tok, size_t size, bool *more)
{
	const char *s = *p;
	const char *comma = memchr(s, ',', end - s);
	size_t len = (comma ? comma : end) - s;
	bool cut;

	*p = comma ? comma + 1 : end;
	*more = comma != NULL;
	len = trim(&s, len);
	if (len >= 2 && s[0] == '"' && s[len - 1] == '"') {
		s++;
		len -= 2;
	}
	cut = len >= size;
	if (cut)
		len = size - 1;
	memcpy(tok, s, len);
	tok[len] = '\0';
	return cut ? -E2BIG : 0;
}

/* Into the bounds of option o (at o->off, counted at o->count_off, at most o->max). */
static int parse_buckets(struct config *cfg, const struct opt *o, const char *v, const char *who,
			 char *err, size_t errlen)
{
	double b[CCPROXY_MAX_BUCKETS], d;
	const char *p = v, *end;
	struct quoted q;
	size_t n = 0, len = trim(&p, strlen(v));
	bool more = true, inf = false;
	char tok[48];
	int ret;

	end = p + len;
	if (len && *p == '[') {
		if (end[-1] != ']' || len < 2)
			return fail(err, errlen, who, "%s: missing ]", quote(&q, v));
		p++;
		end--;
	}
	while (more) {
		ret = next_element(&p, end, tok, sizeof(tok), &more);
		if (!ret && !*tok && !more && n == 0 && !inf)
			break; /* "" or "[]": reported as no buckets */
		if (inf)
			return fail(err, errlen, who, "+Inf must be the last bucket");
		if (ret == -E2BIG)
			return fail(err, errlen, who, "%s... is too long to be a number",
				    quote(&q, tok));
		ret = parse_bound(tok, &d);
		if (ret < 0)
			return fail(err, errlen, who, "%s is not a number", quote(&q, tok));
		if (ret == 1) {
			inf = true; /* the exporter always adds +Inf itself */
			continue;
		}
		if (n == o->max)
			return fail(err, errlen, who, "more than %u buckets", o->max);
		b[n] = d;
		ret = check_bucket(b, n, tok, who, err, errlen);
		if (ret)
			return ret;
		n++;
	}
	if (n == 0)
		return fail(err, errlen, who, "needs at least one finite bucket");
	memcpy((char *)cfg + o->off, b, n * sizeof(b[0]));
	*(size_t *)((char *)cfg + o->count_off) = n;
	return 0;
}

static int check_namespace(const char *v, const char *who, char *err, size_t errlen)
{
	struct quoted q;
	size_t i;

	for (i = 0; v[i]; i++) {
		char c = v[i];

		if (!is_alpha(c) && c != '_' && c != ':' && (i == 0 || !is_digit(c)))
			return fail(err, errlen, who, "%s is not a valid metric name prefix",
				    quote(&q, v));
	}
	return 0;
}

static const char *port_error(const char *s, size_t len)
{
	unsigned long long n;
	char port[8];

	if (len == 0 || len >= sizeof(port))
		return "has a bad port (1..65535)";
	memcpy(port, s, len);
	port[len] = '\0';
	if (parse_u64(port, &n) || n < 1 || n > 65535)
		return "has a bad port (1..65535)";
	return NULL;
}

/*
 * Whether s[0..len) is a valid IPv4 address (digits and dots only) or IPv6 one (v6, with an
 * optional %zone). Such hosts never reach the resolver, so they are checked here: "256.1.1.1"
 * would otherwise be looked up as a name and fail only when the exporter listens.
 */
static bool valid_ip(int family, const char *s, size_t len)
{
	char buf[INET6_ADDRSTRLEN + 1];
	unsigned char addr[sizeof(struct in6_addr)];
	const char *pct = family == AF_INET6 ? memchr(s, '%', len) : NULL;

	if (pct && pct + 1 < s + len)
		len = (size_t)(pct - s);
	if (len >= sizeof(buf))
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return inet_pton(family, buf, addr) == 1;
}

static bool is_numeric_host(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (!is_digit(s[i]) && s[i] != '.')
			return false;
	return len > 0;
}

/*
 * A URL's authority: "host", "host:port", "[v6]", "[v6]:port" in s[0..len). Returns NULL or
 * why it is not one. Names are checked for their characters only: the resolver has the last
 * word. (The listen address has its own rules, in http.)
 */
static const char *hostport_error(const char *s, size_t len)
{
	const char *host = s, *colon, *close;
	size_t hlen, i;

	if (len && s[0] == '[') {
		close = memchr(s, ']', len);
		if (!close || close == s + 1)
			return "has a bad [IPv6] address";
		for (i = 1; s + i < close; i++)
			if (!is_digit(s[i]) && !is_alpha(s[i]) && !strchr(":.%", s[i]))
				return "has a bad [IPv6] address";
		if (!memchr(s, ':', close - s) || !valid_ip(AF_INET6, s + 1, close - s - 1))
			return "has a bad [IPv6] address";
		hlen = close - s + 1;
		if (hlen < len && s[hlen] != ':')
			return "has junk after ]";
	} else {
		colon = memchr(s, ':', len);
		hlen = colon ? (size_t)(colon - s) : len;
		for (i = 0; i < hlen; i++)
			if (!is_digit(host[i]) && !is_alpha(host[i]) && !strchr(".-_", host[i]))
				return "has a bad host";
	}
	if (hlen == 0)
		return "has no host";
	if (host[0] != '[' && is_numeric_host(host, hlen) && !valid_ip(AF_INET, host, hlen))
		return "has a bad IPv4 address";
	if (hlen == len)
		return NULL;
	return port_error(s + hlen + 1, len - hlen - 1);
}

/* The rules are http's (http__check_listen): what passes here, the server binds to. */
static int check_listen(const char *v, const char *who, char *err, size_t errlen)
{
	const char *why;
	struct quoted q;

	if (http__check_listen(v, &why))
		return fail(err, errlen, who, "%s %s (want [host]:port)", quote(&q, v), why);
	return 0;
}

static int check_url(const char *v, const char *who, char *err, size_t errlen)
{
	const char *auth, *slash, *why;
	struct quoted q;
	size_t i;

	if (!*v)
		return 0;
	for (i = 0; v[i]; i++)
		if ((unsigned char)v[i] <= ' ' || (unsigned char)v[i] >= 0x7f)
			return fail(err, errlen, who,
				    "%s contains a space, control or non-ASCII character",
				    quote(&q, v));
	if (!strncasecmp(v, "http://", 7))
		auth = v + 7;
	else if (!strncasecmp(v, "https://", 8))
		auth = v + 8;
	else
		return fail(err, errlen, who, "%s is not an http:// or https:// URL", quote(&q, v));
	/* The pusher appends /metrics/job/<job>: a query or fragment would swallow it. */
	if (strpbrk(v, "?#"))
		return fail(err, errlen, who, "%s must not have a query or fragment", quote(&q, v));
	slash = strchr(auth, '/');
	if (memchr(auth, '@', slash ? (size_t)(slash - auth) : strlen(auth)))
		return fail(err, errlen, who, "%s: user info in the URL is not supported",
			    quote(&q, v));
	why = hostport_error(auth, slash ? (size_t)(slash - auth) : strlen(auth));
	if (why)
		return fail(err, errlen, who, "%s %s (want http(s)://host[:port][/path])",
			    quote(&q, v), why);
	return 0;
}

static int check_job(const char *v, const char *who, char *err, size_t errlen)
{
	struct quoted q;
	size_t i;

	if (!*v)
		return fail(err, errlen, who, "must not be empty");
	for (i = 0; v[i]; i++)
		if (v[i] == '/' || is_ctl(v[i]))
			return fail(err, errlen, who, "%s contains '/' or a control character",
				    quote(&q, v));
	return 0;
}

/* The rules are http's (http__check_path), as for the listen address. */
static int check_path(const char *v, const char *who, char *err, size_t errlen)
{
	const char *why;
	struct quoted q;

	if (http__check_path(v, &why))
		return fail(err, errlen, who, "%s %s", quote(&q, v), why);
	return 0;
}

/* A decimal number of seconds the native histograms take as their zero threshold. */
static int check_zero_threshold(const char *v, const char *who, char *err, size_t errlen)
{
	struct nhist_params p;
	struct quoted q;
	char *end;
	double d;

	errno = 0;
	d = strtod(v, &end);
	if (!v[0] || *end || errno || nhist__params(NHIST_SCHEMA_DEFAULT, d, &p))
		return fail(err, errlen, who, "%s is not a number of seconds in %g..%g",
			    quote(&q, v), NHIST_ZERO_THRESHOLD_MIN, NHIST_ZERO_THRESHOLD_MAX);
	return 0;
}

static int check_formats(const char *v, const char *who, char *err, size_t errlen)
{
	unsigned int offered;
	const char *why;
	struct quoted q;

	if (negotiate__parse_offers(v, &offered, &why))
		return fail(err, errlen, who, "%s %s", quote(&q, v), why);
	return 0;
}

/* Free text (instance, user name, file names): anything but control characters. */
static int check_text(const char *v, const char *who, char *err, size_t errlen)
{
	struct quoted q;
	size_t i;

	for (i = 0; v[i]; i++)
		if (is_ctl(v[i]))
			return fail(err, errlen, who, "%s contains a control character",
				    quote(&q, v));
	return 0;
}

static int check_print_format(const char *v, const char *who, char *err, size_t errlen)
{
	if (!v[0] || !strcmp(v, "json"))
		return 0;
	return fail(err, errlen, who, "must be json");
}

/* Longest pattern accepted, and bounds on counted repetition: enough for any comm or path
 * filter, and (a{255}){255} is as large as an automaton can then grow. */
#define REGEX_MAX	 256
#define REGEX_BRACES_MAX 2
#define REGEX_BOUND_MAX	 255

static bool is_repeat(char c)
{
	return c == '*' || c == '+' || c == '?' || c == '{';
}

/*
 * glibc's regcomp builds automata exponential in stacked repetitions ("(a]+++...") and can
 * take gigabytes; POSIX leaves such patterns undefined anyway, so they are refused first.
 */
static int check_regex(const char *v, const char *who, char *err, size_t errlen)
{
	struct quoted q;
	int braces = 0;
	regex_t re;
	size_t i;

	if (!v[0])
		return 0;
	if (strlen(v) > REGEX_MAX)
		return fail(err, errlen, who, "longer than %d bytes", REGEX_MAX);
	for (i = 0; v[i]; i++) {
		bool escaped = i && v[i - 1] == '\\';

		if (i && is_repeat(v[i]) && is_repeat(v[i - 1]) && !escaped)
			return fail(err, errlen, who, "%s stacks repetition operators",
				    quote(&q, v));
		if (v[i] == '{' && !escaped && ++braces > REGEX_BRACES_MAX)
			return fail(err, errlen, who, "more than %d counted repetitions",
				    REGEX_BRACES_MAX);
		if (isdigit((unsigned char)v[i]) && strtoul(v + i, NULL, 10) > REGEX_BOUND_MAX &&
		    braces && !escaped)
			return fail(err, errlen, who, "a repetition count above %d",
				    REGEX_BOUND_MAX);
	}
	if (regcomp(&re, v, REG_EXTENDED | REG_NOSUB))
		return fail(err, errlen, who, "%s is not a valid extended regular expression",
			    quote(&q, v));
	regfree(&re);
	return 0;
}

/* Pinned maps live on bpffs, which only takes absolute paths. */
static int check_abs_path(const char *v, const char *who, char *err, size_t errlen)
{
	struct quoted q;

	if (v[0] && v[0] != '/')
		return fail(err, errlen, who, "%s is not an absolute path", quote(&q, v));
	return check_text(v, who, err, errlen);
}

static int check_method(const char *v, const char *who, char *err, size_t errlen)
{
	struct quoted q;

	if (strcmp(v, "put") && strcmp(v, "post"))
		return fail(err, errlen, who, "%s is not put or post", quote(&q, v));
	return 0;
}

/* A grouping-key label name: job and instance have their own flags, __ names are reserved. */
static int check_label_name(const char *v, size_t len, const char *who, char *err, size_t errlen)
{
	char name[64];
	struct quoted q;
	size_t i;

	snprintf(name, sizeof(name), "%.*s", (int)len, v);
	if (!len)
		return fail(err, errlen, who, "%s has no label name (want NAME=VALUE)",
			    quote(&q, v));
	for (i = 0; i < len; i++)
		if (!is_alpha(v[i]) && v[i] != '_' && (i == 0 || !is_digit(v[i])))
			return fail(err, errlen, who, "%s is not a valid label name",
				    quote(&q, name));
	if (len >= sizeof(name))
		return fail(err, errlen, who, "label name longer than %zu bytes", sizeof(name) - 1);
	if (!strcmp(name, "job") || !strcmp(name, "instance"))
		return fail(err, errlen, who, "%s has its own flag (--pushgateway-%s)",
			    quote(&q, name), name);
	if (!strncmp(name, "__", 2))
		return fail(err, errlen, who, "%s: names starting with __ are reserved",
			    quote(&q, name));
	return 0;
}

static int check_label(const struct config_label *l, const struct config_label *prev, size_t n,
		       const char *who, char *err, size_t errlen)
{
	size_t i;
	int ret;

	if (!memchr(l->name, '\0', sizeof(l->name)) || !memchr(l->value, '\0', sizeof(l->value)))
		return fail(err, errlen, who, "label longer than its field");
	ret = check_label_name(l->name, strlen(l->name), who, err, errlen);
	if (!ret)
		ret = check_text(l->value, who, err, errlen);
	if (ret)
		return ret;
	for (i = 0; i < n; i++)
		if (!strcmp(prev[i].name, l->name))
			return fail(err, errlen, who, "label %s given twice", l->name);
	return 0;
}

/* "NAME=VALUE", repeatable; the value may be empty or hold '=' and '/'. */
static int set_label(struct config *cfg, const char *v, const char *who, char *err, size_t errlen)
{
	const char *eq = strchr(v, '=');
	struct config_label l = {0};
	struct quoted q;
	int ret;

	if (!eq)
		return fail(err, errlen, who, "%s is not NAME=VALUE", quote(&q, v));
	ret = check_label_name(v, eq - v, who, err, errlen);
	if (ret)
		return ret;
	if (strlen(eq + 1) >= sizeof(l.value))
		return fail(err, errlen, who, "label value longer than %zu bytes",
			    sizeof(l.value) - 1);
	memcpy(l.name, v, eq - v);
	memcpy(l.value, eq + 1, strlen(eq + 1) + 1);
	if (cfg->npush_labels == CONFIG_MAX_PUSH_LABELS)
		return fail(err, errlen, who, "more than %d labels", CONFIG_MAX_PUSH_LABELS);
	ret = check_label(&l, cfg->push_labels, cfg->npush_labels, who, err, errlen);
	if (ret)
		return ret;
	cfg->push_labels[cfg->npush_labels++] = l;
	return 0;
}

#define FIELD(f) .off = offsetof(struct config, f), .size = sizeof(((struct config *)0)->f)
#define BOOL_OPT(n, f, h)                                                                   \
	{                                                                                   \
		.name = n, .neg = "no-" n, .kind = K_BOOL, .env = true, FIELD(f), .help = h \
	}
#define STR_OPT(n, e, f, c, a, h)                                                             \
	{                                                                                     \
		.name = n, .kind = K_STR, .env = e, FIELD(f), .check = c, .arg = a, .help = h \
	}
#define UINT_OPT(n, e, f, lo, hi, h)                                                             \
	{                                                                                        \
		.name = n, .kind = K_UINT, .env = e, FIELD(f), .min = lo, .max = hi, .arg = "N", \
		.help = h                                                                        \
	}
#define FLAG_BOOL_OPT(n, f, h)                                                               \
	{                                                                                    \
		.name = n, .neg = "no-" n, .kind = K_BOOL, .env = false, FIELD(f), .help = h \
	}
#define LIMIT_OPT(n, f, h) UINT_OPT(n, false, f, CONFIG_LIMIT_MIN, CONFIG_LIMIT_MAX, h)
#define BUCKETS_OPT(n, f, cnt, h)                                                                 \
	{                                                                                         \
		.name = n, .kind = K_BUCKETS, .env = true, FIELD(f),                              \
		.count_off = offsetof(struct config, cnt),                                        \
		.max = sizeof(((struct config *)0)->f) / sizeof(double), .arg = "LIST", .help = h \
	}
#define LAT_BUCKETS_OPT(n, h, what) \
	BUCKETS_OPT(n, latency_buckets[h], nlatency_buckets[h], what " bucket bounds (s).")

static const struct opt opts[] = {
	BOOL_OPT("enabled", enabled, "Enable the metrics plugin."),
	STR_OPT("namespace", true, namespace_, check_namespace, "PREFIX",
		"Prefix of every metric name (empty: none)."),
	BOOL_OPT("metrics-endpoint-enabled", metrics_endpoint_enabled,
		 "Serve the metrics at --web.telemetry-path."),
	BOOL_OPT("pushgateway-enabled", pushgateway_enabled,
		 "Push the metrics to --pushgateway-url periodically."),
	STR_OPT("pushgateway-url", true, pushgateway_url, check_url, "URL",
		"Pushgateway (or VictoriaMetrics .../api/v1/write) URL."),
	STR_OPT("pushgateway-job", true, pushgateway_job, check_job, "JOB",
		"Job label of the pushed group."),
	UINT_OPT("pushgateway-push-interval", true, pushgateway_push_interval, 1,
		 CONFIG_PUSH_PERIOD_MAX, "Seconds between pushes (1..86400)."),
	BOOL_OPT("collect-request-metrics", collect_request_metrics,
		 "Requests, response times, active requests."),
	BOOL_OPT("collect-token-metrics", collect_token_metrics, "Token counters."),
	BOOL_OPT("collect-cost-metrics", collect_cost_metrics, "Cost counter."),
	BOOL_OPT("collect-error-metrics", collect_error_metrics, "Error counter."),
	BOOL_OPT("collect-pool-metrics", collect_pool_metrics, "Client pool metrics."),
	BUCKETS_OPT("histogram-buckets", histogram_buckets, nbuckets,
		    "Response-time bucket bounds (s): \"0.1,1\" or \"[0.1, 1]\"."),
	BOOL_OPT("collect-latency-metrics", collect_latency_metrics,
		 "Extension: time to first token, provider and proxy time, streams, provider "
		 "statuses."),
	LAT_BUCKETS_OPT("time-to-first-token-buckets", CCPROXY_LAT_TTFT, "Time to first token"),
	LAT_BUCKETS_OPT("provider-duration-buckets", CCPROXY_LAT_PROVIDER, "Provider time"),
	LAT_BUCKETS_OPT("proxy-overhead-buckets", CCPROXY_LAT_OVERHEAD, "Proxy overhead"),
	LAT_BUCKETS_OPT("time-per-output-token-buckets", CCPROXY_LAT_TPOT, "Time per output token"),
	{.name = "pid",
	 .kind = K_PID,
	 .arg = "PID",
	 .help = "Process to attach to (repeatable, up to 64)."},
	STR_OPT("web.listen-address", false, listen_address, check_listen, "[HOST]:PORT",
		"Address to serve HTTP on."),
	STR_OPT("web.telemetry-path", false, telemetry_path, check_path, "PATH",
		"Path of the metrics endpoint."),
	{.name = "log.level",
	 .kind = K_LEVEL,
	 .arg = "LEVEL",
	 .help = "Log level: debug, info, warn, error."},
	LIMIT_OPT("limits.requests", limit_requests, "Series of requests_total and durations."),
	LIMIT_OPT("limits.usage", limit_usage, "(model, service_type) pairs of tokens and cost."),
	LIMIT_OPT("limits.errors", limit_errors, "Series of errors_total."),
	LIMIT_OPT("limits.provider-responses", limit_provider,
		  "Series of provider_responses_total."),
	LIMIT_OPT("limits.native-buckets", limit_native,
		  "Native histogram buckets held, all series together."),
	LIMIT_OPT("limits.inflight", limit_inflight, "Requests tracked between start and end."),
	UINT_OPT("limits.inflight-per-process", false, limit_inflight_per_process, 0,
		 CONFIG_LIMIT_MAX,
		 "Of those, how many one process may hold (0: a quarter of --limits.inflight)."),
	STR_OPT("web.config.file", false, web_config_file, check_text, "FILE",
		"exporter-toolkit web config: TLS and basic auth (empty: none)."),
	UINT_OPT("web.max-connections", false, web_max_connections, 1,
		 CONFIG_WEB_MAX_CONNECTIONS_MAX,
		 "Concurrent HTTP connections; more are closed at once."),
	UINT_OPT("web.timeout", false, web_timeout, 1, CONFIG_WEB_TIMEOUT_MAX,
		 "Seconds an HTTP connection may stay idle, or take to send a request's headers."),
	FLAG_BOOL_OPT("native-histogram", native_histograms,
		      "Native histograms of every duration, beside the classic buckets."),
	UINT_OPT("native-histogram.schema", false, nh_schema, 0, CCPROXY_NH_SCHEMA_MAX,
		 "Native histogram buckets: each 2^(2^-N) times the last (3: 9 % wider)."),
	STR_OPT("native-histogram.zero-threshold", false, nh_zero_threshold, check_zero_threshold,
		"SECONDS", "Durations up to this go to the zero bucket (rounded up to a bound)."),
	UINT_OPT("native-histogram.max-buckets", false, nh_max_buckets, 1, NHIST_MAX_BUCKETS,
		 "Buckets a native histogram series may have; more: sent at a lower schema."),
	STR_OPT("web.formats", false, web_formats, check_formats, "LIST",
		"Formats offered to a scrape's Accept: text,openmetrics,protobuf (text always)."),
	FLAG_BOOL_OPT("web.openmetrics-created-samples", web_openmetrics_created_samples,
		      "OpenMetrics: a _created sample per counter and histogram series (Prometheus "
		      "stores each as a <name>_created series)."),
	{.name = "pushgateway-label",
	 .kind = K_LABEL,
	 .arg = "NAME=VALUE",
	 .help = "Grouping-key label of the pushed group (repeatable, up to 16)."},
	STR_OPT("pushgateway-instance", false, pushgateway_instance, check_text, "NAME",
		"instance label of the pushed group (empty: $NODE_NAME, else the host name)."),
	STR_OPT("pushgateway-method", false, pushgateway_method, check_method, "put|post",
		"put replaces the whole group, post only the metrics pushed."),
	FLAG_BOOL_OPT("pushgateway-delete-on-shutdown", pushgateway_delete_on_shutdown,
		      "Delete the group at shutdown instead of pushing a last time."),
	STR_OPT("pushgateway-ca-file", false, pushgateway_ca_file, check_text, "FILE",
		"CA certificates for an https:// gateway (empty: the system's)."),
	STR_OPT("pushgateway-username", false, pushgateway_username, check_text, "USER",
		"Basic auth user name (empty: no auth)."),
	STR_OPT("pushgateway-password-file", false, pushgateway_password_file, check_text, "FILE",
		"File holding the basic auth password (read at start)."),
	UINT_OPT("pushgateway-timeout", false, pushgateway_timeout, 1, 3600,
		 "Seconds a push may take in all."),
	UINT_OPT("pushgateway-connect-timeout", false, pushgateway_connect_timeout, 1, 3600,
		 "Seconds to connect to the gateway."),
	UINT_OPT("pushgateway-breaker-threshold", false, pushgateway_breaker_threshold, 1, 1000,
		 "Consecutive failed pushes that open the circuit breaker."),
	UINT_OPT("pushgateway-breaker-reset", false, pushgateway_breaker_reset, 1,
		 CONFIG_PUSH_PERIOD_MAX, "Seconds the breaker stays open before a trial push."),
	STR_OPT("match-comm", false, match_comm, check_regex, "REGEX",
		"Without --pid: attach only to processes whose comm matches."),
	STR_OPT("match-exe", false, match_exe, check_regex, "REGEX",
		"Without --pid: attach only to processes whose executable path matches."),
	UINT_OPT("discovery.interval", false, discovery_interval, 1, 3600,
		 "Seconds between scans for new and exited processes."),
	FLAG_BOOL_OPT("per-process-labels", per_process_labels,
		      "Add pid and container_id labels (one series per process)."),
	STR_OPT("bpf-pin-path", false, bpf_pin_path, check_abs_path, "DIR",
		"Pin the maps under this bpffs directory: counters survive a restart."),
	FLAG_BOOL_OPT("bpf-pin-path.reset-mismatched", bpf_pin_reset,
		      "Maps pinned by another version, or with other buckets, limits or labels: "
		      "remove them and count from zero (--no-: refuse to start)."),
	STR_OPT("print-families", false, print_families, check_print_format, "FORMAT",
		"Print the metric families (json), as the other flags shape them, and exit."),
	{.name = "help", .kind = K_HELP, .help = "Show this help and exit."},
	{.name = "version", .kind = K_VERSION, .help = "Show the version and exit."},
};

#define NOPTS ARRAY_SIZE(opts)

void config__defaults(struct config *cfg)
{
	size_t i;

	memset(cfg, 0, sizeof(*cfg));
	cfg->enabled = true;
	snprintf(cfg->namespace_, sizeof(cfg->namespace_), "%s", CONFIG_DEFAULT_NAMESPACE);
	cfg->metrics_endpoint_enabled = true;
	snprintf(cfg->pushgateway_job, sizeof(cfg->pushgateway_job), "%s", CONFIG_DEFAULT_PUSH_JOB);
	cfg->pushgateway_push_interval = CONFIG_DEFAULT_PUSH_PERIOD;
	cfg->collect_request_metrics = true;
	cfg->collect_token_metrics = true;
	cfg->collect_cost_metrics = true;
	cfg->collect_error_metrics = true;
	cfg->collect_pool_metrics = true;
	memcpy(cfg->histogram_buckets, default_buckets, sizeof(default_buckets));
	cfg->nbuckets = ARRAY_SIZE(default_buckets);
	cfg->collect_latency_metrics = true;
	for (i = 0; i < CCPROXY_LATENCIES; i++) {
		memcpy(cfg->latency_buckets[i], default_latency_buckets,
		       sizeof(default_latency_buckets));
		cfg->nlatency_buckets[i] = ARRAY_SIZE(default_latency_buckets);
	}
	snprintf(cfg->listen_address, sizeof(cfg->listen_address), "%s", CONFIG_DEFAULT_LISTEN);
	snprintf(cfg->telemetry_path, sizeof(cfg->telemetry_path), "%s", CONFIG_DEFAULT_PATH);
	cfg->log_level = LOG_LEVEL_INFO;
	cfg->limit_requests = CCPROXY_REQUESTS_ENTRIES;
	cfg->limit_usage = CCPROXY_USAGE_ENTRIES;
	cfg->limit_errors = CCPROXY_ERRORS_ENTRIES;
	cfg->limit_inflight = CCPROXY_INFLIGHT_ENTRIES;
	cfg->limit_provider = CCPROXY_PROVIDER_ENTRIES;
	cfg->limit_native = CCPROXY_NATIVE_ENTRIES;
	cfg->web_max_connections = CONFIG_DEFAULT_WEB_MAX_CONNECTIONS;
	cfg->web_timeout = CONFIG_DEFAULT_WEB_TIMEOUT;
	snprintf(cfg->web_formats, sizeof(cfg->web_formats), "%s", CONFIG_DEFAULT_WEB_FORMATS);
	cfg->native_histograms = true;
	cfg->nh_schema = NHIST_SCHEMA_DEFAULT;
	cfg->nh_max_buckets = NHIST_MAX_BUCKETS_DEFAULT;
	snprintf(cfg->nh_zero_threshold, sizeof(cfg->nh_zero_threshold), "%s",
		 CONFIG_DEFAULT_NH_ZERO_THRESHOLD);
	cfg->discovery_interval = CONFIG_DEFAULT_DISCOVERY_INTERVAL;
	snprintf(cfg->pushgateway_method, sizeof(cfg->pushgateway_method), "put");
	cfg->bpf_pin_reset = true;
	cfg->pushgateway_timeout = CONFIG_DEFAULT_PUSH_TIMEOUT;
	cfg->pushgateway_connect_timeout = CONFIG_DEFAULT_PUSH_CONNECT_TIMEOUT;
	cfg->pushgateway_breaker_threshold = CONFIG_DEFAULT_BREAKER_THRESHOLD;
	cfg->pushgateway_breaker_reset = CONFIG_DEFAULT_BREAKER_RESET;
}

static int set_pid(struct config *cfg, const char *v, const char *who, char *err, size_t errlen)
{
	unsigned long long n;
	size_t i;
	int ret = parse_range(v, 1, CONFIG_PID_LIMIT, &n, who, err, errlen);

	if (ret)
		return ret;
	for (i = 0; i < cfg->npids; i++)
		if (cfg->pids[i] == (pid_t)n)
			return fail(err, errlen, who, "%llu given twice", n);
	if (cfg->npids == CONFIG_MAX_PIDS)
		return fail(err, errlen, who, "more than %d processes", CONFIG_MAX_PIDS);
	cfg->pids[cfg->npids++] = (pid_t)n;
	return 0;
}

static int set_level(struct config *cfg, const char *v, const char *who, char *err, size_t errlen)
{
	struct quoted q;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(level_names); i++) {
		if (!strcasecmp(v, level_names[i])) {
			cfg->log_level = (enum log_level)i;
			return 0;
		}
	}
	return fail(err, errlen, who, "%s is not one of debug, info, warn, error", quote(&q, v));
}

static int set_string(struct config *cfg, const struct opt *o, const char *v, const char *who,
		      char *err, size_t errlen)
{
	size_t len = strlen(v);
	int ret = o->check(v, who, err, errlen);

	if (ret)
		return ret;
	if (len >= o->size)
		return fail(err, errlen, who, "longer than %zu bytes", o->size - 1);
	memcpy((char *)cfg + o->off, v, len + 1);
	return 0;
}

/* Applies one value from a flag or a variable; who names it in messages. */
static int apply(struct config *cfg, const struct opt *o, const char *v, const char *who, char *err,
		 size_t errlen)
{
	struct quoted q;
	unsigned long long n;
	int ret;

	switch (o->kind) {
	case K_BOOL:
		if (parse_bool(v, (bool *)((char *)cfg + o->off)))
			return fail(err, errlen, who,
				    "%s is not a boolean (true, false, 1, 0, yes, no, on, off)",
				    quote(&q, v));
		return 0;
	case K_STR:
		return set_string(cfg, o, v, who, err, errlen);
	case K_UINT:
		ret = parse_range(v, o->min, o->max, &n, who, err, errlen);
		if (!ret)
			*(unsigned int *)((char *)cfg + o->off) = (unsigned int)n;
		return ret;
	case K_BUCKETS:
		return parse_buckets(cfg, o, v, who, err, errlen);
	case K_PID:
		return set_pid(cfg, v, who, err, errlen);
	case K_LEVEL:
		return set_level(cfg, v, who, err, errlen);
	case K_LABEL:
		return set_label(cfg, v, who, err, errlen);
	default:
		return fail(err, errlen, who, "takes no value");
	}
}

/* The field part of an env name ("push_interval") against a flag name ("push-interval"). */
static bool env_field_is(const char *field, size_t len, const char *flag)
{
	size_t i;

	for (i = 0; i < len; i++) {
		char f = flag[i] == '-' ? '_' : flag[i];
		char c = field[i];

		if (!f || (c >= 'A' && c <= 'Z' ? c + 32 : c) != f)
			return false;
	}
	return flag[len] == '\0';
}

static const struct opt *env_opt(const char *field, size_t len)
{
	size_t i;

	for (i = 0; i < NOPTS; i++)
		if (opts[i].env && env_field_is(field, len, opts[i].name))
			return &opts[i];
	return NULL;
}

/* given, when not NULL: the options set by flags, whose variables are then not even read. */
static int parse_env(struct config *cfg, char *const *envp, const bool *given, char *err,
		     size_t errlen)
{
	const size_t plen = strlen(ENV_PREFIX);
	char who[64];

	for (; envp && *envp; envp++) {
		const char *var = *envp, *eq = strchr(var, '=');
		const struct opt *o;
		int ret;

		if (!eq || (size_t)(eq - var) <= plen || strncasecmp(var, ENV_PREFIX, plen))
			continue;
		o = env_opt(var + plen, eq - var - plen);
		if (!o || (given && given[o - opts]) || (size_t)(eq - var) >= sizeof(who))
			continue;
		memcpy(who, var, eq - var);
		who[eq - var] = '\0';
		ret = apply(cfg, o, eq + 1, who, err, errlen);
		if (ret)
			return ret;
	}
	return 0;
}

int config__parse_env(struct config *cfg, char *const *envp, char *err, size_t errlen)
{
	return parse_env(cfg, envp, NULL, err, errlen);
}

static void build_longopts(struct option *lo)
{
	size_t i, n = 0;

	for (i = 0; i < NOPTS; i++) {
		bool bare = opts[i].kind == K_HELP || opts[i].kind == K_VERSION;

		lo[n++] = (struct option){opts[i].name,
					  opts[i].kind == K_BOOL ? optional_argument
					  : bare		 ? no_argument
								 : required_argument,
					  NULL, VAL_SET + (int)i};
		if (opts[i].neg)
			lo[n++] = (struct option){opts[i].neg, no_argument, NULL, VAL_NEG + (int)i};
	}
	lo[n] = (struct option){0};
}

/* getopt_long takes unique prefixes; refuse them, so a new flag can never change a meaning. */
static bool spelled_in_full(const char *tok, const char *name)
{
	size_t len = strcspn(tok + 2, "=");

	return !strncmp(tok, "--", 2) && len == strlen(name) && !strncmp(tok + 2, name, len);
}

static int arg_error(int c, const char *tok, const char *prev, char *err, size_t errlen)
{
	char who[64];
	struct quoted q;
	bool b;

	if (!tok)
		tok = "";
	if (c == 1) {
		if (prev && !parse_bool(tok, &b))
			return fail(err, errlen, prev, "takes its value as %s=%s", prev, tok);
		return fail(err, errlen, quote(&q, tok), "unexpected argument");
	}
	snprintf(who, sizeof(who), "%.*s", (int)strcspn(tok, "="), tok);
	if (c == ':')
		return fail(err, errlen, who, "missing value");
	if (strchr(tok, '=') && !strncmp(tok, "--", 2)) {
		size_t i, len = strcspn(tok + 2, "=");

		for (i = 0; i < NOPTS; i++)
			if ((strlen(opts[i].name) == len && !strncmp(tok + 2, opts[i].name, len)) ||
			    (opts[i].neg && strlen(opts[i].neg) == len &&
			     !strncmp(tok + 2, opts[i].neg, len)))
				return fail(err, errlen, who, "takes no value");
	}
	return fail(err, errlen, quote(&q, tok), "unknown flag");
}

/* One option getopt_long returned; 1 for --help/--version. */
static int handle(struct config *cfg, int c, const char *tok, char *err, size_t errlen)
{
	const struct opt *o = &opts[(c >= VAL_NEG ? c - VAL_NEG : c - VAL_SET)];
	char who[64];
	struct quoted q;

	if (!spelled_in_full(tok, c >= VAL_NEG ? o->neg : o->name))
		return fail(err, errlen, quote(&q, tok), "unknown flag (write it in full)");
	snprintf(who, sizeof(who), "--%s", c >= VAL_NEG ? o->neg : o->name);
	if (o->kind == K_HELP || o->kind == K_VERSION) {
		cfg->show_help = o->kind == K_HELP;
		cfg->show_version = o->kind == K_VERSION;
		return 1;
	}
	if (o->kind == K_BOOL && !optarg) {
		*(bool *)((char *)cfg + o->off) = c < VAL_NEG;
		return 0;
	}
	return apply(cfg, o, optarg, who, err, errlen);
}

/* given, when not NULL, records which options the flags set. */
static int parse_args(struct config *cfg, int argc, char **argv, bool *given, char *err,
		      size_t errlen)
{
	struct option lo[2 * NOPTS + 1];
	const char *prev = NULL;
	int c, ret, tok;

	build_longopts(lo);
	/* 0 makes glibc forget the previous scan; '-' returns operands in place as 1. */
	optind = 0;
	opterr = 0;
	for (;;) {
		tok = optind ? optind : 1;
		c = getopt_long(argc, argv, "-:h", lo, NULL);
		if (c == -1)
			break;
		if (c == 'h') {
			cfg->show_help = true;
			return 1;
		}
		if (c == 1 || c == ':' || c == '?')
			return arg_error(c, argv[tok], prev, err, errlen);
		ret = handle(cfg, c, argv[tok], err, errlen);
		if (ret)
			return ret;
		if (given)
			given[c >= VAL_NEG ? c - VAL_NEG : c - VAL_SET] = true;
		/* "--enabled false" is a flag and an operand: remembered to say so. */
		prev = c < VAL_NEG && opts[c - VAL_SET].kind == K_BOOL && !optarg ? argv[tok]
										  : NULL;
	}
	/* Only "--" stops the scan early; whatever follows it is an operand. */
	if (optind < argc)
		return arg_error(1, argv[optind], NULL, err, errlen);
	return 0;
}

int config__parse_args(struct config *cfg, int argc, char **argv, char *err, size_t errlen)
{
	return parse_args(cfg, argc, argv, NULL, err, errlen);
}

/*
 * The flags are read twice: once into a scratch copy, to learn which options they set (and
 * to report their own errors, --help and --version first), then over the environment.
 */
int config__parse(struct config *cfg, int argc, char **argv, char *const *envp, char *err,
		  size_t errlen)
{
	bool given[NOPTS] = {0};
	struct config scratch = *cfg;
	int ret;

	ret = parse_args(&scratch, argc, argv, given, err, errlen);
	if (ret == 1) {
		cfg->show_help = scratch.show_help;
		cfg->show_version = scratch.show_version;
	}
	if (ret)
		return ret;
	ret = parse_env(cfg, envp, given, err, errlen);
	return ret ? ret : parse_args(cfg, argc, argv, NULL, err, errlen);
}

static int validate_labels(const struct config *cfg, const char *who, char *err, size_t errlen)
{
	size_t i;
	int ret;

	if (cfg->npush_labels > CONFIG_MAX_PUSH_LABELS)
		return fail(err, errlen, who, "more than %d labels", CONFIG_MAX_PUSH_LABELS);
	for (i = 0; i < cfg->npush_labels; i++) {
		ret = check_label(&cfg->push_labels[i], cfg->push_labels, i, who, err, errlen);
		if (ret)
			return ret;
	}
	return 0;
}

static int validate_field(const struct config *cfg, const struct opt *o, char *err, size_t errlen)
{
	const char *p = (const char *)cfg + o->off;
	char who[64];
	unsigned int v;

	snprintf(who, sizeof(who), "--%s", o->name);
	switch (o->kind) {
	case K_STR:
		if (!memchr(p, '\0', o->size))
			return fail(err, errlen, who, "longer than %zu bytes", o->size - 1);
		return o->check(p, who, err, errlen);
	case K_UINT:
		v = *(const unsigned int *)p;
		if (v < o->min || v > o->max)
			return fail(err, errlen, who, "%u is out of range %u..%u", v, o->min,
				    o->max);
		return 0;
	case K_BUCKETS:
		return check_buckets((const double *)p,
				     *(const size_t *)((const char *)cfg + o->count_off), o->max,
				     who, err, errlen);
	case K_LEVEL:
		if ((unsigned int)cfg->log_level >= ARRAY_SIZE(level_names))
			return fail(err, errlen, who, "%d is not a level", (int)cfg->log_level);
		return 0;
	case K_LABEL:
		return validate_labels(cfg, who, err, errlen);
	default:
		return 0;
	}
}

static int validate_pids(const struct config *cfg, char *err, size_t errlen)
{
	size_t i, j;

	if (cfg->npids > CONFIG_MAX_PIDS)
		return fail(err, errlen, "--pid", "more than %d processes", CONFIG_MAX_PIDS);
	for (i = 0; i < cfg->npids; i++) {
		if (cfg->pids[i] < 1 || cfg->pids[i] > CONFIG_PID_LIMIT)
			return fail(err, errlen, "--pid", "%d is out of range 1..%d",
				    (int)cfg->pids[i], CONFIG_PID_LIMIT);
		for (j = 0; j < i; j++)
			if (cfg->pids[j] == cfg->pids[i])
				return fail(err, errlen, "--pid", "%d given twice",
					    (int)cfg->pids[i]);
	}
	return 0;
}

int config__validate(const struct config *cfg, char *err, size_t errlen)
{
	size_t i;
	int ret;

	for (i = 0; i < NOPTS; i++) {
		ret = validate_field(cfg, &opts[i], err, errlen);
		if (ret)
			return ret;
	}
	ret = validate_pids(cfg, err, errlen);
	if (ret)
		return ret;
	if (cfg->pushgateway_enabled && !cfg->pushgateway_url[0])
		return fail(err, errlen, "--pushgateway-enabled",
			    "needs --pushgateway-url (or " ENV_PREFIX "PUSHGATEWAY_URL)");
	if (cfg->pushgateway_password_file[0] && !cfg->pushgateway_username[0])
		return fail(err, errlen, "--pushgateway-password-file",
			    "needs --pushgateway-username");
	/* --pid names the processes; the match flags narrow discovery, which --pid turns off. */
	if (cfg->npids && cfg->match_comm[0])
		return fail(err, errlen, "--match-comm", "applies to discovery, not with --pid");
	if (cfg->npids && cfg->match_exe[0])
		return fail(err, errlen, "--match-exe", "applies to discovery, not with --pid");
	return 0;
}

/* A field's default as the usage text shows it. */
static void format_default(const struct config *cfg, const struct opt *o, char *buf, size_t size)
{
	const char *p = (const char *)cfg + o->off;
	size_t i, n;

	switch (o->kind) {
	case K_BOOL:
		snprintf(buf, size, "%s", *(const bool *)p ? "true" : "false");
		break;
	case K_STR:
		snprintf(buf, size, "\"%s\"", p);
		break;
	case K_UINT:
		snprintf(buf, size, "%u", *(const unsigned int *)p);
		break;
	case K_BUCKETS:
		buf[0] = '\0';
		for (i = 0, n = 0;
		     i < *(const size_t *)((const char *)cfg + o->count_off) && n + 2 < size; i++) {
			if (i)
				buf[n++] = ',';
			format_double(buf + n, size - n, ((const double *)p)[i]);
			n += strlen(buf + n);
		}
		break;
	case K_LEVEL:
		snprintf(buf, size, "%s", level_names[cfg->log_level]);
		break;
	default:
		snprintf(buf, size, "none");
		break;
	}
}

static void usage_opt(FILE *f, const struct config *def, const struct opt *o)
{
	char left[64], val[128], env[64];
	size_t i;

	if (o->kind == K_BOOL)
		snprintf(left, sizeof(left), "--[no-]%s[=BOOL]", o->name);
	else if (o->kind == K_HELP)
		snprintf(left, sizeof(left), "-h, --%s", o->name);
	else if (o->kind == K_VERSION)
		snprintf(left, sizeof(left), "--%s", o->name);
	else
		snprintf(left, sizeof(left), "--%s %s", o->name, o->arg);
	fprintf(f, "  %-38s %s\n", left, o->help);
	if (o->kind == K_HELP || o->kind == K_VERSION)
		return;
	format_default(def, o, val, sizeof(val));
	fprintf(f, "  %-38s default: %s", "", val);
	if (o->env) {
		for (i = 0; o->name[i] && i + 1 < sizeof(env); i++)
			env[i] = o->name[i] == '-' ? '_' : (char)toupper((unsigned char)o->name[i]);
		env[i] = '\0';
		fprintf(f, "; env: %s%s", ENV_PREFIX, env);
	}
	fputc('\n', f);
}

void config__usage(FILE *f, const char *prog)
{
	struct config def;
	size_t i;

	config__defaults(&def);
	fprintf(f, "Usage: %s [flags]\n\n", prog);
	fputs("Serves the metrics of ccproxy processes, read through USDT probes, to Prometheus.\n"
	      "Sources, later wins: defaults, environment, flags. BOOL: true, false, 1, 0, yes,\n"
	      "no, on, off. Variable names are case-insensitive.\n\n"
	      "ccproxy [plugins.metrics] settings:\n",
	      f);
	for (i = 0; i < NOPTS; i++)
		if (opts[i].env)
			usage_opt(f, &def, &opts[i]);
	fputs("\nExporter settings:\n", f);
	for (i = 0; i < NOPTS; i++)
		if (!opts[i].env)
			usage_opt(f, &def, &opts[i]);
}
