// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "exporter.h"
#include "health.h"
#include "loader.h"
#include "render.h"
#include "target.h"

struct exporter {
	const struct config *cfg;
	struct loader *loader;
	struct target targets[CONFIG_MAX_PIDS];
	size_t ntargets;
	pthread_mutex_t lock;
};

struct exporter *exporter__new(const struct config *cfg)
{
	struct exporter *ex = calloc(1, sizeof(*ex));
	int err;

	if (!ex)
		return NULL;
	ex->cfg = cfg;
	pthread_mutex_init(&ex->lock, NULL);
	ex->loader = loader__load(cfg);
	if (!ex->loader) {
		err = errno;
		exporter__free(ex);
		errno = err;
		return NULL;
	}
	return ex;
}

int exporter__attach(struct exporter *ex, pid_t pid, char *why, size_t whylen)
{
	struct target *t;
	int err;

	pthread_mutex_lock(&ex->lock);
	if (ex->ntargets == CONFIG_MAX_PIDS) {
		pthread_mutex_unlock(&ex->lock);
		return -E2BIG;
	}
	t = &ex->targets[ex->ntargets];
	memset(t, 0, sizeof(*t));
	err = target__attach(t, ex->loader, pid, why, whylen);
	if (!err)
		ex->ntargets++;
	pthread_mutex_unlock(&ex->lock);
	return err;
}

static bool exporter__alive(void *ctx, uint32_t tgid)
{
	const struct exporter *ex = ctx;
	size_t i;

	for (i = 0; i < ex->ntargets; i++) {
		if ((uint32_t)ex->targets[i].pid == tgid)
			return ex->targets[i].alive;
	}
	return false;
}

/* Rechecks every target; returns how many are alive. A dead one is detached once. */
static size_t exporter__refresh(struct exporter *ex)
{
	size_t i, alive = 0;

	for (i = 0; i < ex->ntargets; i++) {
		struct target *t = &ex->targets[i];

		if (target__refresh(t))
			alive++;
		else if (t->nlinks)
			target__detach(t);
	}
	return alive;
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

int exporter__scrape(struct exporter *ex, struct strbuf *out)
{
	const struct render_opts ro = {
		.namespace_ = ex->cfg->namespace_,
		.buckets = ex->cfg->histogram_buckets,
		.nbuckets = ex->cfg->nbuckets,
	};
	struct snapshot snap = { 0 };
	struct timespec t0;
	int err;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	pthread_mutex_lock(&ex->lock);
	snap.attached = exporter__refresh(ex);
	err = loader__read(ex->loader, &snap, exporter__alive, ex);
	pthread_mutex_unlock(&ex->lock);
	if (!err)
		err = render__families(&snap, &ro, out);
	if (!err)
		err = render__self(&snap, seconds_since(&t0), out);
	snapshot__free(&snap);
	return err;
}

int exporter__health(struct exporter *ex, struct strbuf *out)
{
	int err;

	pthread_mutex_lock(&ex->lock);
	exporter__refresh(ex);
	err = health__render(ex->cfg, ex->targets, ex->ntargets, out);
	pthread_mutex_unlock(&ex->lock);
	return err;
}

void exporter__free(struct exporter *ex)
{
	size_t i;

	if (!ex)
		return;
	for (i = 0; i < ex->ntargets; i++)
		target__detach(&ex->targets[i]);
	loader__free(ex->loader);
	pthread_mutex_destroy(&ex->lock);
	free(ex);
}
