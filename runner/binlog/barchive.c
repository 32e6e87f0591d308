/*
 * barchive: the binary log archive of a definition.  See barchive.h.
 */
#include <sys/stat.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "common/memfile.h"
#include "common/util.h"
#include "engines/my_binlog.h"
#include "runner/binlog/barchive.h"
#include "runner/stream/pipeline.h"

#define FETCH_CHUNK	(128 * 1024)

char *
binlog_prefix(const char *base)
{
	return xasprintf("%s/binlog/", base);
}

/* BASE/binlog/[H/]NAME: where the pieces of a file of history hist are. */
static char *
file_dir(const char *base, uint32_t hist, const char *name)
{
	if (hist <= 1)
		return xasprintf("%s/binlog/%s", base, name);
	return xasprintf("%s/binlog/%" PRIu32 "/%s", base, hist, name);
}

char *
binlog_piece_key(const char *base, uint32_t hist, const char *name, uint64_t from,
    uint64_t to, int last)
{
	char	*dir = file_dir(base, hist, name), *key;

	key = xasprintf("%s/%020" PRIu64 "-%020" PRIu64 "%s", dir, from, to,
	    last ? ".last" : "");
	free(dir);
	return key;
}

int
binlog_next_name(const char *name, char *buf, size_t len)
{
	char		base[BOBJ_NAME_MAX];
	uint32_t	seq;
	int		width;

	if (my_binlog_name_parse(name, base, sizeof(base), &seq) == -1 || seq == UINT32_MAX)
		return -1;
	width = (int)(strlen(name) - strlen(base) - 1);
	if (snprintf(buf, len, "%s.%0*" PRIu32, base, width, seq + 1) >= (int)len)
		return -1;
	return 0;
}

/* [H/]NAME/FROM-TO[.last] after the prefix. */
static int
piece_parse(const char *rest, struct binlog_piece *p)
{
	const char	*slash, *errstr;
	char		 num[21], *end;
	size_t		 nlen = strspn(rest, "0123456789");

	memset(p, 0, sizeof(*p));
	p->hist = 1;
	if (nlen > 0 && rest[nlen] == '/') {	/* a file name is never digits alone */
		if (nlen >= 11)
			return -1;
		memcpy(num, rest, nlen);
		num[nlen] = '\0';
		p->hist = (uint32_t)strtonum(num, 2, UINT32_MAX, &errstr);
		if (errstr != NULL)
			return -1;
		rest += nlen + 1;
	}
	slash = strchr(rest, '/');
	if (slash == NULL || (nlen = (size_t)(slash - rest)) >= sizeof(p->name))
		return -1;
	memcpy(p->name, rest, nlen);
	p->name[nlen] = '\0';
	if (my_binlog_name_parse(p->name, p->base, sizeof(p->base), &p->seq) == -1)
		return -1;
	rest = slash + 1;
	if (strlen(rest) < 41 || rest[20] != '-' || strspn(rest, "0123456789") != 20 ||
	    strspn(rest + 21, "0123456789") != 20)
		return -1;
	if (strcmp(rest + 41, ".last") == 0)
		p->last = 1;
	else if (rest[41] != '\0')
		return -1;
	memcpy(num, rest, 20);
	num[20] = '\0';
	p->from = strtoull(num, &end, 10);
	memcpy(num, rest + 21, 20);
	p->to = strtoull(num, &end, 10);
	return p->to >= p->from ? 0 : -1;
}

struct lister {
	struct binlog_archive	*ar;
	size_t			 plen;
};

static int
list_one(const struct storage_object *o, void *arg)
{
	struct lister		*l = arg;
	struct binlog_piece	 p;
	struct binlog_link	*k;
	uint32_t		 hist;

	if (strlen(o->key) <= l->plen)
		return 0;
	if (blink_key_parse(o->key + l->plen, &hist) == 1) {
		l->ar->links = xreallocarray(l->ar->links, l->ar->nlinks + 1,
		    sizeof(*l->ar->links));
		k = &l->ar->links[l->ar->nlinks++];
		memset(k, 0, sizeof(*k));
		k->hist = hist;
		k->key = xstrdup(o->key);
		return 0;
	}
	if (piece_parse(o->key + l->plen, &p) == -1)
		return 0;	/* not a piece: left alone */
	p.key = xstrdup(o->key);
	l->ar->v = xreallocarray(l->ar->v, l->ar->n + 1, sizeof(*l->ar->v));
	l->ar->v[l->ar->n++] = p;
	return 0;
}

static int
piece_cmp(const void *a, const void *b)
{
	const struct binlog_piece	*x = a, *y = b;
	int				 c;

	if (x->hist != y->hist)
		return x->hist < y->hist ? -1 : 1;
	if ((c = strcmp(x->base, y->base)) != 0)
		return c;
	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	if (x->from != y->from)
		return x->from < y->from ? -1 : 1;
	return x->to < y->to ? -1 : x->to > y->to;
}

static int
link_cmp(const void *a, const void *b)
{
	const struct binlog_link	*x = a, *y = b;

	return x->hist < y->hist ? -1 : x->hist > y->hist;
}

int
binlog_archive_open(struct location *loc, const char *base, const struct keyring *kr,
    struct binlog_archive *ar, char *err, size_t errlen)
{
	struct lister	 l;
	char		*prefix;
	size_t		 i;
	int		 rc;

	memset(ar, 0, sizeof(*ar));
	ar->loc = loc;
	ar->kr = kr;
	ar->base = xstrdup(base);
	prefix = binlog_prefix(base);
	l.ar = ar;
	l.plen = strlen(prefix);
	rc = loc->st->ops->list(loc->st, prefix, NULL, list_one, &l, err, errlen);
	free(prefix);
	if (rc == -1) {
		binlog_archive_close(ar);
		return errprefix(err, errlen, "listing the binary log archive");
	}
	if (ar->n > 0)
		qsort(ar->v, ar->n, sizeof(*ar->v), piece_cmp);
	binlog_chain(ar->v, &ar->n, &ar->spare, &ar->nspare);
	if (ar->nlinks > 0)
		qsort(ar->links, ar->nlinks, sizeof(*ar->links), link_cmp);
	for (i = 0; i < ar->nlinks; i++)
		if (blink_read(loc, kr, &ar->links[i], err, errlen) == -1) {
			binlog_archive_close(ar);
			return errprefix(err, errlen, "the binary log archive");
		}
	return 0;
}

/* A piece's end offset and its index, to find what ends where another starts. */
struct piece_end {
	uint64_t	to;
	size_t		k;
};

static int
end_cmp(const void *a, const void *b)
{
	const struct piece_end	*x = a, *y = b;

	return x->to < y->to ? -1 : x->to > y->to;
}

/*
 * The pieces v[a..b) of one file: via[k] the piece its chain comes from
 * (SIZE_MAX: it starts at 0; b: no chain reaches it).  Sorted by offset, a
 * piece's predecessors come before it; ends[] finds them by their end.
 */
static void
chain_links(const struct binlog_piece *v, size_t a, size_t b, size_t *via)
{
	struct piece_end	*ends = xcalloc(b - a, sizeof(*ends)), key;
	size_t			 k, lo, hi, mid, n = b - a;

	for (k = a; k < b; k++) {
		ends[k - a].to = v[k].to;
		ends[k - a].k = k;
	}
	qsort(ends, n, sizeof(*ends), end_cmp);
	for (k = a; k < b; k++) {
		via[k - a] = v[k].from == 0 ? SIZE_MAX : b;
		key.to = v[k].from;
		for (lo = 0, hi = n; lo < hi; ) {	/* the first end >= from */
			mid = lo + (hi - lo) / 2;
			if (end_cmp(&ends[mid], &key) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (; via[k - a] == b && lo < n && ends[lo].to == key.to; lo++)
			if (ends[lo].k < k && via[ends[lo].k - a] != b && !v[ends[lo].k].last)
				via[k - a] = ends[lo].k;
	}
	free(ends);
}

/* Marks on[] the chain of v[a..b) that reaches furthest; its end offset, or 0. */
static uint64_t
chain_mark(const struct binlog_piece *v, size_t a, size_t b, const size_t *via, int *on)
{
	size_t	k, best = b;

	for (k = a; k < b; k++)
		if (via[k - a] != b && (best == b || v[k].last > v[best].last ||
		    (v[k].last == v[best].last && v[k].to > v[best].to)))
			best = k;
	if (best == b)
		return 0;
	for (k = best; k != SIZE_MAX; k = via[k - a])
		on[k - a] = 1;
	return v[best].to;
}

void
binlog_chain(struct binlog_piece *v, size_t *n, struct binlog_piece **spare,
    size_t *nspare)
{
	size_t		 a, b, k, kept = 0, *via;
	uint64_t	 end;
	int		*on;

	for (a = 0; a < *n; a = b) {
		for (b = a + 1; b < *n && v[b].hist == v[a].hist &&
		    strcmp(v[b].name, v[a].name) == 0; b++)
			;
		via = xcalloc(b - a, sizeof(*via));
		on = xcalloc(b - a, sizeof(*on));
		chain_links(v, a, b, via);
		end = chain_mark(v, a, b, via, on);
		for (k = a; k < b; k++) {
			if (on[k - a] || v[k].to > end)
				v[kept++] = v[k];
			else {
				*spare = xreallocarray(*spare, *nspare + 1, sizeof(**spare));
				(*spare)[(*nspare)++] = v[k];
			}
		}
		free(via);
		free(on);
	}
	*n = kept;
}

void
binlog_archive_close(struct binlog_archive *ar)
{
	size_t	i;

	for (i = 0; i < ar->n; i++)
		free(ar->v[i].key);
	for (i = 0; i < ar->nspare; i++)
		free(ar->spare[i].key);
	for (i = 0; i < ar->nlinks; i++)
		free(ar->links[i].key);
	free(ar->links);
	free(ar->v);
	free(ar->spare);
	free(ar->base);
	memset(ar, 0, sizeof(*ar));
}

uint64_t
binlog_archive_end(const struct binlog_archive *ar, uint32_t hist, const char *name,
    int *last)
{
	uint64_t	end = 0;
	size_t		i;

	*last = 0;
	for (i = 0; i < ar->n; i++)
		if (ar->v[i].hist == hist && strcmp(ar->v[i].name, name) == 0 &&
		    ar->v[i].from == end) {
			end = ar->v[i].to;
			*last = ar->v[i].last;
		}
	return end;
}

size_t
binlog_archive_newest(const struct binlog_archive *ar)
{
	return ar->n == 0 ? SIZE_MAX : ar->n - 1;
}

uint32_t
binlog_archive_hist(const struct binlog_archive *ar)
{
	uint32_t	hist = ar->n > 0 ? ar->v[ar->n - 1].hist : 1;

	if (ar->nlinks > 0 && ar->links[ar->nlinks - 1].hist > hist)
		hist = ar->links[ar->nlinks - 1].hist;
	return hist;
}

const struct binlog_link *
binlog_link_of(const struct binlog_archive *ar, uint32_t hist)
{
	size_t	i;

	for (i = 0; i < ar->nlinks; i++)
		if (ar->links[i].hist == hist)
			return &ar->links[i];
	return NULL;
}

/* The server id of history hist's writer, 0 when the archive does not say. */
static uint32_t
hist_server(const struct binlog_archive *ar, uint32_t hist)
{
	const struct binlog_link	*l;

	if ((l = binlog_link_of(ar, hist)) != NULL)
		return l->server;
	l = binlog_link_of(ar, hist + 1);
	return l != NULL ? l->parent_server : 0;
}

/* Whether history hist has pieces of file. */
static int
hist_has(const struct binlog_archive *ar, uint32_t hist, const char *file)
{
	size_t	i;

	for (i = 0; i < ar->n; i++)
		if (ar->v[i].hist == hist && strcmp(ar->v[i].name, file) == 0)
			return 1;
	return 0;
}

uint32_t
binlog_dump_hist(const struct binlog_archive *ar, const char *file, uint32_t server)
{
	uint32_t	hist, newest = binlog_archive_hist(ar), writer, any = 0;

	if (server == 0)
		return 1;
	for (hist = newest; hist >= 1; hist--) {
		writer = hist_server(ar, hist);
		/* A later history without its link says no writer: none of its files. */
		if ((writer != 0 && writer != server) || (writer == 0 && hist > 1))
			continue;
		if (hist_has(ar, hist, file))
			return hist;
		if (any == 0)
			any = hist;
	}
	return any;
}

int
binlog_piece_head(struct binlog_archive *ar, size_t i, struct bobj_head *h, char *err,
    size_t errlen)
{
	const struct binlog_piece	*p = &ar->v[i];
	unsigned char			 raw[BOBJ_HEAD_LEN];
	uint64_t			 plain;

	if (pipeline_restore_head(ar->loc->st, p->key, ar->kr, p->name, NULL, NULL, raw,
	    sizeof(raw), 1, -1, NULL, &plain, NULL, err, errlen) == -1 ||
	    bobj_decode(raw, h, err, errlen) == -1)
		return errprefix(err, errlen, "%s", p->key);
	if (strcmp(h->name, p->name) != 0 || h->offset != p->from ||
	    h->size != p->to - p->from)
		return errf(err, errlen, "%s holds bytes %" PRIu64 "-%" PRIu64 " of %s: swapped",
		    p->key, h->offset, h->offset + h->size, h->name);
	return 0;
}

/*
 * Whether piece j follows piece i: in one history, or the first piece of
 * the next one where its link says the parent ends inside i's file.
 */
static int
follows(const struct binlog_archive *ar, const struct binlog_piece *i,
    const struct binlog_piece *j)
{
	const struct binlog_link	*l;

	if (j->hist != i->hist)
		return j->hist == i->hist + 1 && (l = binlog_link_of(ar, j->hist)) != NULL &&
		    strcmp(l->parent_file, i->name) == 0 && l->parent_end <= i->to &&
		    strcmp(l->file, j->name) == 0 && j->from == 0;
	if (!i->last)
		return strcmp(i->name, j->name) == 0 && j->from == i->to;
	return strcmp(i->base, j->base) == 0 && j->seq == i->seq + 1 && j->from == 0;
}

/* What is missing after piece p, the last of a run that newer pieces follow. */
static void
run_gap(const struct binlog_archive *ar, const struct binlog_piece *p, char *gap,
    size_t len)
{
	const struct binlog_piece	*q = p + 1;
	const struct binlog_link	*l = NULL;
	char				 next[BOBJ_NAME_MAX], *dir = NULL;
	uint64_t			 from = 0;

	if (q->hist != p->hist && (l = binlog_link_of(ar, q->hist)) == NULL) {
		snprintf(gap, len, "%s/binlog/%" PRIu32 "/link", ar->base, q->hist);
		return;
	}
	if (l != NULL && strcmp(l->parent_file, p->name) == 0 && l->parent_end <= p->to)
		dir = file_dir(ar->base, q->hist, l->file);	/* its first piece */
	else if (!p->last) {
		dir = file_dir(ar->base, p->hist, p->name);
		from = p->to;
	} else if (binlog_next_name(p->name, next, sizeof(next)) == 0)
		dir = file_dir(ar->base, p->hist, next);
	if (dir != NULL)
		snprintf(gap, len, "%s/%020" PRIu64 "-*", dir, from);
	free(dir);
}

int
binlog_run_from(struct binlog_archive *ar, uint32_t hist, const char *name,
    struct binlog_run *run, char *missing, size_t missinglen, char *err, size_t errlen)
{
	struct bobj_head	 h;
	char			*dir;
	size_t			 i;

	memset(run, 0, sizeof(*run));
	for (i = 0; i < ar->n; i++)
		if (ar->v[i].hist == hist && strcmp(ar->v[i].name, name) == 0 &&
		    ar->v[i].from == 0)
			break;
	if (i == ar->n) {
		dir = file_dir(ar->base, hist, name);
		snprintf(missing, missinglen, "%s/%020d-*", dir, 0);
		free(dir);
		return errf(err, errlen, "binary log %s is not in the archive (%s)", name,
		    missing);
	}
	run->first = i;
	while (i + 1 < ar->n && follows(ar, &ar->v[i], &ar->v[i + 1]))
		i++;
	run->end = i + 1;
	if (run->end < ar->n)
		run_gap(ar, &ar->v[i], run->gap, sizeof(run->gap));
	if (binlog_piece_head(ar, i, &h, err, errlen) == -1)
		return -1;
	run->last_event = h.last;
	return 0;
}

static int
sha256_of(const unsigned char *buf, size_t len, unsigned char out[32])
{
	unsigned int	n = 32;

	return EVP_Digest(buf, len, out, &n, EVP_sha256(), NULL) == 1 ? 0 : -1;
}

int
binlog_store_piece(struct location *loc, const struct keyring *kr, const char *base,
    uint32_t hist, const char *name, uint32_t server, uint64_t from, const unsigned char *buf,
    size_t len, int last, time_t newest, const struct wal_store_opts *o, char *err,
    size_t errlen)
{
	struct bobj_head	 h;
	struct binlog_archive	 ar;
	unsigned char		 raw[BOBJ_HEAD_LEN];
	char			*key;
	size_t			 whole;
	int			 fd, exists = 0, rc;

	memset(&h, 0, sizeof(h));
	if (bobj_events(buf, len, from, &whole, &h, err, errlen) == -1)
		return errprefix(err, errlen, "%s at offset %" PRIu64, name, from);
	if (whole != len)
		return errf(err, errlen, "%s: bytes %" PRIu64 "-%" PRIu64 " end inside an event",
		    name, from, from + len);
	if (newest > h.last)
		h.last = newest;
	if (h.first == 0 || h.first > h.last)
		h.first = h.last;
	h.offset = from;
	h.size = len;
	h.flags = last ? BOBJ_FINAL : 0;
	strlcpy(h.name, name, sizeof(h.name));
	h.server = server;
	if (sha256_of(buf, len, h.sha256) == -1)
		return errf(err, errlen, "SHA-256 unavailable");
	bobj_encode(&h, raw);
	if ((fd = memfile_scratch("kbackup-binlog", err, errlen)) == -1)
		return -1;
	if (write_all(fd, buf, len) == -1 || lseek(fd, 0, SEEK_SET) == -1) {
		close(fd);
		return errf(err, errlen, "%s: %s", name, strerror(errno));
	}
	key = binlog_piece_key(base, hist, name, from, from + len, last);
	rc = archive_put(loc, kr, key, raw, sizeof(raw), fd, len, o, &exists, err, errlen);
	close(fd);
	if (rc == -1 && exists) {
		/* Stored before (a retry after a lost answer): the same bytes, or refused. */
		struct bobj_head have;

		memset(&ar, 0, sizeof(ar));
		ar.loc = loc;
		ar.kr = kr;
		ar.v = xcalloc(1, sizeof(*ar.v));
		ar.n = 1;
		strlcpy(ar.v[0].name, name, sizeof(ar.v[0].name));
		ar.v[0].from = from;
		ar.v[0].to = from + len;
		ar.v[0].key = key;
		rc = binlog_piece_head(&ar, 0, &have, err, errlen);
		if (rc == 0 && memcmp(have.sha256, h.sha256, 32) != 0)
			rc = errf(err, errlen, "%s is archived already with other bytes: the "
			    "archive keeps the stored ones", key);
		free(ar.v);
	} else if (rc == -1)
		errprefix(err, errlen, "storing %s in %s", key, loc->desc);
	free(key);
	return rc;
}

int
binlog_sha256_range(int fd, off_t start, uint64_t size, unsigned char md[32], char *err,
    size_t errlen)
{
	EVP_MD_CTX	*ctx;
	unsigned char	*buf;
	unsigned int	 n = 32;
	ssize_t		 got;
	int		 rc = 0;

	if ((ctx = EVP_MD_CTX_new()) == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(),
	    NULL) != 1) {
		EVP_MD_CTX_free(ctx);
		return errf(err, errlen, "SHA-256 unavailable");
	}
	buf = xmalloc(FETCH_CHUNK);
	while (rc == 0 && size > 0) {
		got = pread_full(fd, buf, size < FETCH_CHUNK ? (size_t)size : FETCH_CHUNK, start);
		if (got <= 0)
			rc = errf(err, errlen, "reading back: %s", got == 0 ? "short" :
			    strerror(errno));
		else {
			EVP_DigestUpdate(ctx, buf, (size_t)got);
			start += got;
			size -= (uint64_t)got;
		}
	}
	EVP_DigestFinal_ex(ctx, md, &n);
	EVP_MD_CTX_free(ctx);
	free(buf);
	return rc;
}

/* The bytes a fetch appended to fd at start: the SHA-256 h's head says. */
static int
fetched_check(int fd, off_t start, const struct bobj_head *h, const char *key, char *err,
    size_t errlen)
{
	unsigned char	md[32];

	if (binlog_sha256_range(fd, start, h->size, md, err, errlen) == -1)
		return errprefix(err, errlen, "%s", key);
	if (memcmp(md, h->sha256, 32) != 0)
		return errf(err, errlen, "%s: its bytes do not have the SHA-256 its head says",
		    key);
	return 0;
}

int
binlog_fetch_piece(struct binlog_archive *ar, size_t i, int out_fd, struct bobj_head *hp,
    char *err, size_t errlen)
{
	const struct binlog_piece	*p = &ar->v[i];
	struct bobj_head		 h;
	unsigned char			 raw[BOBJ_HEAD_LEN];
	uint64_t			 plain;
	off_t				 start = 0;
	int				 missing = 0;

	if (out_fd != -1 && (start = lseek(out_fd, 0, SEEK_END)) == -1)
		return errf(err, errlen, "%s: %s", p->name, strerror(errno));
	if (pipeline_restore_head(ar->loc->st, p->key, ar->kr, p->name, NULL, NULL, raw,
	    sizeof(raw), 0, out_fd, NULL, &plain, &missing, err, errlen) == -1)
		return errprefix(err, errlen, "%s", p->key);
	if (bobj_decode(raw, &h, err, errlen) == -1)
		return errprefix(err, errlen, "%s", p->key);
	if (strcmp(h.name, p->name) != 0 || h.offset != p->from || h.size != p->to - p->from)
		return errf(err, errlen, "%s holds bytes %" PRIu64 "-%" PRIu64 " of %s: swapped",
		    p->key, h.offset, h.offset + h.size, h.name);
	if (plain != BOBJ_HEAD_LEN + h.size)
		return errf(err, errlen, "%s: truncated", p->key);
	if (out_fd != -1 && fetched_check(out_fd, start, &h, p->key, err, errlen) == -1)
		return -1;
	if (hp != NULL)
		*hp = h;
	return 0;
}

int
binlog_fetch_file(struct binlog_archive *ar, size_t i, int out_fd, uint64_t *len,
    char *err, size_t errlen)
{
	size_t	j;

	*len = 0;
	if (ar->v[i].from != 0)
		return errf(err, errlen, "%s has no piece at offset 0", ar->v[i].name);
	for (j = i; j < ar->n && ar->v[j].hist == ar->v[i].hist &&
	    strcmp(ar->v[j].name, ar->v[i].name) == 0 && ar->v[j].from == *len; j++) {
		if (binlog_fetch_piece(ar, j, out_fd, NULL, err, errlen) == -1)
			return -1;
		*len = ar->v[j].to;
	}
	return 0;
}
