// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "expo.h"
#include "files.h"
#include "log.h"
#include "push.h"
#include "pusher.h"

/* A password file is a secret, not a document: anything longer is a mistake. */
#define PASSWORD_MAX 4096

struct pusher {
	const struct config *cfg;
	pusher_render_fn render;
	void *ctx;
	struct push_client *client;
	enum push_method method;
	pthread_t thread;
	bool started;
	atomic_bool stopping;
	unsigned int seed;  /* rand_r state, the thread's only */
	struct strbuf body; /* the thread's only */
	char instance[256];

	pthread_mutex_t lock; /* guards what follows; never held during I/O or rendering */
	pthread_cond_t wake;  /* CLOCK_MONOTONIC */
	struct sched sched;
	uint64_t attempts;
	uint64_t failures;
	double last_success; /* Unix time, 0: never */
};

/* ---- the schedule ------------------------------------------------------------------------ */

void pusher__sched_init(struct sched *s, const struct sched_opts *o, double now)
{
	memset(s, 0, sizeof(*s));
	s->o = *o;
	if (s->o.threshold < 1)
		s->o.threshold = 1;
	s->state = BREAKER_CLOSED;
	s->next = now;
}

bool pusher__sched_due(struct sched *s, double now)
{
	if (now < s->next)
		return false;
	if (s->state == BREAKER_OPEN)
		s->state = BREAKER_HALF_OPEN;
	return true;
}

double pusher__backoff(const struct sched_opts *o, unsigned int n)
{
	double w = o->interval;
	unsigned int i;

	for (i = 0; i < n && w < o->backoff_max; i++)
		w *= 2;
	return w < o->backoff_max ? w : o->backoff_max;
}

void pusher__sched_done(struct sched *s, bool ok, double now, double u)
{
	if (ok) {
		s->failures = 0;
		s->state = BREAKER_CLOSED;
		s->next = now + s->o.interval;
		return;
	}
	if (s->failures < UINT_MAX)
		s->failures++;
	/* A failed trial reopens at once; otherwise the threshold decides. */
	if (s->state == BREAKER_HALF_OPEN || s->failures >= s->o.threshold) {
		s->state = BREAKER_OPEN;
		s->next = now + s->o.reset;
		return;
	}
	s->next = now + pusher__backoff(&s->o, s->failures) * (1 + s->o.jitter * (2 * u - 1));
}

/* ---- setup ------------------------------------------------------------------------------- */

static double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The whole file but trailing newlines, which editors and `echo` add. 0 or a negative errno. */
static int read_password(const char *path, char *buf, size_t size)
{
	ssize_t n;
	size_t len = 0;
	int fd = files__open_regular(path), err = 0;

	if (fd < 0)
		return fd;
	while (len + 1 < size) {
		n = read(fd, buf + len, size - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			err = -errno;
		if (n <= 0)
			break;
		len += n;
	}
	if (!err && len + 1 >= size)
		err = -EFBIG;
	close(fd);
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	buf[len] = '\0';
	return err;
}

/* --pushgateway-instance, else $NODE_NAME (Kubernetes' downward API), else the host name. */
static void resolve_instance(const struct config *cfg, char *buf, size_t size)
{
	const char *node = getenv("NODE_NAME");

	if (cfg->pushgateway_instance[0])
		snprintf(buf, size, "%s", cfg->pushgateway_instance);
	else if (node && *node)
		snprintf(buf, size, "%s", node);
	else if (gethostname(buf, size) || !memchr(buf, '\0', size))
		snprintf(buf, size, "localhost");
}

static int make_client(struct pusher *p, char *why, size_t whylen)
{
	const struct config *cfg = p->cfg;
	char password[PASSWORD_MAX] = "";
	struct push_opts o = {
		.url = cfg->pushgateway_url,
		.job = cfg->pushgateway_job,
		.instance = p->instance,
		.labels = cfg->push_labels,
		.nlabels = cfg->npush_labels,
		.ca_file = cfg->pushgateway_ca_file,
		.username = cfg->pushgateway_username,
		.password = password,
		.timeout_ms = (long)cfg->pushgateway_timeout * 1000,
		.connect_timeout_ms = (long)cfg->pushgateway_connect_timeout * 1000,
	};
	int err = 0;

	/* curl reads the CA file at each push: a bad one is reported now, not then. */
	if (cfg->pushgateway_ca_file[0]) {
		err = files__check_regular(cfg->pushgateway_ca_file);
		if (err)
			snprintf(why, whylen, "failed to read --pushgateway-ca-file %s: %s",
				 cfg->pushgateway_ca_file, files__strerror(err));
	}
	if (!err && cfg->pushgateway_password_file[0]) {
		err = read_password(cfg->pushgateway_password_file, password, sizeof(password));
		if (err)
			snprintf(why, whylen, "failed to read --pushgateway-password-file %s: %s",
				 cfg->pushgateway_password_file, files__strerror(err));
	}
	if (!err) {
		p->client = push__new(&o);
		if (!p->client) {
			err = -errno;
			snprintf(why, whylen, "failed to set up the push client for %s: %s",
				 cfg->pushgateway_url, strerror(-err));
		}
	}
	explicit_bzero(password, sizeof(password));
	return err;
}

static void pusher__init_sched(struct pusher *p)
{
	const struct sched_opts o = {
		.interval = p->cfg->pushgateway_push_interval,
		.backoff_max = PUSHER_BACKOFF_MAX,
		.jitter = PUSHER_JITTER,
		.threshold = p->cfg->pushgateway_breaker_threshold,
		.reset = p->cfg->pushgateway_breaker_reset,
	};

	pusher__sched_init(&p->sched, &o, mono_now());
}

static int pusher__init_sync(struct pusher *p)
{
	pthread_condattr_t ca;
	int err;

	err = pthread_condattr_init(&ca);
	if (err)
		return -err;
	err = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	if (!err)
		err = pthread_cond_init(&p->wake, &ca);
	pthread_condattr_destroy(&ca);
	if (err)
		return -err;
	err = pthread_mutex_init(&p->lock, NULL);
	if (err) {
		pthread_cond_destroy(&p->wake);
		return -err;
	}
	return 0;
}

struct pusher *pusher__new(const struct config *cfg, pusher_render_fn render, void *ctx, char *why,
			   size_t whylen)
{
	struct pusher *p;
	int err;

	if (whylen)
		why[0] = '\0';
	if (!cfg || !render || !cfg->pushgateway_url[0]) {
		errno = EINVAL;
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->cfg = cfg;
	p->render = render;
	p->ctx = ctx;
	p->method = strcmp(cfg->pushgateway_method, "post") ? PUSH_PUT : PUSH_POST;
	p->seed = (unsigned int)(wall_now() * 1e6) ^ (unsigned int)getpid();
	resolve_instance(cfg, p->instance, sizeof(p->instance));
	err = pusher__init_sync(p);
	if (err) {
		free(p);
		errno = -err;
		return NULL;
	}
	pusher__init_sched(p);
	err = make_client(p, why, whylen);
	if (err) {
		pusher__free(p);
		errno = -err;
		return NULL;
	}
	return p;
}

/* ---- one push ---------------------------------------------------------------------------- */

static const char *method_name(enum push_method m)
{
	return m == PUSH_DELETE ? "delete" : m == PUSH_POST ? "push (POST)" : "push (PUT)";
}

static void log_failure(struct pusher *p, enum push_method m, int err,
			const struct push_result *res)
{
	const char *what = method_name(m), *url = push__url(p->client);

	if (err == -EREMOTEIO)
		log_warn("failed to %s metrics to %s: HTTP %ld: %s", what, url, res->status,
			 res->body[0] ? res->body : "(empty body)");
	else if (res->error[0])
		log_warn("failed to %s metrics to %s: %s", what, url, res->error);
	else
		log_warn("failed to %s metrics to %s: %s", what, url, strerror(-err));
}

/* One request, counted in the self-metrics; cancel NULL for the last one. */
static int push_once(struct pusher *p, enum push_method m, const atomic_bool *cancel)
{
	struct push_result res = {0};
	int err = 0;

	pthread_mutex_lock(&p->lock);
	p->attempts++;
	pthread_mutex_unlock(&p->lock);
	strbuf__reset(&p->body);
	if (m != PUSH_DELETE) {
		err = p->render(p->ctx, &p->body);
		if (err)
			log_warn("failed to render metrics for the push: %s", strerror(-err));
	}
	if (!err) {
		err = push__send(p->client, m, p->body.buf, p->body.len, cancel, &res);
		if (err && err != -ECANCELED)
			log_failure(p, m, err, &res);
	}
	pthread_mutex_lock(&p->lock);
	if (err)
		p->failures++;
	else
		p->last_success = wall_now();
	pthread_mutex_unlock(&p->lock);
	if (!err)
		log_debug("%s of metrics to %s done (HTTP %ld)", method_name(m),
			  push__url(p->client), res.status);
	return err;
}

/* ---- the thread -------------------------------------------------------------------------- */

static void log_transition(const struct pusher *p, enum breaker_state before)
{
	const struct sched *s = &p->sched;

	if (s->state == before)
		return;
	if (s->state == BREAKER_OPEN && before == BREAKER_CLOSED)
		log_warn("circuit breaker open after %u consecutive failed pushes: next try in "
			 "%.0f s",
			 s->failures, s->o.reset);
	else if (s->state == BREAKER_OPEN)
		log_warn("trial push failed: circuit breaker open again for %.0f s", s->o.reset);
	else if (s->state == BREAKER_HALF_OPEN)
		log_info("circuit breaker half-open: trying one push");
	else
		log_info("push succeeded: circuit breaker closed");
}

/* Sleeps until the monotonic time `until` or a wake-up; called with the lock held. */
static void wait_until(struct pusher *p, double until)
{
	struct timespec ts;
	double whole;

	if (!isfinite(until) || until > 1e15)
		until = 1e15;
	ts.tv_nsec = (long)(modf(until, &whole) * 1e9);
	ts.tv_sec = (time_t)whole;
	pthread_cond_timedwait(&p->wake, &p->lock, &ts);
}

static void last_push(struct pusher *p)
{
	bool del = p->cfg->pushgateway_delete_on_shutdown && !push__victoria(p->client);
	enum push_method m = del ? PUSH_DELETE : p->method;

	if (!push_once(p, m, NULL))
		log_info("%s of metrics to %s at shutdown done", method_name(m),
			 push__url(p->client));
}

static void *pusher__run(void *arg)
{
	struct pusher *p = arg;
	enum breaker_state before;
	bool ok;

	pthread_mutex_lock(&p->lock);
	while (!atomic_load(&p->stopping)) {
		before = p->sched.state;
		if (!pusher__sched_due(&p->sched, mono_now())) {
			wait_until(p, p->sched.next);
			continue;
		}
		log_transition(p, before);
		before = p->sched.state;
		pthread_mutex_unlock(&p->lock);
		ok = push_once(p, p->method, &p->stopping) == 0;
		pthread_mutex_lock(&p->lock);
		if (atomic_load(&p->stopping))
			break;
		pusher__sched_done(&p->sched, ok, mono_now(),
				   rand_r(&p->seed) / ((double)RAND_MAX + 1));
		log_transition(p, before);
	}
	pthread_mutex_unlock(&p->lock);
	last_push(p);
	return NULL;
}

int pusher__start(struct pusher *p)
{
	int err;

	if (p->started)
		return -EALREADY;
	if (p->cfg->pushgateway_delete_on_shutdown && push__victoria(p->client))
		log_warn("--pushgateway-delete-on-shutdown: VictoriaMetrics has no group to "
			 "delete, pushing a last time instead");
	err = pthread_create(&p->thread, NULL, pusher__run, p);
	if (err)
		return -err;
	p->started = true;
	log_info("pushing metrics to %s every %u s", push__url(p->client),
		 p->cfg->pushgateway_push_interval);
	return 0;
}

void pusher__stop(struct pusher *p)
{
	if (!p || !p->started)
		return;
	pthread_mutex_lock(&p->lock);
	atomic_store(&p->stopping, true);
	pthread_cond_signal(&p->wake);
	pthread_mutex_unlock(&p->lock);
	pthread_join(p->thread, NULL);
	p->started = false;
}

/* ---- self-metrics ------------------------------------------------------------------------ */

static int self_family(const struct render_sink *sink, struct render_family *f, const char *name,
		       const char *help, enum family_type type)
{
	*f = (struct render_family){"ccproxy_exporter", name, help, type};
	return sink->ops->family(sink->ctx, f);
}

static int u64_series(const struct render_sink *sink, const char *name, const char *help,
		      enum family_type type, uint64_t v)
{
	struct render_family f;
	int err = self_family(sink, &f, name, help, type);

	return err ? err
		   : sink->ops->sample(sink->ctx, &f, NULL, 0,
				       (struct render_value){.is_u64 = true, .u = v});
}

int pusher__render_self_to(struct pusher *p, const struct render_sink *sink)
{
	static const char *const states[] = {"closed", "open", "half_open"};
	uint64_t attempts, failures;
	enum breaker_state state;
	struct render_family f;
	double last;
	size_t i;
	int err;

	if (!p)
		return 0;
	pthread_mutex_lock(&p->lock);
	attempts = p->attempts;
	failures = p->failures;
	state = p->sched.state;
	last = p->last_success;
	pthread_mutex_unlock(&p->lock);

	err = u64_series(sink, "push_attempts_total",
			 "Pushes attempted, the one at shutdown included.", FAMILY_COUNTER,
			 attempts);
	if (!err)
		err = u64_series(sink, "push_failures_total",
				 "Pushes that failed: no answer in time, or a failure status.",
				 FAMILY_COUNTER, failures);
	if (!err)
		err = self_family(sink, &f, "push_breaker_state",
				  "State of the push circuit breaker: 1 for the current one.",
				  FAMILY_GAUGE);
	for (i = 0; !err && i < sizeof(states) / sizeof(states[0]); i++) {
		const struct expo_label l[] = {
			{.name = "state", .value = states[i], .max = SIZE_MAX},
		};

		err = sink->ops->sample(
			sink->ctx, &f, l, 1,
			(struct render_value){.is_u64 = true, .u = state == (enum breaker_state)i});
	}
	if (!err)
		err = self_family(sink, &f, "push_last_success_timestamp_seconds",
				  "Unix time of the last successful push, 0 before the first.",
				  FAMILY_GAUGE);
	if (!err)
		err = sink->ops->sample(sink->ctx, &f, NULL, 0, (struct render_value){.d = last});
	return err;
}

int pusher__render_self(struct pusher *p, struct strbuf *sb)
{
	struct text_sink ts;
	struct render_sink sink = text_sink__init(&ts, sb);
	int err = pusher__render_self_to(p, &sink);

	text_sink__free(&ts);
	return err ? err : sb->err;
}

void pusher__free(struct pusher *p)
{
	if (!p)
		return;
	pusher__stop(p);
	push__free(p->client);
	strbuf__free(&p->body);
	pthread_cond_destroy(&p->wake);
	pthread_mutex_destroy(&p->lock);
	free(p);
}
