/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pusher: pushes the exposition periodically on a thread of its own, beside the HTTP server.
 *
 * Push at start, then every interval. After n consecutive failures the next try waits
 * interval * 2^n, capped at 300 s, with +-12.5 % jitter so that a fleet restarted together does
 * not retry together. A circuit breaker opens after `threshold` consecutive failures: no
 * attempt while it is open; `reset` seconds after the last failure it half-opens for one trial
 * push, which closes it on success and reopens it on failure. At stop, one last push (or the
 * group's deletion with --pushgateway-delete-on-shutdown), whatever the breaker says: it is
 * bounded by the timeouts and it is what keeps the gateway from serving stale numbers.
 *
 * The body is rendered by a callback (the same one /metrics uses) with no lock of the pusher
 * held, and no lock at all is held during network I/O: a slow gateway never delays a scrape.
 * Failures are logged (status and the start of the body), never fatal.
 */
#ifndef CCPROXY_PUSHER_H
#define CCPROXY_PUSHER_H

#include <stdbool.h>
#include <stddef.h>
#include "config.h"
#include "render_sink.h"
#include "strbuf.h"

#define PUSHER_BACKOFF_MAX 300.0
#define PUSHER_JITTER	   0.125

enum breaker_state { BREAKER_CLOSED, BREAKER_OPEN, BREAKER_HALF_OPEN };

/* ---- the schedule: a pure state machine, the time and the randomness passed in ---------- */

struct sched_opts {
	double interval;	/* seconds between pushes while they succeed */
	double backoff_max;	/* cap of interval * 2^n */
	double jitter;		/* fraction: 0.125 spreads a wait over [0.875, 1.125] of it */
	unsigned int threshold; /* consecutive failures that open the breaker (>= 1) */
	double reset;		/* seconds from the last failure to the half-open trial */
};

struct sched {
	struct sched_opts o;
	enum breaker_state state;
	unsigned int failures; /* consecutive */
	double next;	       /* when the next attempt is due */
};

/* The first attempt is due at once. */
void pusher__sched_init(struct sched *s, const struct sched_opts *o, double now);
/* Whether an attempt may start at now; an open breaker whose reset has passed half-opens. */
bool pusher__sched_due(struct sched *s, double now);
/* Records an attempt that ended at now; u in [0, 1) draws the jitter (0.5: none). */
void pusher__sched_done(struct sched *s, bool ok, double now, double u);
/* The wait after n consecutive failures, before jitter. */
double pusher__backoff(const struct sched_opts *o, unsigned int n);

/* ---- the pushing thread ----------------------------------------------------------------- */

/* Appends the exposition to out: 0 or a negative errno. Called on the pushing thread. */
typedef int (*pusher_render_fn)(void *ctx, struct strbuf *out);

struct pusher;

/*
 * Checks the CA file, reads the password file (both must be regular files: files.h) and
 * prepares the client; starts nothing. cfg is borrowed and must outlive the pusher;
 * render(ctx) must stay callable until pusher__free. NULL with errno (ENOENT, EACCES,
 * EINVAL... for the files, EINVAL, ENOMEM, EIO); why, when set, says what failed and why.
 */
struct pusher *pusher__new(const struct config *cfg, pusher_render_fn render, void *ctx, char *why,
			   size_t whylen);
/* Starts the thread; the first push follows at once. 0 or a negative errno. */
int pusher__start(struct pusher *p);
/*
 * Abandons a push in progress, makes the last push (or the deletion) and joins the thread.
 * NULL-safe and idempotent.
 */
void pusher__stop(struct pusher *p);
/* The push self-metrics (ccproxy_exporter_push_*). NULL: nothing. Thread-safe. */
int pusher__render_self(struct pusher *p, struct strbuf *sb);
/* The same families, into any sink. */
int pusher__render_self_to(struct pusher *p, const struct render_sink *sink);
/* Stops if needed and frees. NULL-safe. */
void pusher__free(struct pusher *p);

#endif /* CCPROXY_PUSHER_H */
