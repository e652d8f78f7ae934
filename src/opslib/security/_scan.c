/* The per-line pass of the access-log analysis, compiled: one scan of a chunk of combined-format
 * lines counts every feature into chunk-local tables, then merges them into the analyzer's
 * per-client state (opslib.security._analysis._Stats) with one update per distinct client,
 * minute, path and key: never a Python statement per line.
 *
 * parse(chunk, since, refused) -> Parsed | None counts a chunk without the GIL (a thread can
 * parse the next chunk while the analyzer merges this one); Parsed.merge(ips, new_ip, judge,
 * key_for, is_tool) -> (lines, first minute, last minute, probe lines) merges it, once.
 *
 * None: a line that is not plain combined format, a stamp that is not a date, or a first line
 * older than `since`; the caller takes the chunk its Python way. The semantics are the
 * reference Analyzer's (tests/security/test_analysis_compiled.py holds the reports equal).
 *
 * v4_mark(marks, ip) is Blocklist.is_blocked's IPv4 step (at the end of this file).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <stdint.h>
#include <string.h>

typedef struct {
    const char *p;
    Py_ssize_t n;
} Slice;

/* ---- growable arrays ------------------------------------------------------------------ */

#define VEC(T)            \
    struct {              \
        T *v;             \
        Py_ssize_t n, cap; \
    }

static int grow(void **v, Py_ssize_t *cap, Py_ssize_t need, size_t size) {
    if (need <= *cap) return 0;
    Py_ssize_t c = *cap ? *cap : 64;
    while (c < need) c *= 2;
    void *nv = PyMem_RawRealloc(*v, (size_t)c * size);
    if (!nv) return -1; /* the caller (holding the GIL) sets MemoryError */
    *v = nv;
    *cap = c;
    return 0;
}
#define PUSH(vec, item) \
    (grow((void **)&(vec).v, &(vec).cap, (vec).n + 1, sizeof(*(vec).v)) ? -1 : ((vec).v[(vec).n++] = (item), 0))

/* ---- hash tables: 8-byte slots (a tag and a record index), the key kept in the record --- */

typedef enum { K_IP, K_BARE, K_VERDICT, K_KEY, K_PAIR, K_AGENT, K_SLOT } Kind;

typedef struct {
    uint32_t tag; /* the hash's high half (never 0); 0: empty */
    int32_t val;  /* the record's index */
} Entry;

typedef struct {
    Entry *e;
    size_t cap, used;
    Kind kind;
} Table;

static inline uint64_t mix(uint64_t h, uint64_t w) {
    h = (h ^ w) * 0x9E3779B97F4A7C15ULL;
    return h ^ (h >> 32);
}

/* Eight bytes at a time: a table key, not a defence against chosen collisions (a chunk is
 * bounded, probing stays linear). Returns the tag: 32 bits, never 0. */
static uint32_t hash_of(int64_t a, int64_t b, Slice s) {
    uint64_t h = mix(mix(0x243F6A8885A308D3ULL ^ (uint64_t)s.n, (uint64_t)a), (uint64_t)b);
    const char *p = s.p;
    Py_ssize_t n = s.n;
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = mix(h, w);
        p += 8;
        n -= 8;
    }
    if (n) {
        uint64_t w = 0;
        memcpy(&w, p, (size_t)n);
        h = mix(h, w);
    }
    h *= 0xD6E8FEB86659FD93ULL;
    uint32_t tag = (uint32_t)(h >> 32);
    return tag ? tag : 1;
}

static size_t pow2_at_least(size_t n) {
    size_t c = 1024;
    while (c < n) c *= 2;
    return c;
}

static int table_init(Table *t, size_t cap, Kind kind) {
    t->e = PyMem_RawCalloc(cap, sizeof(Entry));
    if (!t->e) return -1;
    t->cap = cap;
    t->used = 0;
    t->kind = kind;
    return 0;
}

static void table_free(Table *t) {
    PyMem_RawFree(t->e);
    t->e = NULL;
}

static int table_grow(Table *t) {
    Table n;
    if (table_init(&n, t->cap * 2, t->kind) < 0) return -1;
    for (size_t i = 0; i < t->cap; i++) {
        if (!t->e[i].tag) continue;
        size_t j = t->e[i].tag & (n.cap - 1);
        while (n.e[j].tag) j = (j + 1) & (n.cap - 1);
        n.e[j] = t->e[i];
    }
    n.used = t->used;
    table_free(t);
    *t = n;
    return 0;
}

/* ---- what one chunk holds --------------------------------------------------------------- */

typedef struct {
    Slice ip;
    int64_t first_t;
    int64_t last_ok; /* the last served line's epoch second in the chunk, -1: none */
    int64_t requests, errors, auth;
    /* Its lines mostly repeat the previous one's minute, bare path and agent: those are kept
     * here, and the minute's and agent's counts run here until they change (no look-up, no
     * touch of the shared vectors for most lines). */
    int32_t head;       /* its newest minute entry (the entries chain back through prev), -1 */
    int32_t last_entry; /* the entry of its previous line, -1 */
    int64_t last_t, last_zone, max_t;
    int64_t minute_run;
    Slice last_bare;
    Slice last_agent_s;
    int32_t last_agent;
    int64_t agent_run;
    PyObject *ip_obj;   /* the address as bytes (new reference) */
    PyObject *st;       /* its _Stats (new reference) */
    int32_t slot;
} IpRec;

typedef struct {
    int32_t ip;
    int32_t prev; /* the client's entry made before this one, -1 */
    int64_t t;
    int64_t zone;
    int64_t n;
} MinuteEntry;

typedef struct {
    int32_t ip;
    Slice bare;
} BarePair;

typedef struct {
    int32_t ip;
    Slice agent;
    int64_t n;
} AgentRec;

typedef struct {
    int32_t ip;
    int32_t judged; /* its entry in Chunk.judged */
    Slice path;
    char status[4];
} OddLine;

typedef struct {
    Slice s;
    int plain;
    int verdict;
} Judged;

typedef struct {
    Slice raw;
    int64_t requests, errors, auth;
    PyObject *st; /* new reference, NULL: skipped or not asked yet */
    PyObject *fp;
    int asked;
    int32_t slot;
} KeyRec;

typedef struct {
    int32_t key, ip;
} KeyPair;

/* A _Stats object's numbers, read once and written back once (several IPs can share one: the
 * analyzer's "(other)" bucket past max_clients). */
typedef struct {
    PyObject *st;
    int64_t cur, cur_n, peak, peak_at, seen, last, last_ok, requests, errors, auth;
    double baseline;
    int minutes_read; /* the EWMA fields were read (IP stats) */
    PyObject *others; /* st.others, st.paths, st.agents: borrowed (st holds them) */
    PyObject *paths;
    PyObject *agents;
    int paths_over, over_changed;
} Slot;

typedef struct {
    VEC(IpRec) ips;
    VEC(MinuteEntry) minutes;
    VEC(BarePair) bares;
    VEC(AgentRec) agents;
    VEC(OddLine) odd; /* every line until judged: the verdicts come after the scan (GIL) */
    VEC(Judged) judged;
    VEC(KeyRec) keys;
    VEC(KeyPair) pairs;
    VEC(Slot) slots;
    Table ip_t, bare_t, agent_t, verdict_t, key_t, pair_t, slot_t;
    int64_t lines, tmin, tmax, first_t;
} Chunk;

static void chunk_free(Chunk *c) {
    for (Py_ssize_t i = 0; i < c->keys.n; i++) {
        Py_XDECREF(c->keys.v[i].st);
        Py_XDECREF(c->keys.v[i].fp);
    }
    for (Py_ssize_t i = 0; i < c->ips.n; i++) {
        Py_XDECREF(c->ips.v[i].st);
        Py_XDECREF(c->ips.v[i].ip_obj);
    }
    PyMem_RawFree(c->ips.v);
    PyMem_RawFree(c->minutes.v);
    PyMem_RawFree(c->bares.v);
    PyMem_RawFree(c->agents.v);
    PyMem_RawFree(c->odd.v);
    PyMem_RawFree(c->judged.v);
    PyMem_RawFree(c->keys.v);
    PyMem_RawFree(c->pairs.v);
    PyMem_RawFree(c->slots.v);
    table_free(&c->ip_t);
    table_free(&c->bare_t);
    table_free(&c->agent_t);
    table_free(&c->verdict_t);
    table_free(&c->key_t);
    table_free(&c->pair_t);
    table_free(&c->slot_t);
}

/* Equal bytes (short strings: eight at a time, inline, no library call). */
static inline int same(Slice a, Slice b) {
    if (a.n != b.n) return 0;
    const char *x = a.p, *y = b.p;
    Py_ssize_t n = a.n;
    while (n >= 8) {
        uint64_t u, v;
        memcpy(&u, x, 8);
        memcpy(&v, y, 8);
        if (u != v) return 0;
        x += 8;
        y += 8;
        n -= 8;
    }
    while (n--)
        if (*x++ != *y++) return 0;
    return 1;
}

/* The tag of the client on the line at p (a hint: 0 when it is not found cheaply). */
static inline uint32_t client_tag(const char *p, const char *end) {
    const char *sp = memchr(p, ' ', (size_t)(end - p < 64 ? end - p : 64));
    if (!sp) return 0;
    Slice ip = {p, sp - p};
    return hash_of(0, 0, ip);
}

static inline int matches(const Chunk *c, Kind kind, int32_t v, int64_t a, int64_t b, Slice s) {
    switch (kind) {
    case K_IP:
        return same(c->ips.v[v].ip, s);
    case K_BARE:
        return c->bares.v[v].ip == a && same(c->bares.v[v].bare, s);
    case K_VERDICT:
        return c->judged.v[v].plain == a && same(c->judged.v[v].s, s);
    case K_KEY:
        return same(c->keys.v[v].raw, s);
    case K_PAIR:
        return c->pairs.v[v].key == a && c->pairs.v[v].ip == b;
    case K_AGENT:
        return c->agents.v[v].ip == a && same(c->agents.v[v].agent, s);
    case K_SLOT:
        return (int64_t)(intptr_t)c->slots.v[v].st == a;
    }
    return 0;
}

/* The record index of (a, b, s), or -1 with *slot set where it goes. */
static inline int32_t table_find(const Chunk *c, const Table *t, int64_t a, int64_t b, Slice s, uint32_t tag,
                                 size_t *slot) {
    size_t j = tag & (t->cap - 1);
    for (;;) {
        const Entry *e = &t->e[j];
        if (!e->tag) {
            *slot = j;
            return -1;
        }
        if (e->tag == tag && matches(c, t->kind, e->val, a, b, s)) return e->val;
        j = (j + 1) & (t->cap - 1);
    }
}

/* Insert at the slot table_find gave, after the record is stored (the table may grow). */
static int table_put(Table *t, uint32_t tag, size_t slot, int32_t val) {
    t->e[slot].tag = tag;
    t->e[slot].val = val;
    t->used++;
    if (t->used * 2 > t->cap) return table_grow(t);
    return 0;
}

/* ---- parsing ---------------------------------------------------------------------------- */

/* Python's bytes.split() whitespace */
static inline int is_ws(unsigned char ch) {
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\x0b' || ch == '\x0c';
}

/* A token up to the next space: no other whitespace, no quote, not empty. */
static const char *token(const char *p, const char *end, Slice *out) {
    const char *s = p;
    while (p < end && *p != ' ') {
        unsigned char ch = (unsigned char)*p;
        if (is_ws(ch) || ch == '"') return NULL;
        p++;
    }
    if (p == s || p >= end) return NULL;
    out->p = s;
    out->n = p - s;
    return p + 1; /* past the space */
}

/* A quoted field: '"' ... '"' with no quote or newline inside. */
static const char *quoted(const char *p, const char *end, Slice *out) {
    if (p >= end || *p != '"') return NULL;
    p++;
    const char *s = p;
    const char *q = memchr(p, '"', (size_t)(end - p));
    if (!q) return NULL;
    if (memchr(s, '\n', (size_t)(q - s))) return NULL;
    out->p = s;
    out->n = q - s;
    return q + 1;
}

static const char MONTHS[] = "JanFebMarAprMayJunJulAugSepOctNovDec";

static inline int digits(const char *p, int n, int *out) {
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') return -1;
        v = v * 10 + (p[i] - '0');
    }
    *out = v;
    return 0;
}

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

/* "[dd/Mon/yyyy:HH:MM:SS" and "+hhmm]": the epoch minute (as epoch_minute) and second, or -1. */
static int stamp_of(Slice stamp, Slice zone, int64_t *minute, int *second, int64_t *zone_key) {
    const char *s = stamp.p;
    if (stamp.n != 21 || s[0] != '[' || s[3] != '/' || s[7] != '/' || s[12] != ':' || s[15] != ':' || s[18] != ':')
        return -1;
    int day, year, hour, min, sec, zh, zm;
    if (digits(s + 1, 2, &day) || digits(s + 8, 4, &year) || digits(s + 13, 2, &hour) || digits(s + 16, 2, &min) ||
        digits(s + 19, 2, &sec))
        return -1;
    int month = 0;
    for (int i = 0; i < 12; i++)
        if (memcmp(s + 4, MONTHS + 3 * i, 3) == 0) month = i + 1;
    if (!month || year < 1 || day < 1 || hour > 23 || min > 59) return -1;
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    if (day > mdays[month - 1] + (month == 2 && leap)) return -1;
    const char *z = zone.p;
    if (zone.n != 6 || (z[0] != '+' && z[0] != '-') || z[5] != ']' || digits(z + 1, 2, &zh) || digits(z + 3, 2, &zm))
        return -1;
    int64_t offset = (int64_t)(z[0] == '-' ? -1 : 1) * (zh * 60 + zm);
    *minute = (days_from_civil(year, (unsigned)month, (unsigned)day) * 1440 + hour * 60 + min) - offset;
    *second = sec;
    *zone_key = (z[0] == '-') * 10000 + zh * 100 + zm;
    return 0;
}

/* _PLAIN: [A-Za-z0-9/_.-]* then optionally ?name=value(&name=value)* with name [A-Za-z0-9_]+
 * and value [A-Za-z0-9_.-]* */
enum { C_WORD = 1, C_BARE = 2, C_VALUE = 4 }; /* [A-Za-z0-9_], [A-Za-z0-9/_.-], [A-Za-z0-9_.-] */
static unsigned char CLASS[256];

static void classes_init(void) {
    for (int ch = 0; ch < 256; ch++) {
        int w = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_';
        CLASS[ch] = (unsigned char)((w ? C_WORD | C_BARE | C_VALUE : 0) | (ch == '/' ? C_BARE : 0) |
                                    (ch == '.' || ch == '-' ? C_BARE | C_VALUE : 0));
    }
}

static inline int word(unsigned char ch) { return CLASS[ch] & C_WORD; }

static int is_plain(Slice path, Py_ssize_t query) {
    const unsigned char *p = (const unsigned char *)path.p;
    Py_ssize_t i = 0, n = path.n;
    for (; i < query; i++)
        if (!(CLASS[p[i]] & C_BARE)) return 0;
    if (query == n) return 1;
    i = query + 1;
    for (;;) {
        Py_ssize_t s = i;
        while (i < n && word(p[i])) i++;
        if (i == s || i >= n || p[i] != '=') return 0;
        i++;
        while (i < n && (CLASS[p[i]] & C_VALUE)) i++;
        if (i == n) return 1;
        if (p[i] != '&') return 0;
        i++;
    }
}

/* _KEY_PARAM.search(path).group(1): [?&](api_key|apikey|key|token|access_token)=([^&#\s]{1,512}) */
static int key_param(Slice path, Slice *out) {
    static const char *names[] = {"api_key", "apikey", "key", "token", "access_token"};
    static const Py_ssize_t lens[] = {7, 6, 3, 5, 12};
    const char *p = path.p;
    Py_ssize_t n = path.n;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (p[i] != '?' && p[i] != '&') continue;
        unsigned char first = (unsigned char)p[i + 1 < n ? i + 1 : i] | 0x20;
        if (first != 'a' && first != 'k' && first != 't') continue;
        for (int k = 0; k < 5; k++) {
            Py_ssize_t len = lens[k];
            if (i + 1 + len >= n) continue;
            Py_ssize_t j = 0;
            while (j < len) {
                unsigned char ch = (unsigned char)p[i + 1 + j];
                if (ch >= 'A' && ch <= 'Z') ch += 32;
                if (ch != (unsigned char)names[k][j]) break;
                j++;
            }
            if (j < len || p[i + 1 + len] != '=') continue;
            Py_ssize_t v = i + 2 + len, e = v;
            while (e < n && e - v < 512 && p[e] != '&' && p[e] != '#' && !is_ws((unsigned char)p[e])) e++;
            if (e == v) continue;
            out->p = p + v;
            out->n = e - v;
            return 1;
        }
    }
    return 0;
}

/* ---- reading and writing _Stats --------------------------------------------------------- */

static PyObject *S_cur, *S_cur_n, *S_baseline, *S_peak, *S_peak_at, *S_seen, *S_last, *S_last_ok, *S_requests,
    *S_errors, *S_auth, *S_paths, *S_paths_over, *S_others, *S_agents, *S_tools;

/* _Stats keeps its fields in __slots__: their offsets in the object, read once per type, let
 * the merge read and write them as the slot descriptors do, without a lookup by name each time
 * (a field that is not a plain object slot goes through getattr/setattr). */
#define NFIELDS 16
static PyObject **FIELD_NAMES[NFIELDS] = {&S_cur,      &S_cur_n,    &S_baseline, &S_peak,         &S_peak_at, &S_seen,
                                          &S_last,     &S_last_ok,  &S_requests, &S_errors,       &S_auth,    &S_paths,
                                          &S_paths_over, &S_others, &S_agents,   &S_tools};
static PyTypeObject *offsets_type;
static Py_ssize_t offsets[NFIELDS];

static Py_ssize_t offset_of(PyObject *o, PyObject *name) {
    PyTypeObject *tp = Py_TYPE(o);
    if (tp != offsets_type) {
        for (int i = 0; i < NFIELDS; i++) {
            offsets[i] = -1;
            PyObject *d = PyObject_GetAttr((PyObject *)tp, *FIELD_NAMES[i]);
            if (!d) {
                PyErr_Clear();
                continue;
            }
            if (Py_IS_TYPE(d, &PyMemberDescr_Type)) {
                PyMemberDef *m = ((PyMemberDescrObject *)d)->d_member;
                if (m->type == T_OBJECT_EX && !(m->flags & READONLY)) offsets[i] = m->offset;
            }
            Py_DECREF(d);
        }
        Py_INCREF(tp);
        Py_XSETREF(offsets_type, tp);
    }
    for (int i = 0; i < NFIELDS; i++)
        if (*FIELD_NAMES[i] == name) return offsets[i];
    return -1;
}

static PyObject *attr_get(PyObject *o, PyObject *name) {
    Py_ssize_t off = offset_of(o, name);
    PyObject *v = off < 0 ? NULL : *(PyObject **)((char *)o + off);
    if (!v) return PyObject_GetAttr(o, name); /* not a slot, or unset: getattr says why */
    Py_INCREF(v);
    return v;
}

static int attr_set(PyObject *o, PyObject *name, PyObject *v) {
    Py_ssize_t off = offset_of(o, name);
    if (off < 0) return PyObject_SetAttr(o, name, v);
    PyObject **slot = (PyObject **)((char *)o + off);
    Py_INCREF(v);
    Py_XSETREF(*slot, v);
    return 0;
}

/* A set or dict attribute, borrowed: the _Stats object holds it for the whole merge. */
static PyObject *borrow(PyObject *o, PyObject *name) {
    PyObject *v = attr_get(o, name);
    if (v) Py_DECREF(v);
    return v;
}

static int get_i64(PyObject *o, PyObject *name, int64_t *out) {
    PyObject *v = attr_get(o, name);
    if (!v) return -1;
    *out = PyLong_AsLongLong(v);
    Py_DECREF(v);
    return (*out == -1 && PyErr_Occurred()) ? -1 : 0;
}

static int set_i64(PyObject *o, PyObject *name, int64_t value) {
    PyObject *v = PyLong_FromLongLong(value);
    if (!v) return -1;
    int r = attr_set(o, name, v);
    Py_DECREF(v);
    return r;
}

/* The slot of a _Stats object (made on first sight: its counters read). */
static int32_t slot_of(Chunk *c, PyObject *st, int minutes) {
    Slice none = {NULL, 0};
    uint32_t h = hash_of((int64_t)(intptr_t)st, 0, none);
    size_t where = 0;
    int32_t found = table_find(c, &c->slot_t, (int64_t)(intptr_t)st, 0, none, h, &where);
    Slot *s;
    if (found < 0) {
        Slot fresh;
        memset(&fresh, 0, sizeof fresh);
        fresh.st = st;
        if (get_i64(st, S_requests, &fresh.requests) || get_i64(st, S_errors, &fresh.errors) ||
            get_i64(st, S_auth, &fresh.auth) || get_i64(st, S_last, &fresh.last) ||
            get_i64(st, S_last_ok, &fresh.last_ok))
            return -1;
        PyObject *over = attr_get(st, S_paths_over);
        if (!over) return -1;
        fresh.paths_over = PyObject_IsTrue(over);
        Py_DECREF(over);
        if (fresh.paths_over < 0) return -1;
        fresh.others = borrow(st, S_others);
        fresh.paths = borrow(st, S_paths);
        fresh.agents = borrow(st, S_agents);
        if (!fresh.others || !fresh.paths || !fresh.agents) return -1;
        if (!PySet_Check(fresh.others) || !PySet_Check(fresh.paths) || !PyDict_Check(fresh.agents)) {
            PyErr_SetString(PyExc_TypeError, "not the analyzer's client stats");
            return -1;
        }
        found = (int32_t)c->slots.n;
        if (PUSH(c->slots, fresh) || table_put(&c->slot_t, h, where, found)) return -1;
    }
    s = &c->slots.v[found];
    if (minutes && !s->minutes_read) {
        PyObject *b = attr_get(st, S_baseline);
        if (!b) return -1;
        s->baseline = PyFloat_AsDouble(b);
        Py_DECREF(b);
        if (s->baseline == -1.0 && PyErr_Occurred()) return -1;
        if (get_i64(st, S_cur, &s->cur) || get_i64(st, S_cur_n, &s->cur_n) || get_i64(st, S_peak, &s->peak) ||
            get_i64(st, S_peak_at, &s->peak_at) || get_i64(st, S_seen, &s->seen))
            return -1;
        s->minutes_read = 1;
    }
    return found;
}

static int slot_write(Slot *s) {
    PyObject *st = s->st;
    if (s->over_changed && attr_set(st, S_paths_over, s->paths_over ? Py_True : Py_False)) return -1;
    s->over_changed = 0;
    if (set_i64(st, S_requests, s->requests) || set_i64(st, S_errors, s->errors) || set_i64(st, S_auth, s->auth) ||
        set_i64(st, S_last, s->last) || set_i64(st, S_last_ok, s->last_ok))
        return -1;
    if (!s->minutes_read) return 0;
    PyObject *b = PyFloat_FromDouble(s->baseline);
    if (!b) return -1;
    int r = attr_set(st, S_baseline, b);
    Py_DECREF(b);
    if (r || set_i64(st, S_cur, s->cur) || set_i64(st, S_cur_n, s->cur_n) || set_i64(st, S_peak, s->peak) ||
        set_i64(st, S_peak_at, s->peak_at) || set_i64(st, S_seen, s->seen))
        return -1;
    return 0;
}

/* _Stats.close_minute */
static void close_minute(Slot *s, int64_t new_t) {
    int64_t n = s->cur_n;
    if (n > s->peak) {
        s->peak = n;
        s->peak_at = s->cur;
    }
    int64_t gap = new_t - s->cur - 1;
    if (gap > 60) gap = 60;
    if (gap < 0) gap = 0;
    double base = s->baseline < 0 ? (double)n : s->baseline + 0.2 * ((double)n - s->baseline);
    for (int64_t i = 0; i < gap; i++) base *= 1 - 0.2;
    s->baseline = base;
    s->seen += 1;
    s->cur = new_t;
    s->cur_n = 0;
}

static PyObject *bytes_of(Slice s) { return PyBytes_FromStringAndSize(s.p, s.n); }

/* ---- the scan --------------------------------------------------------------------------- */

/* 1: counted, 0: not plain combined format, -1: out of memory. Runs without the GIL. */
static int parse(Chunk *c, const char *data, Py_ssize_t size, const char *refused) {
    const char *p = data, *end = data + size;
    int64_t last_stamp_t = 0, last_zone = 0;
    int last_plain = -1;
    int32_t last_verdict = -1;
    Slice last_judged = {NULL, -1};
    Slice last_stamp = {NULL, 0}, last_zone_s = {NULL, 0};
    /* The client table and records outgrow the cache the chunk streams through: two lines
     * ahead the table slot is fetched, one line ahead the record it names. */
    const char *next_eol = NULL;
    uint32_t next_tag = 0;
    const Slice none = {NULL, 0};
    while (p < end) {
        const char *eol = next_eol ? next_eol : memchr(p, '\n', (size_t)(end - p));
        next_eol = NULL;
        if (!eol) return 0;
        if (eol + 1 < end) {
            if (next_tag) {
                const Entry *e = &c->ip_t.e[next_tag & (c->ip_t.cap - 1)];
                if (e->tag == next_tag) {
                    __builtin_prefetch(&c->ips.v[e->val]);
                    __builtin_prefetch((const char *)&c->ips.v[e->val] + 64);
                }
            }
            next_eol = memchr(eol + 1, '\n', (size_t)(end - eol - 1));
            next_tag = 0;
            if (next_eol && next_eol + 1 < end) {
                uint32_t tag = client_tag(next_eol + 1, end);
                if (tag) __builtin_prefetch(&c->ip_t.e[tag & (c->ip_t.cap - 1)]);
                next_tag = tag;
            }
        }
        Slice ip, ident, user, stamp, zone, method, path, proto, status, size_s, referer, agent;
        const char *q = p;
        if (!(q = token(q, eol, &ip)) || !(q = token(q, eol, &ident)) || !(q = token(q, eol, &user)) ||
            !(q = token(q, eol, &stamp)) || !(q = token(q, eol, &zone)))
            return 0;
        /* the request: "METHOD path PROTO" */
        if (q >= eol || *q != '"') return 0;
        q++;
        if (!(q = token(q, eol, &method)) || !(q = token(q, eol, &path))) return 0;
        const char *r = q;
        while (r < eol && *r != '"') {
            if (is_ws((unsigned char)*r)) return 0;
            r++;
        }
        if (r == q || r >= eol) return 0;
        proto.p = q;
        proto.n = r - q;
        q = r + 1;
        if (q >= eol || *q != ' ') return 0;
        q++;
        if (!(q = token(q, eol, &status)) || !(q = token(q, eol, &size_s))) return 0;
        if (!(q = quoted(q, eol, &referer))) return 0;
        if (q >= eol || *q != ' ') return 0;
        if (!(q = quoted(q + 1, eol, &agent)) || q != eol) return 0;
        (void)ident;
        (void)proto;
        (void)size_s;
        (void)referer;
        if (status.n != 3 || status.p[0] < '0' || status.p[0] > '9') return 0;

        int64_t t, zkey;
        int sec;
        if (last_stamp.n == 21 && stamp.n == 21 && stamp.p[18] == ':' && same((Slice){stamp.p, 18}, (Slice){last_stamp.p, 18}) && same(zone, last_zone_s) && stamp.p[19] >= '0' && stamp.p[19] <= '9' &&
            stamp.p[20] >= '0' && stamp.p[20] <= '9') {
            t = last_stamp_t;
            zkey = last_zone;
            sec = (stamp.p[19] - '0') * 10 + (stamp.p[20] - '0');
        } else {
            if (stamp_of(stamp, zone, &t, &sec, &zkey)) return 0;
            last_stamp = stamp;
            last_zone_s = zone;
            last_stamp_t = t;
            last_zone = zkey;
        }
        if (c->lines == 0) {
            c->first_t = c->tmin = c->tmax = t;
        }
        if (t < c->tmin) c->tmin = t;
        if (t > c->tmax) c->tmax = t;
        c->lines++;

        /* the client */
        uint32_t h = hash_of(0, 0, ip);
        size_t where = 0;
        int32_t ipi = table_find(c, &c->ip_t, 0, 0, ip, h, &where);
        if (ipi < 0) {
            IpRec rec;
            memset(&rec, 0, sizeof rec);
            rec.ip = ip;
            rec.first_t = t;
            rec.last_ok = -1;
            rec.head = rec.last_entry = rec.last_agent = rec.slot = -1;
            rec.last_bare.n = rec.last_agent_s.n = -1;
            ipi = (int32_t)c->ips.n;
            if (PUSH(c->ips, rec) || table_put(&c->ip_t, h, where, ipi)) return -1;
        }
        IpRec *rec = &c->ips.v[ipi];
        int bad = status.p[0] >= '4';
        int auth = bad && status.p[0] == '4' && status.p[1] == '0' && (status.p[2] == '1' || status.p[2] == '3');
        rec->requests++;
        rec->errors += bad;
        rec->auth += auth;
        if (memcmp(status.p, refused, 3) != 0) rec->last_ok = t * 60 + sec;

        /* its minute: entries per (ip, minute, zone) in first-seen order */
        if (rec->last_entry >= 0 && rec->last_t == t && rec->last_zone == zkey) {
            rec->minute_run++;
        } else {
            if (rec->last_entry >= 0) c->minutes.v[rec->last_entry].n += rec->minute_run;
            int32_t e = -1;
            if (rec->head >= 0 && t <= rec->max_t) /* an earlier minute again: look it up */
                for (e = rec->head; e >= 0; e = c->minutes.v[e].prev)
                    if (c->minutes.v[e].t == t && c->minutes.v[e].zone == zkey) break;
            if (e < 0) {
                MinuteEntry m = {ipi, rec->head, t, zkey, 0};
                if (rec->head < 0 || t > rec->max_t) rec->max_t = t;
                e = (int32_t)c->minutes.n;
                if (PUSH(c->minutes, m)) return -1;
                rec->head = e;
            }
            rec->last_entry = e;
            rec->last_t = t;
            rec->last_zone = zkey;
            rec->minute_run = 1;
        }

        /* the bare path: distinct (ip, bare) in first-seen order */
        const char *qm = memchr(path.p, '?', (size_t)path.n);
        Py_ssize_t query = qm ? qm - path.p : path.n;
        Slice bare = {path.p, query};
        if (!same(bare, rec->last_bare)) {
            h = hash_of(ipi, 1, bare);
            if (table_find(c, &c->bare_t, ipi, 1, bare, h, &where) < 0) {
                BarePair bp = {ipi, bare};
                if (PUSH(c->bares, bp) || table_put(&c->bare_t, h, where, (int32_t)c->bares.n - 1)) return -1;
            }
            rec->last_bare = bare;
        }

        /* a probe? judged once per distinct bare path (plain query) or path */
        int plain = is_plain(path, query);
        Slice judged = plain ? bare : path;
        int32_t verdict = -1;
        if (plain == last_plain && same(judged, last_judged)) {
            verdict = last_verdict;
        } else {
            h = hash_of(plain, 2, judged);
            verdict = table_find(c, &c->verdict_t, plain, 2, judged, h, &where);
        }
        if (verdict < 0) {
            Judged j = {judged, plain, -1};
            verdict = (int32_t)c->judged.n;
            if (PUSH(c->judged, j) || table_put(&c->verdict_t, h, where, verdict)) return -1;
        }
        last_plain = plain;
        last_judged = judged;
        last_verdict = verdict;
        OddLine o = {ipi, verdict, path, {status.p[0], status.p[1], status.p[2], 0}};
        if (PUSH(c->odd, o)) return -1;

        /* the key: the user field, else the first key parameter of the query */
        Slice raw;
        int keyed = 0;
        if (!(user.n == 1 && user.p[0] == '-')) {
            raw = user;
            keyed = 1;
        } else {
            keyed = key_param(path, &raw);
        }
        if (keyed) {
            h = hash_of(0, 3, raw);
            int32_t k = table_find(c, &c->key_t, 0, 3, raw, h, &where);
            if (k < 0) {
                KeyRec kr;
                memset(&kr, 0, sizeof kr);
                kr.raw = raw;
                kr.slot = -1;
                k = (int32_t)c->keys.n;
                if (PUSH(c->keys, kr) || table_put(&c->key_t, h, where, k)) return -1;
            }
            KeyRec *kr = &c->keys.v[k];
            kr->requests++;
            kr->errors += bad;
            kr->auth += auth;
            h = hash_of(k, ipi, none);
            if (table_find(c, &c->pair_t, k, ipi, none, h, &where) < 0) {
                KeyPair kp = {k, ipi};
                if (PUSH(c->pairs, kp) || table_put(&c->pair_t, h, where, (int32_t)c->pairs.n - 1)) return -1;
            }
        }

        /* the user agent: distinct (ip, agent) with counts, first-seen order */
        int32_t a = rec->last_agent;
        if (a >= 0 && same(agent, rec->last_agent_s)) {
            rec->agent_run++;
        } else {
            if (a >= 0) c->agents.v[a].n += rec->agent_run;
            h = hash_of(ipi, 5, agent);
            a = table_find(c, &c->agent_t, ipi, 5, agent, h, &where);
            if (a < 0) {
                AgentRec ar = {ipi, agent, 0};
                a = (int32_t)c->agents.n;
                if (PUSH(c->agents, ar) || table_put(&c->agent_t, h, where, a)) return -1;
            }
            rec->last_agent = a;
            rec->last_agent_s = agent;
            rec->agent_run = 1;
        }
        p = eol + 1;
    }
    /* the runs still open */
    for (Py_ssize_t i = 0; i < c->ips.n; i++) {
        IpRec *r = &c->ips.v[i];
        if (r->last_entry >= 0) c->minutes.v[r->last_entry].n += r->minute_run;
        if (r->last_agent >= 0) c->agents.v[r->last_agent].n += r->agent_run;
    }
    return 1;
}

static int merge(Chunk *c, PyObject *ips, PyObject *new_ip, PyObject *judge, PyObject *key_for, PyObject *is_tool) {
    for (Py_ssize_t i = 0; i < c->judged.n; i++) {
        Judged *j = &c->judged.v[i];
        PyObject *arg = bytes_of(j->s);
        if (!arg) return -1;
        PyObject *res = PyObject_CallFunction(judge, "NO", arg, j->plain ? Py_True : Py_False);
        if (!res) return -1;
        j->verdict = PyObject_IsTrue(res);
        Py_DECREF(res);
        if (j->verdict < 0) return -1;
    }
    /* minutes, in the order the reference meets (ip, minute, zone) */
    for (Py_ssize_t i = 0; i < c->minutes.n; i++) {
        MinuteEntry *m = &c->minutes.v[i];
        IpRec *rec = &c->ips.v[m->ip];
        if (!rec->st) {
            rec->ip_obj = bytes_of(rec->ip);
            if (!rec->ip_obj) return -1;
            rec->st = PyDict_GetItemWithError(ips, rec->ip_obj);
            if (rec->st) {
                Py_INCREF(rec->st);
            } else {
                if (PyErr_Occurred()) return -1;
                rec->st = PyObject_CallFunction(new_ip, "OL", rec->ip_obj, (long long)m->t);
                if (!rec->st) return -1;
            }
            rec->slot = slot_of(c, rec->st, 1);
            if (rec->slot < 0) return -1;
        }
        Slot *s = &c->slots.v[rec->slot];
        if (m->t > s->cur) close_minute(s, m->t);
        if (m->t > s->last) s->last = m->t;
        s->cur_n += m->n;
    }
    for (Py_ssize_t i = 0; i < c->ips.n; i++) {
        IpRec *rec = &c->ips.v[i];
        Slot *s = &c->slots.v[rec->slot];
        s->requests += rec->requests;
        s->errors += rec->errors;
        s->auth += rec->auth;
        if (rec->last_ok > s->last_ok) s->last_ok = rec->last_ok;
    }
    /* written back now: a key is made from its first client's first and cur */
    Py_ssize_t ip_slots = c->slots.n;
    for (Py_ssize_t i = 0; i < ip_slots; i++)
        if (slot_write(&c->slots.v[i])) return -1;
    /* bare paths: at most PATHS_KEPT per client, then "over" */
    for (Py_ssize_t i = 0; i < c->bares.n; i++) {
        BarePair *bp = &c->bares.v[i];
        Slot *s = &c->slots.v[c->ips.v[bp->ip].slot];
        if (s->paths_over) continue;
        PyObject *bare = bytes_of(bp->bare);
        if (!bare) return -1;
        int r = PySet_Contains(s->paths, bare);
        if (r == 0) {
            if (PySet_GET_SIZE(s->paths) >= 256) {
                s->paths_over = s->over_changed = 1;
            } else {
                r = PySet_Add(s->paths, bare);
            }
        } else if (r > 0) {
            r = 0;
        }
        Py_DECREF(bare);
        if (r < 0) return -1;
    }
    /* user agents: at most AGENTS_KEPT per client, counted; a tool's counted once */
    for (Py_ssize_t i = 0; i < c->agents.n; i++) {
        AgentRec *a = &c->agents.v[i];
        Slot *s = &c->slots.v[c->ips.v[a->ip].slot];
        PyObject *agent = bytes_of(a->agent);
        if (!agent) return -1;
        PyObject *had = PyDict_GetItemWithError(s->agents, agent);
        int r = 0;
        if (had) {
            PyObject *n = PyLong_FromLongLong(PyLong_AsLongLong(had) + a->n);
            r = n ? PyDict_SetItem(s->agents, agent, n) : -1;
            Py_XDECREF(n);
        } else if (PyErr_Occurred()) {
            r = -1;
        } else if (PyDict_GET_SIZE(s->agents) < 8) {
            PyObject *n = PyLong_FromLongLong(a->n);
            r = n ? PyDict_SetItem(s->agents, agent, n) : -1;
            Py_XDECREF(n);
            if (r == 0) {
                PyObject *tool = PyObject_CallOneArg(is_tool, agent);
                if (!tool) {
                    r = -1;
                } else {
                    int yes = PyObject_IsTrue(tool);
                    Py_DECREF(tool);
                    if (yes < 0) r = -1;
                    if (yes > 0) {
                        int64_t tools;
                        r = get_i64(s->st, S_tools, &tools) || set_i64(s->st, S_tools, tools + 1) ? -1 : 0;
                    }
                }
            }
        }
        Py_DECREF(agent);
        if (r < 0) return -1;
    }
    /* keys: made (or refused) at their first (key, ip), in the reference's order */
    for (Py_ssize_t i = 0; i < c->pairs.n; i++) {
        KeyPair *kp = &c->pairs.v[i];
        KeyRec *kr = &c->keys.v[kp->key];
        IpRec *rec = &c->ips.v[kp->ip];
        if (!kr->asked) {
            kr->asked = 1;
            PyObject *raw = bytes_of(kr->raw);
            if (!raw) return -1;
            PyObject *res = PyObject_CallFunction(key_for, "NO", raw, rec->st);
            if (!res) return -1;
            if (res != Py_None) {
                if (!PyTuple_Check(res) || PyTuple_GET_SIZE(res) != 2) {
                    Py_DECREF(res);
                    PyErr_SetString(PyExc_TypeError, "key_for must return (fingerprint, stats) or None");
                    return -1;
                }
                kr->fp = PyTuple_GET_ITEM(res, 0);
                kr->st = PyTuple_GET_ITEM(res, 1);
                Py_INCREF(kr->fp);
                Py_INCREF(kr->st);
                kr->slot = slot_of(c, kr->st, 0);
                if (kr->slot < 0) {
                    Py_DECREF(res);
                    return -1;
                }
            }
            Py_DECREF(res);
        }
        if (!kr->st) continue;
        Slot *ks = &c->slots.v[kr->slot];
        Slot *is = &c->slots.v[rec->slot];
        if (is->last > ks->last) ks->last = is->last;
        if (PySet_GET_SIZE(ks->others) < 64 && PySet_Add(ks->others, rec->ip_obj)) return -1;
        if (PySet_GET_SIZE(is->others) < 64 && PySet_Add(is->others, kr->fp)) return -1;
    }
    for (Py_ssize_t i = 0; i < c->keys.n; i++) {
        KeyRec *kr = &c->keys.v[i];
        if (!kr->st) continue;
        Slot *ks = &c->slots.v[kr->slot];
        ks->requests += kr->requests;
        ks->errors += kr->errors;
        ks->auth += kr->auth;
    }
    for (Py_ssize_t i = 0; i < c->slots.n; i++) {
        Slot *s = &c->slots.v[i];
        if ((i >= ip_slots || s->over_changed) && slot_write(s)) return -1;
    }
    return 0;
}

static PyObject *results(Chunk *c) {
    PyObject *odd = PyList_New(0);
    if (!odd) return NULL;
    for (Py_ssize_t i = 0; i < c->odd.n; i++) {
        OddLine *o = &c->odd.v[i];
        if (!c->judged.v[o->judged].verdict) continue;
        PyObject *item = Py_BuildValue("(Oy#y#)", c->ips.v[o->ip].st, o->path.p, o->path.n, o->status, (Py_ssize_t)3);
        if (!item || PyList_Append(odd, item)) {
            Py_XDECREF(item);
            Py_DECREF(odd);
            return NULL;
        }
        Py_DECREF(item);
    }
    return Py_BuildValue("(LLLN)", (long long)c->lines, (long long)c->tmin, (long long)c->tmax, odd);
}

/* ---- the Python face: parse(chunk, ...) -> Parsed | None; Parsed.merge(...) ------------- */

typedef struct {
    PyObject_HEAD
    Chunk c;
    Py_buffer buf; /* the chunk: every Slice points into it */
    int merged;
} Parsed;

static void parsed_dealloc(Parsed *self) {
    chunk_free(&self->c);
    if (self->buf.obj) PyBuffer_Release(&self->buf);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *parsed_merge(Parsed *self, PyObject *args) {
    PyObject *ips, *new_ip, *judge, *key_for, *is_tool;
    if (!PyArg_ParseTuple(args, "O!OOOO", &PyDict_Type, &ips, &new_ip, &judge, &key_for, &is_tool)) return NULL;
    if (self->merged) {
        PyErr_SetString(PyExc_RuntimeError, "this chunk is merged already");
        return NULL;
    }
    self->merged = 1;
    if (table_init(&self->c.slot_t, 1024, K_SLOT) || merge(&self->c, ips, new_ip, judge, key_for, is_tool) < 0) {
        if (!PyErr_Occurred()) PyErr_NoMemory();
        return NULL;
    }
    return results(&self->c);
}

static PyMethodDef parsed_methods[] = {
    {"merge", (PyCFunction)parsed_merge, METH_VARARGS,
     "merge(ips, new_ip, judge, key_for, is_tool) -> (lines, first minute, last minute, probe lines)"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject ParsedType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "opslib.security._scan.Parsed",
    .tp_basicsize = sizeof(Parsed),
    .tp_dealloc = (destructor)parsed_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A chunk's counts, to merge into the analyzer once.",
    .tp_methods = parsed_methods,
};

static PyObject *parse_chunk(PyObject *self, PyObject *args) {
    long long since;
    const char *refused;
    Py_ssize_t refused_n;
    (void)self;
    Parsed *out = PyObject_New(Parsed, &ParsedType);
    if (!out) return NULL;
    memset(&out->c, 0, sizeof out->c);
    memset(&out->buf, 0, sizeof out->buf);
    out->merged = 0;
    if (!PyArg_ParseTuple(args, "y*Ly#", &out->buf, &since, &refused, &refused_n)) {
        Py_DECREF(out);
        return NULL;
    }
    if (refused_n != 3) {
        PyErr_SetString(PyExc_ValueError, "refused must be a 3-digit status");
        Py_DECREF(out);
        return NULL;
    }
    Chunk *c = &out->c;
    const char *data = out->buf.buf;
    Py_ssize_t size = out->buf.len;
    int parsed = -1;
    Py_BEGIN_ALLOW_THREADS
    /* sized for the chunk's lines (about 128 bytes each): no rehashing on the way */
    size_t lines = pow2_at_least((size_t)size / 64);
    /* and the per-line vector too (no copies as it grows) */
    if (!(table_init(&c->ip_t, 4096, K_IP) ||
          table_init(&c->bare_t, 4096, K_BARE) || table_init(&c->agent_t, 4096, K_AGENT) ||
          table_init(&c->verdict_t, 1024, K_VERDICT) || table_init(&c->key_t, 1024, K_KEY) ||
          table_init(&c->pair_t, lines, K_PAIR) ||
          grow((void **)&c->odd.v, &c->odd.cap, (Py_ssize_t)size / 96 + 1, sizeof(*c->odd.v))))
        parsed = size == 0 || data[size - 1] != '\n' ? 0 : parse(c, data, size, refused);
    Py_END_ALLOW_THREADS
    if (parsed < 0) {
        Py_DECREF(out);
        return PyErr_NoMemory();
    }
    if (!parsed || c->lines == 0 || c->first_t < since) {
        Py_DECREF(out);
        Py_RETURN_NONE;
    }
    return (PyObject *)out;
}

/* ---- v4_mark(marks, ip): the blocklist's IPv4 fast path (Blocklist.is_blocked) ------------ */

/* The /24 (address >> 8) of a dotted quad as inet_pton reads it (no leading zeros, four
 * octets of at most 255), or -1. */
static int64_t slash24(const char *s, Py_ssize_t n) {
    uint32_t addr = 0;
    Py_ssize_t i = 0;
    for (int octet = 0; octet < 4; octet++) {
        if (octet && (i >= n || s[i++] != '.')) return -1;
        Py_ssize_t start = i;
        uint32_t v = 0;
        while (i < n && s[i] >= '0' && s[i] <= '9' && i - start < 3) v = v * 10 + (uint32_t)(s[i++] - '0');
        if (i == start || v > 255 || (s[start] == '0' && i - start > 1)) return -1;
        addr = addr << 8 | v;
    }
    return i == n ? (int64_t)(addr >> 8) : -1;
}

static PyObject *v4_mark(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (nargs != 2 || !PyByteArray_Check(args[0]) || PyByteArray_GET_SIZE(args[0]) != (1 << 24)) {
        PyErr_SetString(PyExc_TypeError, "v4_mark(marks: bytearray of 2**24, ip: str)");
        return NULL;
    }
    PyObject *ip = args[1];
    int64_t index = -1;
    if (PyUnicode_Check(ip) && PyUnicode_IS_ASCII(ip))
        index = slash24((const char *)PyUnicode_DATA(ip), PyUnicode_GET_LENGTH(ip));
    if (index < 0) return PyLong_FromLong(3);
    return PyLong_FromLong((unsigned char)PyByteArray_AS_STRING(args[0])[index]);
}

static PyMethodDef methods[] = {
    {"parse", parse_chunk, METH_VARARGS,
     "parse(chunk, since, refused) -> Parsed, or None when the chunk is not plain combined format (or older than"
     " since); the GIL is released meanwhile."},
    {"v4_mark", (PyCFunction)(void (*)(void))v4_mark, METH_FASTCALL,
     "v4_mark(marks, ip) -> the mark of the address's /24 (0 none, 1 all, 2 part blocked), 3: not a"
     " dotted-quad IPv4 address."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_scan", "The compiled per-line pass of the access-log analysis.", -1, methods};

PyMODINIT_FUNC PyInit__scan(void) {
    classes_init();
    S_cur = PyUnicode_InternFromString("cur");
    S_cur_n = PyUnicode_InternFromString("cur_n");
    S_baseline = PyUnicode_InternFromString("baseline");
    S_peak = PyUnicode_InternFromString("peak");
    S_peak_at = PyUnicode_InternFromString("peak_at");
    S_seen = PyUnicode_InternFromString("seen_minutes");
    S_last = PyUnicode_InternFromString("last");
    S_last_ok = PyUnicode_InternFromString("last_ok");
    S_requests = PyUnicode_InternFromString("requests");
    S_errors = PyUnicode_InternFromString("errors");
    S_auth = PyUnicode_InternFromString("auth");
    S_paths = PyUnicode_InternFromString("paths");
    S_paths_over = PyUnicode_InternFromString("paths_over");
    S_others = PyUnicode_InternFromString("others");
    S_agents = PyUnicode_InternFromString("agents");
    S_tools = PyUnicode_InternFromString("tools");
    if (!S_cur || !S_cur_n || !S_baseline || !S_peak || !S_peak_at || !S_seen || !S_last || !S_last_ok ||
        !S_requests || !S_errors || !S_auth || !S_paths || !S_paths_over || !S_others || !S_agents || !S_tools)
        return NULL;
    if (PyType_Ready(&ParsedType) < 0) return NULL;
    return PyModule_Create(&module);
}
