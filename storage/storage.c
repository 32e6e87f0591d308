/*
 * storage: opening a location from its config section, and whole-buffer
 * reads and writes over any backend (manifests, the label index).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "storage/storage.h"

int
storage_open(const struct config_section *section, struct storage **stp, char *err,
    size_t errlen)
{
	const struct storage_ops	*ops;
	struct storage			*st;
	const char			*type = config_get(section, "type");

	*stp = NULL;
	if (type == NULL || (ops = storage_find(type)) == NULL)
		return errf(err, errlen, "[%s] type: '%s' is not one of %s", section->name,
		    type == NULL ? "" : type, storage_types());
	st = xcalloc(1, sizeof(*st));
	st->ops = ops;
	st->name = xstrdup(section->label != NULL ? section->label : "default");
	if (ops->open(st, section, err, errlen) == -1) {
		free(st->name);
		free(st);
		return errprefix(err, errlen, "storage %s", section->label != NULL ?
		    section->label : "default");
	}
	*stp = st;
	return 0;
}

void
storage_close(struct storage *st)
{
	if (st == NULL)
		return;
	st->ops->close(st);
	free(st->name);
	free(st);
}

int
storage_put_buffer(struct storage *st, const char *key, const void *buf, size_t len,
    const struct storage_put *put, int *exists, char *err, size_t errlen)
{
	struct storage_upload	*up;
	struct storage_put	 p;

	memset(&p, 0, sizeof(p));
	if (put != NULL)
		p = *put;
	p.size_hint = len;
	if (exists != NULL)
		*exists = 0;
	if (st->ops->put_begin(st, key, &p, &up, err, errlen) == -1)
		return -1;
	if (st->ops->put_write(up, buf, len, err, errlen) == -1) {
		st->ops->put_abort(up);
		return -1;
	}
	return st->ops->put_commit(up, exists, err, errlen);
}

int
storage_remove_one(struct storage *st, const char *key, char *err, size_t errlen)
{
	return st->ops->remove(st, &key, 1, err, errlen);
}

int
storage_remove_one_unless_locked(struct storage *st, const char *key, time_t *locked_until,
    char *err, size_t errlen)
{
	*locked_until = 0;
	if (st->ops->remove_unless_locked == NULL)
		return st->ops->remove(st, &key, 1, err, errlen);
	return st->ops->remove_unless_locked(st, &key, 1, locked_until, err, errlen);
}

struct buffer_sink {
	char	*buf;
	size_t	 len;
	size_t	 max;
};

static int
buffer_sink_write(const void *p, size_t n, void *arg, char *err, size_t errlen)
{
	struct buffer_sink	*b = arg;

	if (n > b->max - b->len)
		return errf(err, errlen, "object larger than %zu bytes", b->max);
	memcpy(b->buf + b->len, p, n);
	b->len += n;
	return 0;
}

int
storage_get_buffer(struct storage *st, const char *key, size_t max, char **bufp,
    size_t *lenp, int *missing, char *err, size_t errlen)
{
	struct buffer_sink	b;
	int			miss = 0;

	b.buf = xmalloc(max + 1);
	b.len = 0;
	b.max = max;
	if (st->ops->get(st, key, 0, buffer_sink_write, &b, &miss, err, errlen) == -1) {
		free(b.buf);
		if (missing != NULL)
			*missing = miss;
		return -1;
	}
	b.buf[b.len] = '\0';
	*bufp = b.buf;
	if (lenp != NULL)
		*lenp = b.len;
	if (missing != NULL)
		*missing = 0;
	return 0;
}
