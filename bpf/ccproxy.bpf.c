// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Aggregates the ccproxy USDT probes into maps that the exporter reads at scrape time.
 *
 * Every increment is an atomic add, per-CPU values included: uprobe programs run with
 * migration disabled but stay preemptible, so a plain ++ can lose updates.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
/* One spec per (probe, attached object, process): room for many worker processes. */
#define BPF_USDT_MAX_SPEC_CNT 1024
#include <bpf/usdt.bpf.h>
#include "ccproxy.h"
#include "nhist.bpf.h"

/* Set by the exporter between open and load. */
const volatile __u64 bucket_ns[CCPROXY_MAX_BUCKETS] = {};
const volatile __u32 nbuckets = 0;
const volatile bool collect_request = true;
const volatile bool collect_token = true;
const volatile bool collect_cost = true;
const volatile bool collect_error = true;
const volatile bool collect_pool = true;
const volatile bool collect_latency = true;
const volatile __u64 lat_bucket_ns[CCPROXY_LATENCIES][CCPROXY_LATENCY_BUCKETS] = {};
const volatile __u32 lat_nbuckets[CCPROXY_LATENCIES] = {};
const volatile bool per_process = false;
/* Entries of the inflight map one process may hold. */
const volatile __u32 inflight_per_process = CCPROXY_INFLIGHT_ENTRIES / 4;
/* Objects attached for every process (pid -1) count only processes listed in `targets`. */
const volatile bool filter_pids = false;

static const __u64 pool_bucket_ns[CCPROXY_POOL_BUCKETS] = {
	1000000ULL,   5000000ULL,   10000000ULL,   50000000ULL,	  100000000ULL,
	250000000ULL, 500000000ULL, 1000000000ULL, 2500000000ULL, 5000000000ULL,
};

/* Values that a new key starts from; the verifier accepts map-value pointers as values. */
static const struct ccproxy_req_val zero_req;
static const struct ccproxy_usage_val zero_usage;
static const struct ccproxy_pool_val zero_pool;
static const struct ccproxy_count_val zero_count;
static const __u64 zero_u64;
/* Overflow keys live here rather than on the 512-byte stack. */
static const struct ccproxy_req_key overflow_req = {.flags = CCPROXY_KEY_OVERFLOW};
static const struct ccproxy_usage_key overflow_usage = {.flags = CCPROXY_KEY_OVERFLOW};
static const struct ccproxy_error_key overflow_error = {.flags = CCPROXY_KEY_OVERFLOW};
static const struct ccproxy_provider_key overflow_provider = {.uk.flags = CCPROXY_KEY_OVERFLOW};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CCPROXY_REQUESTS_ENTRIES);
	__type(key, struct ccproxy_req_key);
	__type(value, struct ccproxy_req_val);
} requests SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CCPROXY_USAGE_ENTRIES);
	__type(key, struct ccproxy_usage_key);
	__type(value, struct ccproxy_usage_val);
} usage SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CCPROXY_ERRORS_ENTRIES);
	__type(key, struct ccproxy_error_key);
	__type(value, struct ccproxy_count_val);
} errors SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CCPROXY_INFLIGHT_ENTRIES);
	__type(key, struct ccproxy_inflight_key);
	__type(value, struct ccproxy_inflight_val);
} inflight SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CCPROXY_PROVIDER_ENTRIES);
	__type(key, struct ccproxy_provider_key);
	__type(value, struct ccproxy_count_val);
} provider SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CCPROXY_PROCS_ENTRIES);
	__type(key, __u32);   /* tgid */
	__type(value, __s64); /* its entries in inflight; signed, so a miscount cannot wrap */
} inflight_procs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CCPROXY_PROCS_ENTRIES);
	__type(key, __u32); /* tgid, or 0 for the node's total */
	__type(value, struct ccproxy_pool_val);
} pool SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CCPROXY_PROCS_ENTRIES);
	__type(key, __u32); /* tgid */
	__type(value, struct ccproxy_proc_val);
} procs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CCPROXY_PROCS_ENTRIES);
	__type(key, __u32); /* tgid */
	__type(value, __u8);
} targets SEC(".maps");

/* Not preallocated: a native bucket takes memory once it holds a count. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CCPROXY_NATIVE_ENTRIES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct ccproxy_nh_key);
	__type(value, __u64);
} native SEC(".maps");

/* The last series id given out (ccproxy_req_val.series); pinned with the maps that use it. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} series_ids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ccproxy_stats);
} stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ccproxy_meta);
} meta SEC(".maps");

/* The part of struct ccproxy_event before the strings: one read covers every scalar. */
struct event_head {
	struct ccproxy_hdr hdr;
	__u64 request_id;
	__u64 duration_ns;
	__u64 bytes;
	struct ccproxy_usage usage;
	__u32 status;
	__u32 reserved;
};
_Static_assert(sizeof(struct event_head) == __builtin_offsetof(struct ccproxy_event, labels),
	       "event_head must be the prefix of struct ccproxy_event");

static __always_inline void count_drop(enum ccproxy_drop why)
{
	__u32 zero = 0;
	struct ccproxy_stats *s = bpf_map_lookup_elem(&stats, &zero);

	if (s && why < CCPROXY_DROP_COUNT)
		__sync_fetch_and_add(&s->drops[why], 1);
}

/* Counts the hit and says whether this process is one we trace; *tgid is set either way. */
static __always_inline bool accept(enum ccproxy_probe_id id, __u32 *tgid)
{
	__u32 zero = 0;
	struct ccproxy_stats *s;

	*tgid = bpf_get_current_pid_tgid() >> 32;
	if (filter_pids && !bpf_map_lookup_elem(&targets, tgid))
		return false;
	s = bpf_map_lookup_elem(&stats, &zero);
	if (s && id < CCPROXY_PROBE_COUNT)
		__sync_fetch_and_add(&s->hits[id], 1);
	return true;
}

/* Reads the first `len` bytes of an event and checks its header. */
static __always_inline bool read_event(void *dst, __u32 len, const void *uev, __u32 min_size)
{
	const struct ccproxy_hdr *hdr = dst;

	if (bpf_probe_read_user(dst, len, uev)) {
		count_drop(CCPROXY_DROP_READ_FAULT);
		return false;
	}
	if (hdr->abi != CCPROXY_ABI_VERSION || hdr->size < min_size) {
		count_drop(CCPROXY_DROP_BAD_ABI);
		return false;
	}
	return true;
}

#define CREATED_OFF(type) __builtin_offsetof(type, created_ns)

/* Stamps a value this program's insert just made with the time: the series' _created. */
static __always_inline void *stamp_created(void *val, __u32 created_off)
{
	if (val)
		*(__u64 *)((char *)val + created_off) = bpf_ktime_get_ns();
	return val;
}

/*
 * The value for key, created from zero if absent; the one insert that made it also writes its
 * created_ns (at created_off). When the map is full the event goes to the family's overflow
 * key (created by the exporter at load), so totals stay right.
 */
static __always_inline void *upsert(void *map, void *key, const void *zero,
				    const void *overflow_key, __u32 created_off)
{
	void *val = bpf_map_lookup_elem(map, key);
	long err;

	if (val)
		return val;
	err = bpf_map_update_elem(map, key, zero, BPF_NOEXIST);
	if (!err)
		return stamp_created(bpf_map_lookup_elem(map, key), created_off);
	if (err == -EEXIST)
		return bpf_map_lookup_elem(map, key);
	if (overflow_key) {
		val = bpf_map_lookup_elem(map, overflow_key);
		if (val) {
			count_drop(CCPROXY_DROP_FOLDED);
			return val;
		}
	}
	count_drop(CCPROXY_DROP_MAP_FULL);
	return NULL;
}

/*
 * Sums saturate at U64_MAX instead of wrapping: a counter must never go down. Below 2^63 a
 * plain atomic add cannot wrap, as each addend is at most 2^50 (CCPROXY_*_MAX) and it would
 * take 8192 adds racing between the load and the add to reach 2^64. Above, a compare-and-swap
 * clips at the maximum; a clipped (or, under contention, lost) add counts as saturated.
 */
#define SAT_FROM  (1ULL << 63)
#define SAT_TRIES 8

static __always_inline void add_sat_slow(__u64 *sum, __u64 cur, __u64 v)
{
	__u64 next, seen;
	int i;

	for (i = 0; i < SAT_TRIES; i++) {
		next = cur + v < cur ? ~0ULL : cur + v;
		seen = __sync_val_compare_and_swap(sum, cur, next);
		if (seen == cur) {
			if (next == ~0ULL && cur + v != next)
				count_drop(CCPROXY_DROP_SATURATED);
			return;
		}
		cur = seen;
	}
	count_drop(CCPROXY_DROP_SATURATED);
}

static __always_inline void add_sat(__u64 *sum, __u64 v)
{
	__u64 cur = *(volatile __u64 *)sum;

	if (cur < SAT_FROM)
		__sync_fetch_and_add(sum, v);
	else
		add_sat_slow(sum, cur, v);
}

/*
 * Non-cumulative buckets: slot i counts bounds[i-1] < v <= bounds[i], slot n is +Inf. max is
 * the capacity of bounds, a constant: it bounds the loop and the index for the verifier.
 */
static __always_inline void observe_in(__u64 *buckets, __u64 *sum, const volatile __u64 *bounds,
				       __u32 n, __u32 max, __u64 v)
{
	__u32 i;

	for (i = 0; i < max; i++) {
		if (i >= n || v <= bounds[i])
			break;
	}
	if (i > max)
		return; /* unreachable */
	__sync_fetch_and_add(&buckets[i], 1);
	add_sat(sum, v);
}

#define observe(buckets, sum, bounds, n, v) \
	observe_in(buckets, sum, bounds, n, CCPROXY_MAX_BUCKETS, v)

static const __u64 one_u64 = 1;

/*
 * Adds one to a native bucket; false if the map had no room for it. A global function: the
 * verifier checks it once, and its key lives on its own stack frame.
 */
__noinline int nh_count(__u64 series, __u32 tgid, __u32 hist, __u64 ns)
{
	struct ccproxy_nh_key k = {.series = series, .tgid = tgid, .hist = (__u16)hist};
	__u64 *c;

	k.slot = nh_slot(ns);
	c = bpf_map_lookup_elem(&native, &k);
	if (!c) {
		if (!bpf_map_update_elem(&native, &k, &one_u64, BPF_NOEXIST))
			return 1;
		c = bpf_map_lookup_elem(&native, &k); /* a racing first count made it */
		if (!c)
			return 0;
	}
	__sync_fetch_and_add(c, 1);
	return 1;
}

/* The entry's series id, given out now if it has none; 0 only if none could be. */
static __always_inline __u64 series_of(__u64 *series)
{
	__u64 id = *(volatile __u64 *)series, *last, seen;
	__u32 zero = 0;

	if (id)
		return id;
	last = bpf_map_lookup_elem(&series_ids, &zero);
	if (!last)
		return 0;
	id = __sync_fetch_and_add(last, 1) + 1;
	/* Racing first observations: the first to store wins; the others' ids go unused. */
	seen = __sync_val_compare_and_swap(series, 0, id);
	return seen ? seen : id;
}

/*
 * Observes ns into a native histogram, or counts it in *lost (the series goes classic).
 * series: the entry's id field, given out here on first use; NULL: the pool's one series, 0.
 * Without native histograms nothing happens, and no id is given out.
 */
static __always_inline void nh_observe(__u64 *series, __u32 tgid, __u32 hist, __u64 *lost, __u64 ns)
{
	__u64 id = 0;

	if (!nh_enabled)
		return;
	if (series && !(id = series_of(series)))
		goto lost;
	if (nh_count(id, tgid, hist, ns))
		return;
lost:
	__sync_fetch_and_add(lost, 1);
	count_drop(CCPROXY_DROP_NATIVE_FULL);
}

static __always_inline __u32 key_tgid(__u32 tgid)
{
	return per_process ? tgid : 0;
}

/* Whether an event's usage is believable: every value within its CCPROXY_*_MAX. */
static __always_inline bool usage_ok(const struct ccproxy_usage *u)
{
	int t;

	for (t = 0; t < CCPROXY_TOKEN_TYPES; t++) {
		if (u->tokens[t] > CCPROXY_TOKENS_MAX)
			return false;
	}
	return u->cost_nusd <= CCPROXY_COST_NUSD_MAX;
}

/* usage_ok, counting the event as invalid if not. */
static __always_inline bool usage_valid(const struct ccproxy_usage *u)
{
	if (usage_ok(u))
		return true;
	count_drop(CCPROXY_DROP_INVALID);
	return false;
}

static __always_inline bool usage_counts(const struct ccproxy_usage *u)
{
	bool any = collect_cost && u->cost_nusd;
	int t;

	for (t = 0; t < CCPROXY_TOKEN_TYPES; t++)
		any |= collect_token && u->tokens[t];
	return any;
}

static __always_inline void add_usage(struct ccproxy_usage *to, const struct ccproxy_usage *u)
{
	int t;

	for (t = 0; t < CCPROXY_TOKEN_TYPES; t++) {
		if (collect_token && u->tokens[t])
			add_sat(&to->tokens[t], u->tokens[t]);
	}
	if (collect_cost && u->cost_nusd)
		add_sat(&to->cost_nusd, u->cost_nusd);
}

static __always_inline void add_usage_to_map(struct ccproxy_usage_key *uk,
					     const struct ccproxy_usage *u)
{
	struct ccproxy_usage_val *val = upsert(&usage, uk, &zero_usage, &overflow_usage,
					       CREATED_OFF(struct ccproxy_usage_val));

	if (val)
		add_usage(&val->usage, u);
}

/* Usage into the usage map. uk: model and service_type filled in, tgid and flags zero. */
static __always_inline void record_usage(const struct ccproxy_usage *u,
					 struct ccproxy_usage_key *uk, __u32 tgid)
{
	if (!usage_counts(u) || !usage_valid(u))
		return;
	uk->tgid = key_tgid(tgid);
	add_usage_to_map(uk, u);
}

/*
 * A completion's usage, already checked. The first one of a requests entry takes the entry's
 * usage key a place in the usage map, so --limits.usage bounds the usage series however they
 * are reported; from then on the entry holds the usage itself and this costs one branch.
 * Entries whose usage key found the map full, and the overflow entry (whose completions are
 * of many models), send their usage through the usage map, where it folds if it must.
 */
static __always_inline void count_usage(struct ccproxy_req_val *val, struct ccproxy_req_key *rk,
					const struct ccproxy_usage *u)
{
	/* rk ends in a usage key (ccproxy.h): same model, service_type and tgid, flags zero. */
	struct ccproxy_usage_key *uk = (struct ccproxy_usage_key *)rk->labels.model;
	__u32 to = *(volatile __u32 *)&val->usage_to;
	long err;

	if (to == CCPROXY_USAGE_UNDECIDED) {
		err = bpf_map_update_elem(&usage, uk, &zero_usage, BPF_NOEXIST);
		/* Once per requests entry: the lookup costs nothing per completion. */
		if (!err)
			stamp_created(bpf_map_lookup_elem(&usage, uk),
				      CREATED_OFF(struct ccproxy_usage_val));
		to = !err || err == -EEXIST ? CCPROXY_USAGE_HERE : CCPROXY_USAGE_VIA_MAP;
		val->usage_to = to;
	}
	if (to == CCPROXY_USAGE_HERE)
		add_usage(&val->usage, u);
	else
		add_usage_to_map(uk, u);
}

/* Takes one of the process's inflight places; false (and counted) if it holds its share. */
static __always_inline bool take_inflight(__u32 tgid)
{
	__s64 *held = bpf_map_lookup_elem(&inflight_procs, &tgid);

	if (!held) {
		bpf_map_update_elem(&inflight_procs, &tgid, &zero_u64, BPF_NOEXIST);
		held = bpf_map_lookup_elem(&inflight_procs, &tgid);
		if (!held) {
			count_drop(CCPROXY_DROP_INFLIGHT_FULL);
			return false;
		}
	}
	if (__sync_fetch_and_add(held, 1) < (__s64)inflight_per_process)
		return true;
	__sync_fetch_and_add(held, -1);
	count_drop(CCPROXY_DROP_INFLIGHT_PROCESS);
	return false;
}

static __always_inline void give_inflight(__u32 tgid)
{
	__s64 *held = bpf_map_lookup_elem(&inflight_procs, &tgid);

	if (held)
		__sync_fetch_and_add(held, -1);
}

/*
 * Forgets a request whose entry its end has read. A chunk that races with the end is lost
 * with the request it belongs to.
 */
static __always_inline void forget_inflight(__u32 tgid, __u64 request_id)
{
	struct ccproxy_inflight_key ik = {.tgid = tgid, .request_id = request_id};

	/* Only the end that removed the entry gives its place back. */
	if (!bpf_map_delete_elem(&inflight, &ik))
		give_inflight(tgid);
}

/* Remembers a request's start within the process's share of the map. */
static __always_inline void start_inflight(__u32 tgid, __u64 request_id)
{
	struct ccproxy_inflight_key ik = {.tgid = tgid, .request_id = request_id};
	struct ccproxy_inflight_val v = {.start_ns = bpf_ktime_get_ns()};
	long err;

	if (!take_inflight(tgid))
		return;
	err = bpf_map_update_elem(&inflight, &ik, &v, BPF_NOEXIST);
	if (!err)
		return;
	/* A second start of the same id restarts its clock and holds no second place. */
	give_inflight(tgid);
	if (err == -EEXIST)
		bpf_map_update_elem(&inflight, &ik, &v, BPF_EXIST);
	else
		count_drop(CCPROXY_DROP_INFLIGHT_FULL);
}

/* The in-flight entry of the event's request, for the provider probes to write into. */
static __always_inline struct ccproxy_inflight_val *inflight_of(__u32 tgid, __u64 request_id)
{
	struct ccproxy_inflight_key ik = {.tgid = tgid, .request_id = request_id};

	return bpf_map_lookup_elem(&inflight, &ik);
}

/* Lowers *at to now unless it holds an earlier time: the earliest of racing writers wins. */
#define MIN_TRIES 4
static __always_inline void keep_earliest(__u64 *at, __u64 now)
{
	__u64 cur = *(volatile __u64 *)at, seen;
	int i;

	for (i = 0; i < MIN_TRIES; i++) {
		if (cur && cur <= now)
			return;
		seen = __sync_val_compare_and_swap(at, cur, now);
		if (seen == cur)
			return;
		cur = seen;
	}
}

/* What one request adds to the latency families; computed at its end from its entry. */
struct latency_obs {
	__u64 ns[CCPROXY_LATENCIES];
	__u8 has[CCPROXY_LATENCIES];
	__u64 chunks, bytes;
};

/*
 * seen: the request's in-flight entry; duration: the request's duration if timed, else 0;
 * output: output tokens of request_complete's usage (0: none), used when the stream end
 * reported none. complete: request_complete (request_fail keeps only what had happened by
 * then: TTFT and chunks; the rest needs an end).
 */
static __always_inline void latency_of(const struct ccproxy_inflight_val *seen, __u64 duration,
				       __u64 output, bool complete, struct latency_obs *o)
{
	__u64 end, provider;

	*o = (struct latency_obs){.chunks = seen->chunks, .bytes = seen->bytes};
	if (seen->first_chunk_ns && seen->first_chunk_ns >= seen->start_ns) {
		o->ns[CCPROXY_LAT_TTFT] = seen->first_chunk_ns - seen->start_ns;
		o->has[CCPROXY_LAT_TTFT] = 1;
	}
	if (!complete)
		return;
	end = seen->streamed ? seen->end_ns : seen->received_ns;
	if (seen->sent_ns && end >= seen->sent_ns) {
		provider = end - seen->sent_ns;
		o->ns[CCPROXY_LAT_PROVIDER] = provider;
		o->has[CCPROXY_LAT_PROVIDER] = 1;
		if (duration) {
			o->ns[CCPROXY_LAT_OVERHEAD] = duration > provider ? duration - provider : 0;
			o->has[CCPROXY_LAT_OVERHEAD] = 1;
		}
	}
	if (seen->output_tokens)
		output = seen->output_tokens;
	if (seen->streamed && seen->end_ns && seen->first_chunk_ns &&
	    seen->end_ns >= seen->first_chunk_ns && output >= 2) {
		o->ns[CCPROXY_LAT_TPOT] = (seen->end_ns - seen->first_chunk_ns) / (output - 1);
		o->has[CCPROXY_LAT_TPOT] = 1;
	}
}

static __always_inline void count_latency(struct ccproxy_req_val *val, __u32 tgid,
					  const struct latency_obs *o)
{
	int h;

	if (o->chunks)
		add_sat(&val->stream_chunks, o->chunks);
	if (o->bytes)
		add_sat(&val->stream_bytes, o->bytes);
	for (h = 0; h < CCPROXY_LATENCIES; h++) {
		if (!o->has[h])
			continue;
		if (o->ns[h] > CCPROXY_DURATION_NS_MAX) {
			count_drop(CCPROXY_DROP_INVALID);
			continue;
		}
		observe_in(val->lat[h].buckets, &val->lat[h].sum_ns, lat_bucket_ns[h],
			   lat_nbuckets[h], CCPROXY_LATENCY_BUCKETS, o->ns[h]);
		nh_observe(&val->series, tgid, CCPROXY_NH_LATENCY + h, &val->lat[h].nh_lost,
			   o->ns[h]);
	}
}

/* u: the completion's usage, already checked, or NULL; lat: the request's latencies or NULL. */
static __always_inline void count_request(struct ccproxy_req_key *rk, __u64 duration_ns, bool timed,
					  const struct ccproxy_usage *u,
					  const struct latency_obs *lat)
{
	struct ccproxy_req_val *val;

	val = upsert(&requests, rk, &zero_req, &overflow_req, CREATED_OFF(struct ccproxy_req_val));
	if (!val)
		return;
	__sync_fetch_and_add(&val->requests, 1);
	if (timed) {
		observe(val->buckets, &val->dur_sum_ns, bucket_ns, nbuckets, duration_ns);
		nh_observe(&val->series, rk->tgid, CCPROXY_NH_RESPONSE, &val->nh_lost, duration_ns);
	}
	if (u)
		count_usage(val, rk, u);
	if (lat)
		count_latency(val, rk->tgid, lat);
}

static __always_inline void count_error(struct ccproxy_error_key *ek)
{
	struct ccproxy_count_val *val = upsert(&errors, ek, &zero_count, &overflow_error,
					       CREATED_OFF(struct ccproxy_count_val));

	if (val)
		__sync_fetch_and_add(&val->count, 1);
}

SEC("usdt")
int BPF_USDT(request_start, const void *uev)
{
	struct {
		struct ccproxy_hdr hdr;
		__u64 request_id;
	} head;
	__u32 tgid;

	if (!accept(CCPROXY_PROBE_request_start, &tgid) || !collect_request)
		return 0;
	if (!read_event(&head, sizeof(head), uev, sizeof(struct ccproxy_event)))
		return 0;
	start_inflight(tgid, head.request_id);
	return 0;
}

/*
 * struct ccproxy_event up to the end of its labels, read in one go: from `status` on, the
 * event is laid out as the start of struct ccproxy_req_key, so the key needs no copying.
 */
struct complete_read {
	struct ccproxy_hdr hdr;
	__u64 request_id;
	__u64 duration_ns;
	__u64 bytes;
	struct ccproxy_usage usage;
	struct ccproxy_req_key rk; /* status, reserved, labels; then tgid and flags, set here */
};
_Static_assert(__builtin_offsetof(struct complete_read, rk) ==
		       __builtin_offsetof(struct ccproxy_event, status),
	       "the key starts where the event's status does");
_Static_assert(__builtin_offsetof(struct complete_read, rk.labels) ==
		       __builtin_offsetof(struct ccproxy_event, labels),
	       "the key's labels are the event's");

#define COMPLETE_READ_LEN __builtin_offsetof(struct complete_read, rk.tgid)

SEC("usdt")
int BPF_USDT(request_complete, const struct ccproxy_event *uev)
{
	/* Not zeroed: the read fills (or, failing, zeroes) all of it but tgid and flags. */
	struct complete_read ev;
	struct ccproxy_req_key *rk = &ev.rk;
	struct ccproxy_inflight_val *seen;
	struct latency_obs lat;
	__u64 started, duration;
	bool timed, usage, latency;
	__u32 tgid;

	if (!accept(CCPROXY_PROBE_request_complete, &tgid))
		return 0;
	if (!read_event(&ev, COMPLETE_READ_LEN, uev, sizeof(struct ccproxy_event)))
		return 0;
	rk->pad = 0; /* the event's reserved field: not part of the series */
	rk->flags = 0;
	if (!collect_request) {
		/* rk ends in a usage key (ccproxy.h): same model and service_type, flags zero. */
		record_usage(&ev.usage, (struct ccproxy_usage_key *)rk->labels.model, tgid);
		return 0;
	}
	seen = inflight_of(tgid, ev.request_id);
	started = seen ? seen->start_ns : 0;
	duration = ev.duration_ns;
	if (!duration && started)
		duration = bpf_ktime_get_ns() - started;
	if (!duration && !started)
		count_drop(CCPROXY_DROP_UNPAIRED);
	timed = duration && duration <= CCPROXY_DURATION_NS_MAX;
	if (duration > CCPROXY_DURATION_NS_MAX)
		count_drop(CCPROXY_DROP_INVALID);
	usage = usage_counts(&ev.usage) && usage_valid(&ev.usage);
	/* Read before the entry goes; a request never started costs nothing more. */
	latency = collect_latency && seen;
	if (latency)
		latency_of(seen, timed ? duration : 0,
			   usage_ok(&ev.usage) ? ev.usage.tokens[CCPROXY_TOKENS_OUTPUT] : 0, true,
			   &lat);
	if (seen)
		forget_inflight(tgid, ev.request_id);
	rk->tgid = key_tgid(tgid);
	count_request(rk, duration, timed, usage ? &ev.usage : NULL, latency ? &lat : NULL);
	return 0;
}

SEC("usdt")
int BPF_USDT(request_fail, const struct ccproxy_event *uev)
{
	union {
		struct ccproxy_req_key rk;
		struct ccproxy_error_key ek;
	} k = {};
	struct {
		struct ccproxy_hdr hdr;
		__u64 request_id;
	} head;
	struct ccproxy_inflight_val *seen;
	struct latency_obs lat;
	bool latency = false;
	__u32 tgid;

	if (!accept(CCPROXY_PROBE_request_fail, &tgid))
		return 0;
	if (!read_event(&head, sizeof(head), uev, sizeof(struct ccproxy_event)))
		return 0;
	if (collect_request) {
		seen = inflight_of(tgid, head.request_id);
		if (seen) {
			latency = collect_latency;
			if (latency)
				latency_of(seen, 0, 0, false, &lat);
			forget_inflight(tgid, head.request_id);
		}
		if (bpf_probe_read_user(&k.rk.labels, sizeof(k.rk.labels), &uev->labels))
			goto fault;
		k.rk.tgid = key_tgid(tgid);
		k.rk.status = 0; /* status="error" */
		count_request(&k.rk, 0, false, NULL, latency ? &lat : NULL);
	}
	if (collect_error) {
		/* The same stack slot, reused: request_fail alone would exceed 512 bytes. */
		__builtin_memset(&k, 0, sizeof(k));
		if (bpf_probe_read_user(&k.ek.labels, sizeof(k.ek.labels), &uev->labels) ||
		    bpf_probe_read_user(k.ek.error_type, sizeof(k.ek.error_type), uev->error_type))
			goto fault;
		__builtin_memset(k.ek.labels.method, 0, sizeof(k.ek.labels.method));
		k.ek.tgid = key_tgid(tgid);
		count_error(&k.ek);
	}
	return 0;
fault:
	count_drop(CCPROXY_DROP_READ_FAULT);
	return 0;
}

SEC("usdt")
int BPF_USDT(provider_error, const struct ccproxy_event *uev)
{
	struct ccproxy_error_key ek = {};
	struct ccproxy_hdr hdr;
	__u32 tgid;

	if (!accept(CCPROXY_PROBE_provider_error, &tgid) || !collect_error)
		return 0;
	if (!read_event(&hdr, sizeof(hdr), uev, sizeof(struct ccproxy_event)))
		return 0;
	if (bpf_probe_read_user(&ek.labels, sizeof(ek.labels), &uev->labels) ||
	    bpf_probe_read_user(ek.error_type, sizeof(ek.error_type), uev->error_type)) {
		count_drop(CCPROXY_DROP_READ_FAULT);
		return 0;
	}
	__builtin_memset(ek.labels.method, 0, sizeof(ek.labels.method));
	/* ccproxy's default for a provider error; an empty endpoint elsewhere reads "unknown". */
	if (!ek.labels.endpoint[0])
		ek.labels.endpoint[0] = '/';
	ek.tgid = key_tgid(tgid);
	count_error(&ek);
	return 0;
}

/* The stream's end, and the output tokens its usage reports (0 if none or corrupt). */
static __always_inline void end_stream(__u32 tgid, const struct event_head *h)
{
	struct ccproxy_inflight_val *v = inflight_of(tgid, h->request_id);

	if (!v)
		return;
	v->end_ns = bpf_ktime_get_ns();
	v->streamed = 1;
	if (usage_ok(&h->usage))
		v->output_tokens = h->usage.tokens[CCPROXY_TOKENS_OUTPUT];
}

SEC("usdt")
int BPF_USDT(provider_stream_end, const struct ccproxy_event *uev)
{
	struct ccproxy_usage_key uk = {};
	struct event_head h;
	__u32 tgid;

	if (!accept(CCPROXY_PROBE_provider_stream_end, &tgid))
		return 0;
	if (!read_event(&h, sizeof(h), uev, sizeof(struct ccproxy_event)))
		return 0;
	if (collect_latency)
		end_stream(tgid, &h);
	/* model and service_type are adjacent in the event as in the key: one read. */
	if (bpf_probe_read_user(&uk, sizeof(uk.model) + sizeof(uk.service_type),
				uev->labels.model)) {
		count_drop(CCPROXY_DROP_READ_FAULT);
		return 0;
	}
	record_usage(&h.usage, &uk, tgid);
	return 0;
}

/* The head of a provider event: which request it belongs to, and its bytes. */
struct provider_head {
	struct ccproxy_hdr hdr;
	__u64 request_id;
	__u64 duration_ns;
	__u64 bytes;
};

/* The in-flight entry of a provider event's request, or NULL (not tracked, not counted). */
static __always_inline struct ccproxy_inflight_val *
provider_entry(enum ccproxy_probe_id id, const void *uev, struct provider_head *h)
{
	__u32 tgid;

	if (!accept(id, &tgid) || !collect_latency)
		return NULL;
	if (!read_event(h, sizeof(*h), uev, sizeof(struct ccproxy_event)))
		return NULL;
	return inflight_of(tgid, h->request_id);
}

SEC("usdt")
int BPF_USDT(provider_request_sent, const void *uev)
{
	struct provider_head h;
	struct ccproxy_inflight_val *v;

	v = provider_entry(CCPROXY_PROBE_provider_request_sent, uev, &h);
	/* The first send: retries after a 429 are the provider's time too. */
	if (v && !v->sent_ns)
		__sync_val_compare_and_swap(&v->sent_ns, 0, bpf_ktime_get_ns());
	return 0;
}

SEC("usdt")
int BPF_USDT(provider_stream_start, const void *uev)
{
	struct provider_head h;
	struct ccproxy_inflight_val *v;

	v = provider_entry(CCPROXY_PROBE_provider_stream_start, uev, &h);
	if (v)
		v->streamed = 1;
	return 0;
}

SEC("usdt")
int BPF_USDT(provider_stream_chunk, const void *uev)
{
	struct provider_head h;
	struct ccproxy_inflight_val *v;

	v = provider_entry(CCPROXY_PROBE_provider_stream_chunk, uev, &h);
	if (!v)
		return 0;
	/* Chunks of one request may come from several threads at once. */
	__sync_fetch_and_add(&v->chunks, 1);
	if (h.bytes)
		add_sat(&v->bytes, h.bytes);
	keep_earliest(&v->first_chunk_ns, bpf_ktime_get_ns());
	if (!v->streamed)
		v->streamed = 1;
	return 0;
}

/* provider_responses_total, by the event's model, service_type and status. */
static __always_inline void count_provider_status(__u32 tgid, const struct ccproxy_event *uev,
						  __u32 status)
{
	struct ccproxy_provider_key pk = {.status = status};
	struct ccproxy_count_val *val;

	/* model and service_type are adjacent in the event as in the key: one read. */
	if (bpf_probe_read_user(&pk.uk, sizeof(pk.uk.model) + sizeof(pk.uk.service_type),
				uev->labels.model)) {
		count_drop(CCPROXY_DROP_READ_FAULT);
		return;
	}
	pk.uk.tgid = key_tgid(tgid);
	val = upsert(&provider, &pk, &zero_count, &overflow_provider,
		     CREATED_OFF(struct ccproxy_count_val));
	if (val)
		__sync_fetch_and_add(&val->count, 1);
}

SEC("usdt")
int BPF_USDT(provider_response_received, const struct ccproxy_event *uev)
{
	struct ccproxy_inflight_val *v;
	struct event_head h;
	__u32 tgid;

	if (!accept(CCPROXY_PROBE_provider_response_received, &tgid) || !collect_latency)
		return 0;
	if (!read_event(&h, sizeof(h), uev, sizeof(struct ccproxy_event)))
		return 0;
	v = inflight_of(tgid, h.request_id);
	/* The last response: the one the request got. */
	if (v)
		v->received_ns = bpf_ktime_get_ns();
	count_provider_status(tgid, uev, h.status);
	return 0;
}

static __always_inline struct ccproxy_pool_val *pool_of(__u32 tgid)
{
	__u32 key = key_tgid(tgid);

	return upsert(&pool, &key, &zero_pool, NULL, CREATED_OFF(struct ccproxy_pool_val));
}

SEC("usdt")
int BPF_USDT(pool_acquire, const struct ccproxy_pool_event *uev)
{
	struct {
		struct ccproxy_hdr hdr;
		__u64 wait_ns;
	} head;
	struct ccproxy_pool_val *val;
	__u32 tgid;

	if (!accept(CCPROXY_PROBE_pool_acquire, &tgid) || !collect_pool)
		return 0;
	if (!read_event(&head, sizeof(head), uev, sizeof(struct ccproxy_pool_event)))
		return 0;
	val = pool_of(tgid);
	if (!val)
		return 0;
	__sync_fetch_and_add(&val->counters[CCPROXY_POOL_ACQUISITIONS], 1);
	if (head.wait_ns > CCPROXY_DURATION_NS_MAX) {
		count_drop(CCPROXY_DROP_INVALID);
		return 0;
	}
	observe(val->buckets, &val->wait_sum_ns, pool_bucket_ns, CCPROXY_POOL_BUCKETS,
		head.wait_ns);
	/* Summed over processes, and never collected: one series, tgid 0. */
	nh_observe(NULL, 0, CCPROXY_NH_POOL, &val->nh_lost, head.wait_ns);
	return 0;
}

/* Pool counters: the argument is not read in ABI version 1. */
#define POOL_COUNTER(name, counter)                                        \
	SEC("usdt") int BPF_USDT(name)                                     \
	{                                                                  \
		struct ccproxy_pool_val *val;                              \
		__u32 tgid;                                                \
                                                                           \
		if (!accept(CCPROXY_PROBE_##name, &tgid) || !collect_pool) \
			return 0;                                          \
		val = pool_of(tgid);                                       \
		if (val)                                                   \
			__sync_fetch_and_add(&val->counters[counter], 1);  \
		return 0;                                                  \
	}
POOL_COUNTER(pool_release, CCPROXY_POOL_RELEASES)
POOL_COUNTER(pool_connection_created, CCPROXY_POOL_CREATED)
POOL_COUNTER(pool_connection_closed, CCPROXY_POOL_CLOSED)
POOL_COUNTER(pool_health_check_failed, CCPROXY_POOL_HEALTH_FAILURES)

/*
 * Per-process state is replaced whole (a hash update swaps the element), so a reader never
 * sees half of one pool_gauges event. Two writers of one process race as last-writer-wins.
 */
static __always_inline void update_proc(__u32 tgid, struct ccproxy_proc_val *next)
{
	if (bpf_map_update_elem(&procs, &tgid, next, BPF_ANY))
		count_drop(CCPROXY_DROP_MAP_FULL);
}

static __always_inline void load_proc(__u32 tgid, struct ccproxy_proc_val *into)
{
	struct ccproxy_proc_val *cur = bpf_map_lookup_elem(&procs, &tgid);

	if (cur)
		__builtin_memcpy(into, cur, sizeof(*into));
}

SEC("usdt")
int BPF_USDT(pool_gauges, const struct ccproxy_pool_event *uev)
{
	struct ccproxy_proc_val next = {};
	struct ccproxy_pool_event ev;
	__u32 tgid;

	if (!accept(CCPROXY_PROBE_pool_gauges, &tgid) || !collect_pool)
		return 0;
	if (!read_event(&ev, sizeof(ev), uev, sizeof(ev)))
		return 0;
	load_proc(tgid, &next);
	next.flags |= CCPROXY_PROC_HAS_GAUGES;
	next.clients_total = ev.clients_total;
	next.clients_available = ev.clients_available;
	next.clients_active = ev.clients_active;
	update_proc(tgid, &next);
	return 0;
}

SEC("usdt")
int BPF_USDT(info, const struct ccproxy_info_event *uev)
{
	struct ccproxy_proc_val next = {};
	struct ccproxy_info_event ev;
	__u32 tgid;

	if (!accept(CCPROXY_PROBE_info, &tgid))
		return 0;
	if (!read_event(&ev, sizeof(ev), uev, sizeof(ev)))
		return 0;
	load_proc(tgid, &next);
	next.flags |= CCPROXY_PROC_HAS_VERSION;
	__builtin_memcpy(next.version, ev.version, sizeof(next.version));
	update_proc(tgid, &next);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
