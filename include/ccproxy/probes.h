/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ccproxy probe ABI, version 1.
 *
 * A proxy compiles this header in and fires USDT probes (provider "ccproxy") at its hook
 * points; ccproxy_exporter attaches to them from outside the process and aggregates in BPF.
 *
 * Usage, in C:
 *
 *	#define CCPROXY_PROBES_DEFINE   // in exactly one translation unit
 *	#include <ccproxy/probes.h>
 *
 *	if (CCPROXY_ENABLED(request_complete)) {
 *		struct ccproxy_event ev = CCPROXY_EVENT_INIT;
 *		ev.request_id = id;
 *		ev.status = 200;
 *		ccproxy_copy_str(ev.labels.model, sizeof(ev.labels.model), model);
 *		CCPROXY_FIRE(request_complete, &ev);
 *	}
 *
 * Contract:
 * - Every probe takes one argument: a pointer to an event struct that starts with
 *   struct ccproxy_hdr { abi = CCPROXY_ABI_VERSION, size = sizeof(the struct) }. Fields are only
 *   ever appended; a reader uses the prefix it knows and rejects (and counts) a struct smaller
 *   than version 1 or with another abi number.
 * - Every probe is gated by a semaphore that a tracer raises on attach: prepare arguments only
 *   inside `if (CCPROXY_ENABLED(name))`, so a detached probe costs one predictable branch.
 * - Integers only: durations in ns, cost in nano-USD (1e-9 USD), token counts as u64.
 * - Strings are fixed arrays, NUL-terminated and zero-padded (ccproxy_copy_str does both).
 *   A value longer than the array holds is cut to size - 1 bytes; a reader cuts an array
 *   without NUL the same way. Readers replace invalid UTF-8 and treat an empty string as
 *   "unknown" (endpoint of provider_error: "/").
 * - request_id identifies a request among the in-flight requests of one process. request_start
 *   and request_complete/request_fail with the same id are paired by the tracer: it measures
 *   the duration with the kernel clock when duration_ns is 0, and counts the request as active
 *   in between. Fire request_start at most once per id.
 * - Each request's usage (tokens, cost) must be reported once: in request_complete, or, for a
 *   streamed request whose usage arrives at the end of the stream, in provider_stream_end.
 * - Values above the CCPROXY_*_MAX limits below are treated as corrupt: the event's usage or
 *   duration is not recorded, and the reader counts the event as invalid.
 * docs/probes.md documents each probe: when it fires, which fields it reads, what it counts.
 */
#ifndef CCPROXY_PROBES_H
#define CCPROXY_PROBES_H

#ifndef __bpf__
#include <stdint.h>
#include <string.h>
#endif

#define CCPROXY_ABI_VERSION 1

#define CCPROXY_METHOD_MAX	 8
#define CCPROXY_ENDPOINT_MAX	 64
#define CCPROXY_MODEL_MAX	 64
#define CCPROXY_SERVICE_TYPE_MAX 32
#define CCPROXY_ERROR_TYPE_MAX	 64
#define CCPROXY_VERSION_MAX	 32

/* Larger values are corrupt, not big: 2^40 tokens, 10^15 nano-USD (1M USD), ~13 days. */
#define CCPROXY_TOKENS_MAX	(1ULL << 40)
#define CCPROXY_COST_NUSD_MAX	1000000000000000ULL
#define CCPROXY_DURATION_NS_MAX (1ULL << 50)

enum ccproxy_token_type {
	CCPROXY_TOKENS_INPUT,
	CCPROXY_TOKENS_OUTPUT,
	CCPROXY_TOKENS_CACHE_READ,
	CCPROXY_TOKENS_CACHE_WRITE,
	CCPROXY_TOKEN_TYPES,
};

struct ccproxy_hdr {
	uint16_t abi;  /* CCPROXY_ABI_VERSION */
	uint16_t size; /* sizeof the event struct, as the proxy compiled it */
	uint32_t reserved;
};

/* The request's label values; method and endpoint are empty in provider events. */
struct ccproxy_labels {
	char method[CCPROXY_METHOD_MAX];	     /* "POST" */
	char endpoint[CCPROXY_ENDPOINT_MAX];	     /* route path: no scheme, host or query */
	char model[CCPROXY_MODEL_MAX];		     /* "claude-sonnet-4" */
	char service_type[CCPROXY_SERVICE_TYPE_MAX]; /* provider: "claude_api", "codex", ... */
};

struct ccproxy_usage {
	uint64_t tokens[CCPROXY_TOKEN_TYPES]; /* indexed by enum ccproxy_token_type */
	uint64_t cost_nusd;		      /* nano-USD */
};

/* Argument of the request_* and provider_* probes (168 + 144 bytes, no implicit padding). */
struct ccproxy_event {
	struct ccproxy_hdr hdr;
	uint64_t request_id;
	uint64_t duration_ns; /* request_complete: 0 = let the tracer measure it */
	uint64_t bytes;	      /* provider_stream_chunk: payload bytes */
	struct ccproxy_usage usage;
	uint32_t status; /* HTTP status: request_complete, provider_response_received */
	uint32_t reserved;
	struct ccproxy_labels labels;
	char error_type[CCPROXY_ERROR_TYPE_MAX]; /* request_fail, provider_error: final label */
};

/* Argument of the pool_* probes. */
struct ccproxy_pool_event {
	struct ccproxy_hdr hdr;
	uint64_t wait_ns;	    /* pool_acquire: time waited for a client */
	uint32_t clients_total;	    /* pool_gauges */
	uint32_t clients_available; /* pool_gauges */
	uint32_t clients_active;    /* pool_gauges */
	uint32_t reserved;
};

/* Argument of the info probe. */
struct ccproxy_info_event {
	struct ccproxy_hdr hdr;
	char version[CCPROXY_VERSION_MAX];
};

/*
 * Every probe, in ABI order (the order is part of the ABI: readers index counters by it).
 * X(name, argument type).
 */
#define CCPROXY_PROBES(X)                                                                          \
	X(request_start, struct ccproxy_event)                                                     \
	X(request_complete, struct ccproxy_event)                                                  \
	X(request_fail, struct ccproxy_event)                                                      \
	X(provider_request_sent, struct ccproxy_event)                                             \
	X(provider_response_received, struct ccproxy_event)                                        \
	X(provider_error, struct ccproxy_event)                                                    \
	X(provider_stream_start, struct ccproxy_event)                                             \
	X(provider_stream_chunk, struct ccproxy_event)                                             \
	X(provider_stream_end, struct ccproxy_event)                                               \
	X(pool_acquire, struct ccproxy_pool_event)                                                 \
	X(pool_release, struct ccproxy_pool_event)                                                 \
	X(pool_connection_created, struct ccproxy_pool_event)                                      \
	X(pool_connection_closed, struct ccproxy_pool_event)                                       \
	X(pool_health_check_failed, struct ccproxy_pool_event)                                     \
	X(pool_gauges, struct ccproxy_pool_event)                                                  \
	X(info, struct ccproxy_info_event)

#define CCPROXY__PROBE_ID(name, type) CCPROXY_PROBE_##name,
enum ccproxy_probe_id { CCPROXY_PROBES(CCPROXY__PROBE_ID) CCPROXY_PROBE_COUNT };
#undef CCPROXY__PROBE_ID

/* Initialiser of a name table indexed by enum ccproxy_probe_id:
 *	static const char *const names[CCPROXY_PROBE_COUNT] = { CCPROXY_PROBE_NAMES };
 */
#define CCPROXY__PROBE_NAME(name, type) [CCPROXY_PROBE_##name] = #name,
#define CCPROXY_PROBE_NAMES		 CCPROXY_PROBES(CCPROXY__PROBE_NAME)

#define CCPROXY_EVENT_INIT                                                                         \
	{                                                                                          \
		.hdr = {.abi = CCPROXY_ABI_VERSION, .size = sizeof(struct ccproxy_event) }         \
	}
#define CCPROXY_POOL_EVENT_INIT                                                                    \
	{                                                                                          \
		.hdr = {.abi = CCPROXY_ABI_VERSION, .size = sizeof(struct ccproxy_pool_event) }    \
	}
#define CCPROXY_INFO_EVENT_INIT                                                                    \
	{                                                                                          \
		.hdr = {.abi = CCPROXY_ABI_VERSION, .size = sizeof(struct ccproxy_info_event) }    \
	}

#ifndef __bpf__
/* Probe-firing side: needs <sys/sdt.h> (Debian: systemtap-sdt-dev). */
#define _SDT_HAS_SEMAPHORES 1
#include <sys/sdt.h>

#define CCPROXY__SEMAPHORE(name, type) ccproxy_##name##_semaphore
#define CCPROXY__DECLARE(name, type)                                                               \
	extern volatile unsigned short CCPROXY__SEMAPHORE(name, type)                              \
		__attribute__((visibility("hidden")));
CCPROXY_PROBES(CCPROXY__DECLARE)
#undef CCPROXY__DECLARE

#ifdef CCPROXY_PROBES_DEFINE
/* The tracer increments these in the traced process; section .probes is where sdt.h's note
 * readers (libbpf, bpftrace, systemtap) expect them. */
#define CCPROXY__DEFINE(name, type)                                                                \
	volatile unsigned short CCPROXY__SEMAPHORE(name, type)                                     \
		__attribute__((section(".probes"), used, visibility("hidden")));
CCPROXY_PROBES(CCPROXY__DEFINE)
#undef CCPROXY__DEFINE
#endif

/* Non-zero while at least one tracer is attached to probe `name`. */
#define CCPROXY_ENABLED(name) __builtin_expect(ccproxy_##name##_semaphore != 0, 0)

/*
 * Fire probe `name` with `ev`, a pointer to its event struct (see CCPROXY_PROBES).
 * sys/sdt.h passes the pointer to an asm without a memory clobber, so the compiler could
 * drop the stores that filled the struct: the barrier makes them happen first.
 */
#define CCPROXY_FIRE(name, ev)                                                                     \
	do {                                                                                       \
		__asm__ __volatile__("" : : "r"(ev) : "memory");                                   \
		DTRACE_PROBE1(ccproxy, name, ev);                                                  \
	} while (0)

/* strncpy's contract is the ABI's: cut to size - 1, NUL-terminate, zero-pad. */
static inline void ccproxy_copy_str(char *dst, size_t size, const char *src)
{
	if (!size)
		return;
	if (!src)
		src = "";
	strncpy(dst, src, size - 1);
	dst[size - 1] = '\0';
}
#endif /* !__bpf__ */

#endif /* CCPROXY_PROBES_H */
