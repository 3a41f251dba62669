// SPDX-License-Identifier: BSD-2-Clause
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <regex.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "exporter.h"
#include "health.h"
#include "loader.h"
#include "log.h"
#include "nhist.h"
#include "objects.h"
#include "render.h"
#include "target.h"

/* Exited processes found by discovery stay in /metrics/health this long. */
#define EXITED_KEEP_S 300
/*
 * Map entries of exited processes are deleted when a target exits, and at least this often
 * for processes that counted unknown to the exporter (no filter, not discovered yet).
 */
#define COLLECT_EVERY_S 60

/*
 * Two locks, so that a scrape never waits for slow work:
 * - work serialises what changes the traced set (attach, discover, maintain) and guards the
 *   objects table. It is held across /proc scans, ELF reads, attaching and detaching (up to
 *   seconds). Scrapes and health never take it.
 * - lock guards what scrapes read: the targets and the published object count, and the maps'
 *   per-process entries, which a scrape reads and maintain deletes, so that a scrape sees a
 *   dying process's entries all or none. It is held for milliseconds at most, never across
 *   attaching or detaching. It is taken inside work, never the other way round.
 */
struct exporter {
	const struct config *cfg;
	struct loader *loader;
	regex_t match_comm;
	regex_t match_exe;
	bool has_comm;
	bool has_exe;
	pthread_mutex_t work;
	struct objects objects; /* work */
	pthread_mutex_t lock;
	struct target *targets; /* lock; added and removed under work as well */
	time_t *exited_at;	/* per target: when maintain saw it gone; 0 while alive */
	size_t ntargets;
	size_t cap;
	size_t nobjects;	   /* objects__attached(&objects) as last published */
	struct nhist_params nh;	   /* valid when cfg->native_histograms */
	struct timespec collected; /* work: the last deletion of exited processes' entries */
};

static int exporter__compile(struct exporter *ex)
{
	if (ex->cfg->match_comm[0]) {
		if (regcomp(&ex->match_comm, ex->cfg->match_comm, REG_EXTENDED | REG_NOSUB))
			return -EINVAL;
		ex->has_comm = true;
	}
	if (ex->cfg->match_exe[0]) {
		if (regcomp(&ex->match_exe, ex->cfg->match_exe, REG_EXTENDED | REG_NOSUB))
			return -EINVAL;
		ex->has_exe = true;
	}
	return 0;
}

/* The part of the configuration the BPF side is set up with. */
static void exporter__loader_opts(const struct exporter *ex, struct loader_opts *o)
{
	const struct config *cfg = ex->cfg;
	size_t i, h;

	*o = (struct loader_opts){
		.nbuckets = cfg->nbuckets,
		.collect_request = cfg->collect_request_metrics,
		.collect_token = cfg->collect_token_metrics,
		.collect_cost = cfg->collect_cost_metrics,
		.collect_error = cfg->collect_error_metrics,
		.collect_pool = cfg->collect_pool_metrics,
		.collect_latency = cfg->collect_latency_metrics,
		.per_process = cfg->per_process_labels,
		/* Plain discovery counts every process that maps a probe object, from its first
		 * event; --pid and the match flags count only the processes they select. */
		.filter_pids = cfg->npids || cfg->match_comm[0] || cfg->match_exe[0],
		.bpf_pin_path = cfg->bpf_pin_path,
		.pin_reset = cfg->bpf_pin_reset,
		.limit_requests = cfg->limit_requests,
		.limit_usage = cfg->limit_usage,
		.limit_errors = cfg->limit_errors,
		.limit_inflight = cfg->limit_inflight,
		.limit_inflight_per_process = cfg->limit_inflight_per_process,
		.limit_provider = cfg->limit_provider,
		.limit_native = cfg->limit_native,
		.nh = cfg->native_histograms ? &ex->nh : NULL,
	};
	for (i = 0; i < cfg->nbuckets; i++)
		o->bucket_ns[i] = config__bucket_ns(cfg->histogram_buckets[i]);
	for (h = 0; h < CCPROXY_LATENCIES; h++) {
		o->lat_nbuckets[h] = cfg->nlatency_buckets[h];
		for (i = 0; i < cfg->nlatency_buckets[h]; i++)
			o->lat_bucket_ns[h][i] = config__bucket_ns(cfg->latency_buckets[h][i]);
	}
}

struct exporter *exporter__new(const struct config *cfg)
{
	struct exporter *ex = calloc(1, sizeof(*ex));
	struct loader_opts lo;
	int err;

	if (!ex)
		return NULL;
	ex->cfg = cfg;
	pthread_mutex_init(&ex->work, NULL);
	pthread_mutex_init(&ex->lock, NULL);
	err = exporter__compile(ex);
	if (!err && cfg->native_histograms)
		err = nhist__params((int)cfg->nh_schema, strtod(cfg->nh_zero_threshold, NULL),
				    &ex->nh);
	ex->nh.max_buckets = cfg->nh_max_buckets;
	if (!err) {
		exporter__loader_opts(ex, &lo);
		ex->loader = loader__load(&lo);
		err = ex->loader ? 0 : -errno;
	}
	if (!err && loader__pins_reset(ex->loader))
		log_warn("the maps pinned in %s were written by another version of the exporter or "
			 "with other buckets, limits or labels: removed, counting starts from zero",
			 cfg->bpf_pin_path);
	if (err) {
		exporter__free(ex);
		errno = -err;
		return NULL;
	}
	return ex;
}

/* The lock is held. */
static struct target *exporter__find(struct exporter *ex, pid_t pid)
{
	size_t i;

	for (i = 0; i < ex->ntargets; i++) {
		if (ex->targets[i].pid == pid && ex->targets[i].alive)
			return &ex->targets[i];
	}
	return NULL;
}

static bool exporter__known(struct exporter *ex, pid_t pid)
{
	bool known;

	pthread_mutex_lock(&ex->lock);
	known = exporter__find(ex, pid) != NULL;
	pthread_mutex_unlock(&ex->lock);
	return known;
}

/*
 * Room for one more target, made before attaching so that publishing cannot fail. The lock
 * is held; so is work, the only way targets are added, so the room stays free until then.
 */
static int exporter__reserve(struct exporter *ex)
{
	size_t cap = ex->cap ? ex->cap * 2 : 16;
	struct target *t;
	time_t *e;

	if (ex->ntargets < ex->cap)
		return 0;
	t = realloc(ex->targets, cap * sizeof(*t));
	if (!t)
		return -ENOMEM;
	ex->targets = t;
	e = realloc(ex->exited_at, cap * sizeof(*e));
	if (!e)
		return -ENOMEM;
	ex->exited_at = e;
	ex->cap = cap;
	return 0;
}

/* Shows scrapes the attached objects, and t (if any) as a new target. Work is held. */
static void exporter__publish(struct exporter *ex, const struct target *t)
{
	size_t nobjects = objects__attached(&ex->objects);

	pthread_mutex_lock(&ex->lock);
	if (t) {
		ex->exited_at[ex->ntargets] = 0;
		ex->targets[ex->ntargets++] = *t;
	}
	ex->nobjects = nobjects;
	pthread_mutex_unlock(&ex->lock);
}

/*
 * Probes pid into *t, attaches its objects and publishes it. Allow first, then attach: the
 * process's first event after attach already counts. Work is held; the lock is not, but to
 * reserve and publish.
 */
static int exporter__add(struct exporter *ex, pid_t pid, struct target *t, char *why, size_t whylen)
{
	int err;

	why[0] = '\0';
	pthread_mutex_lock(&ex->lock);
	err = exporter__reserve(ex);
	pthread_mutex_unlock(&ex->lock);
	if (!err)
		err = target__probe(t, &ex->objects, pid);
	if (err)
		return err;
	err = loader__allow(ex->loader, pid);
	if (!err)
		err = target__hold(t, &ex->objects, ex->loader, why, whylen);
	if (err) {
		loader__forget(ex->loader, pid);
		return err;
	}
	exporter__publish(ex, t);
	return 0;
}

int exporter__attach(struct exporter *ex, pid_t pid, char *why, size_t whylen)
{
	struct target t;
	int err;

	pthread_mutex_lock(&ex->work);
	err = exporter__known(ex, pid) ? 0 : exporter__add(ex, pid, &t, why, whylen);
	pthread_mutex_unlock(&ex->work);
	return err;
}

static bool exporter__matches(struct exporter *ex, pid_t pid)
{
	char buf[4096];

	if (ex->has_comm &&
	    (proc__comm(pid, buf, sizeof(buf)) || regexec(&ex->match_comm, buf, 0, NULL, 0)))
		return false;
	if (ex->has_exe &&
	    (proc__exe(pid, buf, sizeof(buf)) || regexec(&ex->match_exe, buf, 0, NULL, 0)))
		return false;
	return true;
}

static void exporter__discover_pid(struct exporter *ex, pid_t pid)
{
	struct target t;
	char why[512];
	int err;

	if (exporter__known(ex, pid) || !exporter__matches(ex, pid))
		return;
	err = exporter__add(ex, pid, &t, why, sizeof(why));
	if (!err)
		log_info("attached to pid %d (%s)", (int)pid, t.comm);
	else if (err == -EACCES || err == -EPERM)
		/* Every scan meets them (other users' namespaces, pid 1): not worth a warning. */
		log_debug("cannot look into pid %d: %s", (int)pid, strerror(-err));
	else if (err != -ENOENT && err != -ESRCH)
		log_warn("failed to attach to pid %d%s%s: %s", (int)pid, why[0] ? ", " : "", why,
			 strerror(-err));
}

void exporter__discover(struct exporter *ex)
{
	pid_t self = getpid();
	struct dirent *de;
	DIR *proc;

	proc = opendir("/proc");
	if (!proc) {
		log_warn("failed to read /proc: %s", strerror(errno));
		return;
	}
	pthread_mutex_lock(&ex->work);
	while ((de = readdir(proc))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (!isdigit((unsigned char)de->d_name[0]) || *end || pid <= 0 || pid == self)
			continue;
		exporter__discover_pid(ex, (pid_t)pid);
	}
	pthread_mutex_unlock(&ex->work);
	closedir(proc);
}

/* Cheap: marks exits only. Detaching waits for maintain. Returns the live count. The lock
 * is held. */
static size_t exporter__refresh(struct exporter *ex)
{
	size_t i, alive = 0;

	for (i = 0; i < ex->ntargets; i++)
		alive += target__refresh(&ex->targets[i]);
	return alive;
}

/*
 * Takes the next target that has exited and still holds its objects: marked released and
 * stamped under the lock, copied to *gone for the slow release outside it. False if none.
 */
static bool exporter__next_gone(struct exporter *ex, time_t now, struct target *gone)
{
	size_t i;
	bool found;

	pthread_mutex_lock(&ex->lock);
	for (i = 0; i < ex->ntargets; i++) {
		if (!ex->targets[i].alive && ex->targets[i].held)
			break;
	}
	found = i < ex->ntargets;
	if (found) {
		*gone = ex->targets[i];
		ex->targets[i].held = false;
		ex->exited_at[i] = now;
	}
	pthread_mutex_unlock(&ex->lock);
	return found;
}

/* Detaches what gone held, if no one else uses it: slow, so work is held, the lock not. */
static void exporter__release(struct exporter *ex, struct target *gone)
{
	log_info("pid %d exited", (int)gone->pid);
	loader__forget(ex->loader, gone->pid);
	target__release(gone, &ex->objects);
	exporter__publish(ex, NULL);
}

/* --pid targets stay listed; discovered ones go a while after they were released. */
static void exporter__expire(struct exporter *ex, time_t now)
{
	size_t i, out = 0;

	pthread_mutex_lock(&ex->lock);
	for (i = 0; i < ex->ntargets; i++) {
		const struct target *t = &ex->targets[i];

		if (!t->alive && !t->held && !ex->cfg->npids &&
		    now - ex->exited_at[i] > EXITED_KEEP_S)
			continue;
		ex->exited_at[out] = ex->exited_at[i];
		ex->targets[out++] = *t;
	}
	ex->ntargets = out;
	pthread_mutex_unlock(&ex->lock);
}

/*
 * Processes the exporter does not know yet count while they live when nothing is filtered.
 * The lock is held.
 */
static bool exporter__alive(void *ctx, uint32_t tgid)
{
	struct exporter *ex = ctx;
	size_t i;

	for (i = 0; i < ex->ntargets; i++) {
		if ((uint32_t)ex->targets[i].pid == tgid && ex->targets[i].alive)
			return true;
	}
	return !loader__filters(ex->loader) && proc__exists((pid_t)tgid);
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

/*
 * The map entries of exited processes go here, not on a scrape: a scrape only reads. Under
 * the lock, so that no scrape sees half of a process's entries. Milliseconds: map dumps.
 * Work is held.
 */
static void exporter__collect(struct exporter *ex)
{
	int err;

	pthread_mutex_lock(&ex->lock);
	err = loader__collect(ex->loader, exporter__alive, ex);
	pthread_mutex_unlock(&ex->lock);
	clock_gettime(CLOCK_MONOTONIC, &ex->collected);
	if (err)
		log_warn("failed to delete the map entries of exited processes: %s",
			 strerror(-err));
}

void exporter__maintain(struct exporter *ex)
{
	time_t now = time(NULL);
	struct target gone;
	bool exited = false;

	pthread_mutex_lock(&ex->work);
	pthread_mutex_lock(&ex->lock);
	exporter__refresh(ex);
	pthread_mutex_unlock(&ex->lock);
	while (exporter__next_gone(ex, now, &gone)) {
		exporter__release(ex, &gone);
		exited = true;
	}
	if (exited || seconds_since(&ex->collected) >= COLLECT_EVERY_S)
		exporter__collect(ex);
	exporter__expire(ex, now);
	pthread_mutex_unlock(&ex->work);
}

static int exporter__procs(struct exporter *ex, struct snapshot *snap)
{
	size_t i;
	int err;

	for (i = 0; i < ex->ntargets; i++) {
		if (!ex->targets[i].alive)
			continue;
		err = snapshot__add_proc(snap, ex->targets[i].pid, ex->targets[i].container_id);
		if (err)
			return err;
	}
	return 0;
}

static int64_t clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/*
 * CLOCK_REALTIME minus CLOCK_MONOTONIC now: what turns the maps' creation times into
 * wall-clock ones. Taken at each scrape, so a clock set since then moves them with it.
 */
static int64_t wall_minus_mono_ns(void)
{
	int64_t mono = clock_ns(CLOCK_MONOTONIC), wall = clock_ns(CLOCK_REALTIME);

	/* The monotonic reading halfway between two: off by half the gap at most. */
	return wall - (mono + (clock_ns(CLOCK_MONOTONIC) - mono) / 2);
}

int exporter__scrape_to(struct exporter *ex, const struct render_sink *sink)
{
	const struct config *cfg = ex->cfg;
	const struct render_opts ro = {
		.namespace_ = cfg->namespace_,
		.families = config__families(cfg),
		.per_process = cfg->per_process_labels,
		.native = cfg->native_histograms && sink->native,
		.created = true,
		.wall_minus_mono_ns = wall_minus_mono_ns(),
	};
	struct snapshot snap = {0};
	struct timespec t0;
	int err;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	pthread_mutex_lock(&ex->lock);
	snap.attached = exporter__refresh(ex);
	snap.objects = ex->nobjects;
	err = loader__read(ex->loader, &snap, ro.native, exporter__alive, ex);
	if (!err && ro.per_process)
		err = exporter__procs(ex, &snap);
	pthread_mutex_unlock(&ex->lock);
	if (!err)
		err = render__families_to(&snap, &ro, sink);
	if (!err)
		err = render__self_to(&snap, seconds_since(&t0), sink);
	snapshot__free(&snap);
	/* The scrape's allocations are freed, but the heap of the HTTP thread that made them
	 * keeps its pages until trimmed: with 10k series, ~10 MiB that idle would hold. */
	malloc_trim(0);
	return err;
}

int exporter__scrape(struct exporter *ex, struct strbuf *out)
{
	struct text_sink ts;
	struct render_sink sink = text_sink__init(&ts, out);
	int err = exporter__scrape_to(ex, &sink);

	text_sink__free(&ts);
	return err ? err : out->err;
}

const struct nhist_params *exporter__native(const struct exporter *ex)
{
	return ex->cfg->native_histograms ? &ex->nh : NULL;
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
	if (!ex)
		return;
	objects__free(&ex->objects);
	loader__free(ex->loader);
	if (ex->has_comm)
		regfree(&ex->match_comm);
	if (ex->has_exe)
		regfree(&ex->match_exe);
	free(ex->targets);
	free(ex->exited_at);
	pthread_mutex_destroy(&ex->lock);
	pthread_mutex_destroy(&ex->work);
	free(ex);
}
