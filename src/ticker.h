/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ticker: runs fn(ctx) on its own thread at once and then every interval, until stopped.
 * ticker__stop wakes it at once (no waiting out the interval) and joins it.
 */
#ifndef CCPROXY_TICKER_H
#define CCPROXY_TICKER_H

struct ticker;

/* NULL with errno set. */
struct ticker *ticker__start(unsigned int interval_ms, void (*fn)(void *ctx), void *ctx);
/* NULL-safe. Waits for a call in progress to return. */
void ticker__stop(struct ticker *t);

#endif /* CCPROXY_TICKER_H */
