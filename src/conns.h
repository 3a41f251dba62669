/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * conns: the web server's connections, counted and timed, independent of the HTTP library.
 *
 * Two promises libmicrohttpd cannot keep alone. Its connection limit stops accepting, so the
 * connections beyond it wait in the listen backlog for a slot instead of being refused; and
 * its timeout is an idle timeout, restarted by every byte, so a client sending its headers
 * one byte at a time holds a slot forever. Here a connection over the limit is refused at
 * once, and a connection whose request headers are not complete within the deadline (from
 * its start, or from the end of its previous request) is shut down.
 *
 * The caller allocates each struct conn (it may embed it) and reports the connection's life:
 * conns__open when accepted, conns__headers_done once its headers are in, conns__request_done
 * after each request, conns__close when the socket is about to be closed. Closing here means
 * shutdown(2): the server notices on its own thread and closes the socket itself, so fd must
 * stay open until conns__close returns. Thread-safe.
 */
#ifndef CCPROXY_CONNS_H
#define CCPROXY_CONNS_H

#include <stdbool.h>
#include <stdint.h>

/* Fields are private to conns.c. */
struct conn {
	struct conn *prev, *next; /* the deadline list, oldest first */
	uint64_t deadline_ms;	  /* CLOCK_MONOTONIC */
	int fd;
	bool counted; /* holds a slot */
	bool timed;   /* on the deadline list */
};

struct conns;

/*
 * limit: connections held at once (>= 1); deadline_ms: time allowed for request headers
 * (>= 1). Starts the thread that enforces the deadline. NULL with errno set.
 */
struct conns *conns__new(unsigned int limit, unsigned int deadline_ms);
/* Stops the thread. Every connection must have been closed. NULL-safe. */
void conns__free(struct conns *cs);

/* 0, or -EBUSY when the limit is reached: fd is then already shut down. c is set up either way. */
int conns__open(struct conns *cs, struct conn *c, int fd);
/* The headers are in: no deadline until conns__request_done. */
void conns__headers_done(struct conns *cs, struct conn *c);
/* A request ended: the next one's headers have the deadline from now. */
void conns__request_done(struct conns *cs, struct conn *c);
/* Forgets c and frees its slot. */
void conns__close(struct conns *cs, struct conn *c);
/* Connections holding a slot. */
unsigned int conns__count(struct conns *cs);

#endif /* CCPROXY_CONNS_H */
