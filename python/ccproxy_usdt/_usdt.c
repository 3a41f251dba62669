// SPDX-License-Identifier: BSD-2-Clause
/*
 * ccproxy_usdt._usdt: the ccproxy USDT probes (include/ccproxy/probes.h) as Python functions.
 *
 * Every probe function tests its semaphore before it looks at a single argument: while no
 * tracer is attached a call costs the interpreter's call overhead plus one load and branch.
 * Arguments are converted, validated and copied into the event struct only while a tracer
 * listens; that is why a wrong argument raises only then (documented in the module docstring).
 *
 * Each probe gets its own function, hence its own DTRACE_PROBE1 site: the site's note carries
 * the probe name and its semaphore address, which is what a tracer attaches to.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stddef.h>
#include <stdint.h>

#define CCPROXY_PROBES_DEFINE
#include <ccproxy/probes.h>

#define USDT_MAX_FIELDS 16

enum usdt_kind {
	USDT_ID,  /* u64 request id: int, or str/bytes hashed with FNV-1a 64 */
	USDT_U64, /* int in 0 .. 2^64 - 1 */
	USDT_U32, /* int in 0 .. 2^32 - 1 */
	USDT_STR, /* str (UTF-8, errors replaced), bytes, or None (empty) */
};

struct usdt_field {
	const char *name;
	unsigned char kind;
	unsigned char required;
	unsigned short off;
	unsigned short size; /* USDT_STR: the array's size */
};

struct usdt_sig {
	const char *fname;
	int nfields;
	const struct usdt_field *fields;
};

#define EV_FIELD(name, kind, req, member)                                \
	{                                                                \
		name, kind, req, offsetof(struct ccproxy_event, member), \
			sizeof(((struct ccproxy_event *)0)->member)      \
	}
#define POOL_FIELD(name, kind, req, member)                                   \
	{                                                                     \
		name, kind, req, offsetof(struct ccproxy_pool_event, member), \
			sizeof(((struct ccproxy_pool_event *)0)->member)      \
	}

#define F_ID	       EV_FIELD("request_id", USDT_ID, 1, request_id)
#define F_METHOD       EV_FIELD("method", USDT_STR, 0, labels.method)
#define F_ENDPOINT     EV_FIELD("endpoint", USDT_STR, 0, labels.endpoint)
#define F_MODEL	       EV_FIELD("model", USDT_STR, 0, labels.model)
#define F_SERVICE      EV_FIELD("service_type", USDT_STR, 0, labels.service_type)
#define F_ERROR(req)   EV_FIELD("error_type", USDT_STR, req, error_type)
#define F_STATUS(req)  EV_FIELD("status", USDT_U32, req, status)
#define F_DURATION     EV_FIELD("duration_ns", USDT_U64, 0, duration_ns)
#define F_BYTES	       EV_FIELD("bytes", USDT_U64, 0, bytes)
#define F_TOK(name, t) EV_FIELD(name, USDT_U64, 0, usage.tokens[t])
#define F_USAGE                                                          \
	F_TOK("input_tokens", CCPROXY_TOKENS_INPUT),                     \
		F_TOK("output_tokens", CCPROXY_TOKENS_OUTPUT),           \
		F_TOK("cache_read_tokens", CCPROXY_TOKENS_CACHE_READ),   \
		F_TOK("cache_write_tokens", CCPROXY_TOKENS_CACHE_WRITE), \
		EV_FIELD("cost_nusd", USDT_U64, 0, usage.cost_nusd)

static const struct usdt_field request_start_f[] = {
	F_ID, F_METHOD, F_ENDPOINT, F_MODEL, F_SERVICE,
};
static const struct usdt_field request_complete_f[] = {
	F_ID, F_STATUS(1), F_METHOD, F_ENDPOINT, F_MODEL, F_SERVICE, F_DURATION, F_USAGE,
};
static const struct usdt_field request_fail_f[] = {
	F_ID, F_ERROR(0), F_METHOD, F_ENDPOINT, F_MODEL, F_SERVICE,
};
static const struct usdt_field provider_request_sent_f[] = {
	F_ID,
	F_MODEL,
	F_SERVICE,
	F_ENDPOINT,
};
static const struct usdt_field provider_response_received_f[] = {
	F_ID, F_STATUS(0), F_MODEL, F_SERVICE, F_ENDPOINT,
};
static const struct usdt_field provider_error_f[] = {
	F_ID, F_ERROR(0), F_MODEL, F_SERVICE, F_ENDPOINT,
};
static const struct usdt_field provider_stream_start_f[] = {
	F_ID,
	F_MODEL,
	F_SERVICE,
	F_ENDPOINT,
};
static const struct usdt_field provider_stream_chunk_f[] = {
	F_ID, F_BYTES, F_MODEL, F_SERVICE, F_ENDPOINT,
};
static const struct usdt_field provider_stream_end_f[] = {
	F_ID, F_MODEL, F_SERVICE, F_USAGE, F_ENDPOINT,
};
static const struct usdt_field pool_acquire_f[] = {
	POOL_FIELD("wait_ns", USDT_U64, 0, wait_ns),
};
static const struct usdt_field pool_gauges_f[] = {
	POOL_FIELD("total", USDT_U32, 1, clients_total),
	POOL_FIELD("available", USDT_U32, 1, clients_available),
	POOL_FIELD("active", USDT_U32, 1, clients_active),
};
static const struct usdt_field info_f[] = {
	{"version", USDT_STR, 1, offsetof(struct ccproxy_info_event, version),
	 sizeof(((struct ccproxy_info_event *)0)->version)},
};
/* GNU C empty arrays: these probes take no argument. */
static const struct usdt_field pool_release_f[] = {};
static const struct usdt_field pool_connection_created_f[] = {};
static const struct usdt_field pool_connection_closed_f[] = {};
static const struct usdt_field pool_health_check_failed_f[] = {};

#define NFIELDS(f) ((int)(sizeof(f) / sizeof(struct usdt_field)))

/* FNV-1a 64: the same id for the same string in every process and every run. */
static uint64_t usdt__fnv1a(const char *s, Py_ssize_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (Py_ssize_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* Borrow the UTF-8 bytes of a str or bytes; *tmp receives a new reference to release. */
static int usdt__bytes_of(PyObject *o, const char *name, const char **s, Py_ssize_t *len,
			  PyObject **tmp)
{
	*tmp = NULL;
	if (PyUnicode_Check(o)) {
		*s = PyUnicode_AsUTF8AndSize(o, len);
		if (*s)
			return 0;
		/* Lone surrogates: a label is better with U+FFFD than a proxy with an exception. */
		PyErr_Clear();
		*tmp = PyUnicode_AsEncodedString(o, "utf-8", "replace");
		if (!*tmp)
			return -1;
		o = *tmp;
	}
	if (PyBytes_Check(o)) {
		*s = PyBytes_AS_STRING(o);
		*len = PyBytes_GET_SIZE(o);
		return 0;
	}
	PyErr_Format(PyExc_TypeError, "%s must be str or bytes, not %.100s", name,
		     Py_TYPE(o)->tp_name);
	return -1;
}

/* Cut to at most `max` bytes without splitting a UTF-8 sequence. */
static Py_ssize_t usdt__utf8_cut(const char *s, Py_ssize_t len, Py_ssize_t max)
{
	if (len <= max)
		return len;
	len = max;
	while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80)
		len--;
	return len;
}

static int usdt__put_str(PyObject *o, const struct usdt_field *f, char *dst)
{
	const char *s;
	Py_ssize_t len;
	PyObject *tmp;

	if (o == Py_None)
		return 0;
	if (usdt__bytes_of(o, f->name, &s, &len, &tmp))
		return -1;
	/* dst is zeroed by the event initialiser: the NUL and the padding are already there. */
	memcpy(dst, s, usdt__utf8_cut(s, len, f->size - 1));
	Py_XDECREF(tmp);
	return 0;
}

static int usdt__get_uint(PyObject *o, const char *name, uint64_t max, uint64_t *out)
{
	long long v;
	int overflow;

	if (!PyLong_Check(o)) {
		PyErr_Format(PyExc_TypeError, "%s must be int, not %.100s", name,
			     Py_TYPE(o)->tp_name);
		return -1;
	}
	v = PyLong_AsLongLongAndOverflow(o, &overflow);
	if (v == -1 && PyErr_Occurred())
		return -1;
	if (overflow > 0) {
		*out = PyLong_AsUnsignedLongLong(o);
		if (PyErr_Occurred()) {
			PyErr_Clear();
			goto range;
		}
	} else if (overflow < 0 || v < 0) {
		goto range;
	} else {
		*out = (uint64_t)v;
	}
	if (*out <= max)
		return 0;
range:
	PyErr_Format(PyExc_ValueError, "%s must be in 0..%llu, got %R", name,
		     (unsigned long long)max, o);
	return -1;
}

static int usdt__put_id(PyObject *o, const struct usdt_field *f, uint64_t *dst)
{
	const char *s;
	Py_ssize_t len;
	PyObject *tmp;

	if (PyLong_Check(o))
		return usdt__get_uint(o, f->name, UINT64_MAX, dst);
	if (!PyUnicode_Check(o) && !PyBytes_Check(o)) {
		PyErr_Format(PyExc_TypeError, "%s must be int, str or bytes, not %.100s", f->name,
			     Py_TYPE(o)->tp_name);
		return -1;
	}
	if (usdt__bytes_of(o, f->name, &s, &len, &tmp))
		return -1;
	*dst = usdt__fnv1a(s, len);
	Py_XDECREF(tmp);
	return 0;
}

static int usdt__put(PyObject *o, const struct usdt_field *f, char *ev)
{
	uint64_t v;

	switch (f->kind) {
	case USDT_ID:
		return usdt__put_id(o, f, (uint64_t *)(ev + f->off));
	case USDT_STR:
		return usdt__put_str(o, f, ev + f->off);
	case USDT_U32:
		if (usdt__get_uint(o, f->name, UINT32_MAX, &v))
			return -1;
		*(uint32_t *)(ev + f->off) = (uint32_t)v;
		return 0;
	default:
		return usdt__get_uint(o, f->name, UINT64_MAX, (uint64_t *)(ev + f->off));
	}
}

static int usdt__find(const struct usdt_sig *sig, PyObject *kw)
{
	/* Keyword names are interned ASCII in practice: a plain strcmp on their bytes is ~10x
	 * cheaper than PyUnicode_CompareWithASCIIString, which dominated an attached call. */
	if (PyUnicode_Check(kw) && PyUnicode_IS_COMPACT_ASCII(kw)) {
		const char *s = (const char *)PyUnicode_DATA(kw);

		for (int i = 0; i < sig->nfields; i++)
			if (!strcmp(s, sig->fields[i].name))
				return i;
	} else {
		for (int i = 0; i < sig->nfields; i++)
			if (PyUnicode_CompareWithASCIIString(kw, sig->fields[i].name) == 0)
				return i;
	}
	PyErr_Format(PyExc_TypeError, "%s() got an unexpected keyword argument %R", sig->fname, kw);
	return -1;
}

/* Match vectorcall arguments to sig's fields, positional then keyword, and fill ev. */
static int usdt__parse(const struct usdt_sig *sig, PyObject *const *args, Py_ssize_t nargs,
		       PyObject *kwnames, void *ev)
{
	PyObject *vals[USDT_MAX_FIELDS] = {NULL};
	Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;

	if (nargs > sig->nfields) {
		PyErr_Format(PyExc_TypeError,
			     "%s() takes at most %d positional arguments (%zd given)", sig->fname,
			     sig->nfields, nargs);
		return -1;
	}
	for (Py_ssize_t i = 0; i < nargs; i++)
		vals[i] = args[i];
	for (Py_ssize_t k = 0; k < nkw; k++) {
		int i = usdt__find(sig, PyTuple_GET_ITEM(kwnames, k));

		if (i < 0)
			return -1;
		if (vals[i]) {
			PyErr_Format(PyExc_TypeError, "%s() got multiple values for argument '%s'",
				     sig->fname, sig->fields[i].name);
			return -1;
		}
		vals[i] = args[nargs + k];
	}
	for (int i = 0; i < sig->nfields; i++) {
		if (!vals[i]) {
			if (!sig->fields[i].required)
				continue;
			PyErr_Format(PyExc_TypeError, "%s() missing required argument '%s'",
				     sig->fname, sig->fields[i].name);
			return -1;
		}
		if (usdt__put(vals[i], &sig->fields[i], ev))
			return -1;
	}
	return 0;
}

static const struct ccproxy_event usdt_event_init = CCPROXY_EVENT_INIT;
static const struct ccproxy_pool_event usdt_pool_event_init = CCPROXY_POOL_EVENT_INIT;
static const struct ccproxy_info_event usdt_info_event_init = CCPROXY_INFO_EVENT_INIT;

/* The initialised event of a probe's argument type ("struct x", as CCPROXY_PROBES names it). */
#define USDT_INIT_OF(type)                                           \
	_Generic((type *)0, struct ccproxy_event *                   \
		 : usdt_event_init, struct ccproxy_pool_event *      \
		 : usdt_pool_event_init, struct ccproxy_info_event * \
		 : usdt_info_event_init)

/*
 * One function per probe. The semaphore test comes first and alone: nothing else runs while
 * detached, and the event's stack frame lives in a separate cold function so that the
 * detached path does not even set it up.
 */
#define USDT_DEFINE_FN(name, type)                                                              \
	static const struct usdt_sig name##_sig = {#name, NFIELDS(name##_f), name##_f};         \
	static __attribute__((noinline, cold))                                                  \
	PyObject *usdt__fire_##name(PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames) \
	{                                                                                       \
		type ev = USDT_INIT_OF(type);                                                   \
		if (usdt__parse(&name##_sig, args, nargs, kwnames, &ev))                        \
			return NULL;                                                            \
		CCPROXY_FIRE(name, &ev);                                                        \
		Py_RETURN_NONE;                                                                 \
	}                                                                                       \
	static PyObject *usdt_##name(PyObject *self, PyObject *const *args, Py_ssize_t nargs,   \
				     PyObject *kwnames)                                         \
	{                                                                                       \
		(void)self;                                                                     \
		if (!CCPROXY_ENABLED(name))                                                     \
			Py_RETURN_NONE;                                                         \
		return usdt__fire_##name(args, nargs, kwnames);                                 \
	}

CCPROXY_PROBES(USDT_DEFINE_FN)

#define USDT_SEM_PTR(name, type) &CCPROXY__SEMAPHORE(name, type),
#define USDT_NAME(name, type)	 #name,
static volatile unsigned short *const usdt_sems[CCPROXY_PROBE_COUNT] = {
	CCPROXY_PROBES(USDT_SEM_PTR)};
static const char *const usdt_names[CCPROXY_PROBE_COUNT] = {CCPROXY_PROBES(USDT_NAME)};

static PyObject *usdt_enabled(PyObject *self, PyObject *name)
{
	const char *s;

	(void)self;
	s = PyUnicode_AsUTF8(name);
	if (!s)
		return NULL;
	for (int i = 0; i < CCPROXY_PROBE_COUNT; i++)
		if (!strcmp(s, usdt_names[i]))
			return PyBool_FromLong(*usdt_sems[i] != 0);
	PyErr_Format(PyExc_ValueError, "unknown probe %R", name);
	return NULL;
}

static unsigned long usdt__mask(void)
{
	unsigned long mask = 0;

	for (int i = 0; i < CCPROXY_PROBE_COUNT; i++)
		if (*usdt_sems[i])
			mask |= 1UL << i;
	return mask;
}

static PyObject *usdt_enabled_mask(PyObject *self, PyObject *unused)
{
	(void)self;
	(void)unused;
	return PyLong_FromUnsignedLong(usdt__mask());
}

static PyObject *usdt_any_enabled(PyObject *self, PyObject *unused)
{
	(void)self;
	(void)unused;
	return PyBool_FromLong(usdt__mask() != 0);
}

static PyObject *usdt_request_id_hash(PyObject *self, PyObject *o)
{
	static const struct usdt_field f = {"request_id", USDT_ID, 1, 0, 8};
	uint64_t id;

	(void)self;
	if (usdt__put_id(o, &f, &id))
		return NULL;
	return PyLong_FromUnsignedLongLong(id);
}

/* The baseline of the benchmark: the same calling convention, no semaphore. */
static PyObject *usdt_noop(PyObject *self, PyObject *const *args, Py_ssize_t nargs,
			   PyObject *kwnames)
{
	(void)self;
	(void)args;
	(void)nargs;
	(void)kwnames;
	Py_RETURN_NONE;
}

#define USDT_METHOD(name, type) \
	{#name, (PyCFunction)(void (*)(void))usdt_##name, METH_FASTCALL | METH_KEYWORDS, NULL},

static PyMethodDef usdt_methods[] = {
	CCPROXY_PROBES(USDT_METHOD){"enabled", usdt_enabled, METH_O,
				    "enabled(name) -> bool: is a tracer attached to probe `name`?"},
	{"enabled_mask", usdt_enabled_mask, METH_NOARGS,
	 "enabled_mask() -> int: bit i set while probe PROBES[i] has a tracer."},
	{"any_enabled", usdt_any_enabled, METH_NOARGS,
	 "any_enabled() -> bool: is a tracer attached to any probe?"},
	{"request_id_hash", usdt_request_id_hash, METH_O,
	 "request_id_hash(id) -> int: the u64 a request_id argument becomes."},
	{"_noop", (PyCFunction)(void (*)(void))usdt_noop, METH_FASTCALL | METH_KEYWORDS,
	 "Does nothing: the benchmark's baseline."},
	{NULL, NULL, 0, NULL},
};

static struct PyModuleDef usdt_module = {
	PyModuleDef_HEAD_INIT,
	.m_name = "ccproxy_usdt._usdt",
	.m_doc = "ccproxy USDT probes; see the ccproxy_usdt package for the documentation.",
	.m_size = 0,
	.m_methods = usdt_methods,
};

static int usdt__add_constants(PyObject *m)
{
	PyObject *names = PyTuple_New(CCPROXY_PROBE_COUNT);

	if (!names)
		return -1;
	for (int i = 0; i < CCPROXY_PROBE_COUNT; i++) {
		PyObject *s = PyUnicode_FromString(usdt_names[i]);

		if (!s) {
			Py_DECREF(names);
			return -1;
		}
		PyTuple_SET_ITEM(names, i, s);
	}
	if (PyModule_AddObject(m, "PROBES", names)) {
		Py_DECREF(names);
		return -1;
	}
	if (PyModule_AddIntConstant(m, "ABI_VERSION", CCPROXY_ABI_VERSION) ||
	    PyModule_AddIntConstant(m, "METHOD_MAX", CCPROXY_METHOD_MAX) ||
	    PyModule_AddIntConstant(m, "ENDPOINT_MAX", CCPROXY_ENDPOINT_MAX) ||
	    PyModule_AddIntConstant(m, "MODEL_MAX", CCPROXY_MODEL_MAX) ||
	    PyModule_AddIntConstant(m, "SERVICE_TYPE_MAX", CCPROXY_SERVICE_TYPE_MAX) ||
	    PyModule_AddIntConstant(m, "ERROR_TYPE_MAX", CCPROXY_ERROR_TYPE_MAX) ||
	    PyModule_AddIntConstant(m, "VERSION_MAX", CCPROXY_VERSION_MAX))
		return -1;
	if (PyModule_AddObject(m, "TOKENS_MAX", PyLong_FromUnsignedLongLong(CCPROXY_TOKENS_MAX)) ||
	    PyModule_AddObject(m, "COST_NUSD_MAX",
			       PyLong_FromUnsignedLongLong(CCPROXY_COST_NUSD_MAX)) ||
	    PyModule_AddObject(m, "DURATION_NS_MAX",
			       PyLong_FromUnsignedLongLong(CCPROXY_DURATION_NS_MAX)))
		return -1;
	return 0;
}

PyMODINIT_FUNC PyInit__usdt(void)
{
	PyObject *m = PyModule_Create(&usdt_module);

	if (!m)
		return NULL;
	if (usdt__add_constants(m)) {
		Py_DECREF(m);
		return NULL;
	}
	return m;
}
