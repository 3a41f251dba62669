// SPDX-License-Identifier: BSD-2-Clause
/*
 * Every timed connection gets the same deadline from now, so appending keeps the list sorted
 * by deadline: the thread only ever looks at its head, and every operation is O(1).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include "conns.h"

struct conns {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t thread;
	struct conn *head, *tail;
	unsigned int limit, count;
	unsigned int deadline_ms;
	bool stop;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void unlink_conn(struct conns *cs, struct conn *c)
{
	if (!c->timed)
		return;
	if (c->prev)
		c->prev->next = c->next;
	else
		cs->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		cs->tail = c->prev;
	c->prev = c->next = NULL;
	c->timed = false;
}

/* Starts c's clock; the thread is woken only when c becomes the head. */
static void append_conn(struct conns *cs, struct conn *c)
{
	unlink_conn(cs, c);
	c->deadline_ms = now_ms() + cs->deadline_ms;
	c->prev = cs->tail;
	if (cs->tail)
		cs->tail->next = c;
	else
		cs->head = c;
	cs->tail = c;
	c->timed = true;
	if (cs->head == c)
		pthread_cond_signal(&cs->wake);
}

static void wait_until(struct conns *cs, uint64_t ms)
{
	struct timespec ts = {.tv_sec = (time_t)(ms / 1000),
			      .tv_nsec = (long)(ms % 1000) * 1000000};

	pthread_cond_timedwait(&cs->wake, &cs->lock, &ts);
}

/* Shuts down what is overdue, then sleeps until the next deadline or a new head. */
static void *reaper(void *arg)
{
	struct conns *cs = arg;
	struct conn *c;

	pthread_mutex_lock(&cs->lock);
	while (!cs->stop) {
		while ((c = cs->head) && c->deadline_ms <= now_ms()) {
			unlink_conn(cs, c);
			shutdown(c->fd, SHUT_RDWR);
		}
		if (cs->head)
			wait_until(cs, cs->head->deadline_ms);
		else
			pthread_cond_wait(&cs->wake, &cs->lock);
	}
	pthread_mutex_unlock(&cs->lock);
	return NULL;
}

static int init_cond(pthread_cond_t *cond)
{
	pthread_condattr_t attr;
	int err;

	err = pthread_condattr_init(&attr);
	if (err)
		return -err;
	/* Deadlines are monotonic: a clock step must not cut or spare a connection. */
	err = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	if (!err)
		err = pthread_cond_init(cond, &attr);
	pthread_condattr_destroy(&attr);
	return -err;
}

struct conns *conns__new(unsigned int limit, unsigned int deadline_ms)
{
	struct conns *cs;
	int err;

	if (!limit || !deadline_ms) {
		errno = EINVAL;
		return NULL;
	}
	cs = calloc(1, sizeof(*cs));
	if (!cs)
		return NULL;
	cs->limit = limit;
	cs->deadline_ms = deadline_ms;
	err = init_cond(&cs->wake);
	if (err)
		goto fail;
	pthread_mutex_init(&cs->lock, NULL);
	err = -pthread_create(&cs->thread, NULL, reaper, cs);
	if (!err)
		return cs;
	pthread_mutex_destroy(&cs->lock);
	pthread_cond_destroy(&cs->wake);
fail:
	free(cs);
	errno = -err;
	return NULL;
}

void conns__free(struct conns *cs)
{
	if (!cs)
		return;
	pthread_mutex_lock(&cs->lock);
	cs->stop = true;
	pthread_cond_signal(&cs->wake);
	pthread_mutex_unlock(&cs->lock);
	pthread_join(cs->thread, NULL);
	pthread_mutex_destroy(&cs->lock);
	pthread_cond_destroy(&cs->wake);
	free(cs);
}

int conns__open(struct conns *cs, struct conn *c, int fd)
{
	int err = 0;

	*c = (struct conn){.fd = fd};
	pthread_mutex_lock(&cs->lock);
	if (cs->count < cs->limit) {
		cs->count++;
		c->counted = true;
		append_conn(cs, c);
	} else {
		err = -EBUSY;
	}
	pthread_mutex_unlock(&cs->lock);
	/* Refused at once rather than left to wait in the listen backlog for a slot. */
	if (err)
		shutdown(fd, SHUT_RDWR);
	return err;
}

void conns__headers_done(struct conns *cs, struct conn *c)
{
	pthread_mutex_lock(&cs->lock);
	unlink_conn(cs, c);
	pthread_mutex_unlock(&cs->lock);
}

void conns__request_done(struct conns *cs, struct conn *c)
{
	pthread_mutex_lock(&cs->lock);
	if (c->counted)
		append_conn(cs, c);
	pthread_mutex_unlock(&cs->lock);
}

void conns__close(struct conns *cs, struct conn *c)
{
	pthread_mutex_lock(&cs->lock);
	unlink_conn(cs, c);
	if (c->counted)
		cs->count--;
	c->counted = false;
	pthread_mutex_unlock(&cs->lock);
}

unsigned int conns__count(struct conns *cs)
{
	unsigned int n;

	pthread_mutex_lock(&cs->lock);
	n = cs->count;
	pthread_mutex_unlock(&cs->lock);
	return n;
}
