/*
 * file: a storage location in a local directory (or a mounted file system).
 *
 * An object is written under a temporary name beside its final one, fsynced,
 * renamed into place (or, to create it only if absent, hard-linked: link(2)
 * fails on an existing name, atomically) and its directory fsynced: it
 * appears whole or not at all, as an S3 PUT does.  Temporary names carry
 * ".kbtmp." (then the writer's owner tag, if any, its pid and a random
 * part) and are skipped by list; list_pending reports them, so that those
 * of interrupted runs can be removed.
 *
 * The store's clock is the file system's: now() stats a file it has just
 * created, so that ages are measured on the clock that set the mtimes (the
 * kernel's, or an NFS server's), not on a runner's.
 */
#define _GNU_SOURCE	/* O_TMPFILE, sync_file_range (Linux) */
#include <sys/stat.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "storage/storage.h"

#define TMP_MARK	".kbtmp."
#define READ_CHUNK	(1024 * 1024)
/*
 * Written bytes are handed to the disk every this many (as PostgreSQL's
 * backend_flush_after does): the commit's fsync then waits for the last few
 * MiB only, not for the whole object that the page cache held back.
 */
#define FLUSH_AFTER	(8 * 1024 * 1024)

struct file_storage {
	char	*root;
};

struct storage_upload {
	struct storage	*st;
	char		*path;
	char		*tmp;
	int		 fd;
	int		 if_absent;
	off_t		 written;	/* bytes in tmp */
	off_t		 flushed;	/* of those, handed to the disk */
};

static const struct config_key file_keys[] = {
	{ "path", CFG_PATH, 0, NULL, "a directory", 0, 0, NULL },
	{ NULL, 0, 0, NULL, NULL, 0, 0, NULL }
};

static int
file_validate(const struct config_section_schema *ss, const struct config_section *s,
    char *err, size_t errlen)
{
	const char	*path = config_get(s, "path");

	if (path == NULL)
		return errf(err, errlen, "path: missing (expected a directory for type file)");
	if (*path != '/')
		return errf(err, errlen, "path: '%s' is not an absolute path", path);
	return 0;
}

static int
file_open(struct storage *st, const struct config_section *s, char *err, size_t errlen)
{
	struct file_storage	*fs;

	fs = xcalloc(1, sizeof(*fs));
	fs->root = xstrdup(config_get(s, "path"));
	st->priv = fs;
	return 0;
}

static void
file_close(struct storage *st)
{
	struct file_storage	*fs = st->priv;

	free(fs->root);
	free(fs);
}

static void
file_describe(struct storage *st, char *buf, size_t len)
{
	struct file_storage	*fs = st->priv;

	snprintf(buf, len, "file://%s", fs->root);
}

/* Keys come from our own layout, but never let one climb out of the root. */
static int
key_ok(const char *key)
{
	return *key != '/' && strstr(key, "..") == NULL && *key != '\0';
}

static char *
file_path(struct storage *st, const char *key)
{
	struct file_storage	*fs = st->priv;

	return path_join(fs->root, key);
}

static void
upload_free(struct storage_upload *up)
{
	free(up->path);
	free(up->tmp);
	free(up);
}

/* An owner tag that cannot be mistaken for the other parts of a temporary name. */
static int
owner_ok(const char *owner)
{
	size_t	i;

	if (owner == NULL || owner[0] == '\0' || strlen(owner) > 64)
		return 0;
	for (i = 0; owner[i] != '\0'; i++)
		if (!isalnum((unsigned char)owner[i]))
			return 0;
	return 1;
}

/*
 * A temporary name no other upload, of this process or another, can have:
 * PATH.kbtmp.[OWNER.]PID.RANDOM.
 */
static char *
tmp_name(const char *path, const char *owner)
{
	unsigned char	r[6];
	char		hex[13];

	arc4random_buf(r, sizeof(r));
	hex_encode(r, sizeof(r), hex);
	if (owner_ok(owner))
		return xasprintf("%s" TMP_MARK "%s.%ld.%s", path, owner, (long)getpid(), hex);
	return xasprintf("%s" TMP_MARK "%ld.%s", path, (long)getpid(), hex);
}

/* The owner tag of a temporary's upload id (OWNER.PID.RANDOM), or NULL. */
static char *
tmp_owner(const char *upload_id)
{
	const char	*dot = strchr(upload_id, '.');

	if (dot == NULL || strchr(dot + 1, '.') == NULL)
		return NULL;
	return xstrndup(upload_id, (size_t)(dot - upload_id));
}

/* Removes now-empty directories between path's directory and the root. */
static void
prune_dirs(struct storage *st, const char *path)
{
	struct file_storage	*fs = st->priv;
	char			*dir, *slash;

	dir = xstrdup(path);
	while ((slash = strrchr(dir, '/')) != NULL) {
		*slash = '\0';
		if (strlen(dir) <= strlen(fs->root) || rmdir(dir) == -1)
			break;
	}
	free(dir);
}

static int
file_put_begin(struct storage *st, const char *key, const struct storage_put *put,
    struct storage_upload **upp, char *err, size_t errlen)
{
	struct storage_upload	*up;

	if (!key_ok(key))
		return errf(err, errlen, "invalid key '%s'", key);
	if (put->retain_until != 0)
		return errf(err, errlen, "%s: object lock is not supported by type file", key);
	up = xcalloc(1, sizeof(*up));
	up->st = st;
	up->if_absent = put->if_absent;
	up->path = file_path(st, key);
	up->tmp = tmp_name(up->path, put->owner);
	if (mkdir_parent(up->path, 0700, err, errlen) == -1) {
		upload_free(up);
		return -1;
	}
	if ((up->fd = open(up->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) == -1) {
		errf(err, errlen, "%s: %s", up->tmp, strerror(errno));
		upload_free(up);
		return -1;
	}
	*upp = up;
	return 0;
}

/*
 * Starts the disk writing what has not been handed to it yet, without
 * waiting (the commit's fsync is what makes it durable).  Where the system
 * has no sync_file_range, or refuses it, the fsync does it all.
 */
static void
start_writeback(struct storage_upload *up)
{
#ifdef SYNC_FILE_RANGE_WRITE
	(void)sync_file_range(up->fd, up->flushed, up->written - up->flushed,
	    SYNC_FILE_RANGE_WRITE);
#endif
	up->flushed = up->written;
}

static int
file_put_write(struct storage_upload *up, const void *buf, size_t len, char *err,
    size_t errlen)
{
	if (write_all(up->fd, buf, len) == -1)
		return errf(err, errlen, "write %s: %s", up->tmp, strerror(errno));
	up->written += (off_t)len;
	if (up->written - up->flushed >= FLUSH_AFTER)
		start_writeback(up);
	return 0;
}

static void
file_put_abort(struct storage_upload *up)
{
	if (up->fd != -1)
		close(up->fd);
	unlink(up->tmp);
	/* put_begin made the key's directories: a failed first part leaves none. */
	prune_dirs(up->st, up->tmp);
	upload_free(up);
}

/*
 * Puts tmp in place as path without ever replacing an existing path:
 * link(2) fails on an existing name, atomically; then the temporary name
 * goes.  Where the file system has no hard links, a check just before the
 * rename has to do.
 */
static int
place_if_absent(struct storage_upload *up, int *exists, char *err, size_t errlen)
{
	struct stat	sb;

	if (link(up->tmp, up->path) == 0) {
		unlink(up->tmp);
		return 0;
	}
	if ((errno == EPERM || errno == EOPNOTSUPP || errno == EMLINK) &&
	    lstat(up->path, &sb) == -1 && errno == ENOENT) {
		if (rename(up->tmp, up->path) == 0)
			return 0;
	} else if (errno == EPERM || errno == EOPNOTSUPP || errno == EMLINK)
		errno = EEXIST;
	if (errno == EEXIST && exists != NULL)
		*exists = 1;
	return errf(err, errlen, "create %s: %s", up->path, errno == EEXIST ?
	    "it exists already (never replaced)" : strerror(errno));
}

static int
file_put_commit(struct storage_upload *up, int *exists, char *err, size_t errlen)
{
	char	*dir;
	int	 rc;

	if (exists != NULL)
		*exists = 0;
	if (fsync(up->fd) == -1 || close(up->fd) == -1) {
		errf(err, errlen, "write %s: %s", up->tmp, strerror(errno));
		up->fd = -1;
		file_put_abort(up);
		return -1;
	}
	up->fd = -1;
	if (up->if_absent) {
		if (place_if_absent(up, exists, err, errlen) == -1) {
			file_put_abort(up);
			return -1;
		}
	} else if (rename(up->tmp, up->path) == -1) {
		errf(err, errlen, "rename %s: %s", up->path, strerror(errno));
		file_put_abort(up);
		return -1;
	}
	dir = xstrdup(up->path);
	*strrchr(dir, '/') = '\0';
	rc = fsync_dir(dir, err, errlen);
	free(dir);
	upload_free(up);
	return rc;
}

static int
file_get(struct storage *st, const char *key, uint64_t offset, storage_read_fn fn,
    void *arg, int *missing, char *err, size_t errlen)
{
	char	*path, *buf;
	ssize_t	 n;
	int	 fd, rc = 0;

	*missing = 0;
	if (!key_ok(key))
		return errf(err, errlen, "invalid key '%s'", key);
	path = file_path(st, key);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		*missing = errno == ENOENT;
		errf(err, errlen, "%s: %s", path, strerror(errno));
		free(path);
		return -1;
	}
	if (offset > 0 && lseek(fd, (off_t)offset, SEEK_SET) == -1) {
		errf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		free(path);
		return -1;
	}
	buf = xmalloc(READ_CHUNK);
	for (;;) {
		if ((n = read(fd, buf, READ_CHUNK)) == -1) {
			if (errno == EINTR)
				continue;
			rc = errf(err, errlen, "read %s: %s", path, strerror(errno));
			break;
		}
		if (n == 0)
			break;
		if ((rc = fn(buf, (size_t)n, arg, err, errlen)) == -1)
			break;
	}
	free(buf);
	close(fd);
	free(path);
	return rc;
}

static void
file_stamp(const struct stat *sb, char *buf, size_t len)
{
	snprintf(buf, len, "%llu-%lld.%09ld-%llu", (unsigned long long)sb->st_size,
	    (long long)sb->st_mtim.tv_sec, sb->st_mtim.tv_nsec,
	    (unsigned long long)sb->st_ino);
}

static int
file_head(struct storage *st, const char *key, struct storage_stat *out, int *missing,
    char *err, size_t errlen)
{
	struct stat	 sb;
	char		*path;

	*missing = 0;
	if (!key_ok(key))
		return errf(err, errlen, "invalid key '%s'", key);
	path = file_path(st, key);
	if (stat(path, &sb) == -1 || !S_ISREG(sb.st_mode)) {
		*missing = errno == ENOENT || (errno == 0 && !S_ISREG(sb.st_mode));
		errf(err, errlen, "%s: %s", path, *missing ? "no such object" :
		    strerror(errno));
		free(path);
		return -1;
	}
	free(path);
	memset(out, 0, sizeof(*out));
	out->size = (uint64_t)sb.st_size;
	out->mtime = sb.st_mtime;
	file_stamp(&sb, out->stamp, sizeof(out->stamp));
	return 0;
}

struct walk {
	struct storage	*st;
	size_t		 rootlen;
	const char	*prefix;
	const char	*start_after;
	storage_list_fn	 fn;
	storage_pending_fn pending_fn;	/* list_pending: visit temporaries instead */
	void		*arg;
	char		*err;
	size_t		 errlen;
};

static int walk_dir(struct walk *, const char *);

/* A temporary: the key it is for, and its upload id (what follows the mark). */
static int
walk_pending(struct walk *w, const char *key, const struct stat *sb)
{
	struct storage_pending	 p;
	const char		*mark = strstr(key, TMP_MARK);
	char			*final, *owner;
	int			 rc;

	final = xstrndup(key, (size_t)(mark - key));
	p.key = final;
	p.upload_id = mark + strlen(TMP_MARK);
	p.initiated = sb->st_mtime;
	owner = tmp_owner(p.upload_id);
	p.owner = owner;
	rc = startswith(final, w->prefix) ? w->pending_fn(&p, w->arg) : 0;
	free(owner);
	free(final);
	if (rc == -1)
		return errf(w->err, w->errlen, "listing stopped");
	return 0;
}

static int
walk_entry(struct walk *w, const char *path, const struct stat *sb)
{
	struct storage_object	 obj;
	const char		*key = path + w->rootlen + 1;
	char			 stamp[STORAGE_STAMP_MAX];
	int			 is_tmp = strstr(key, TMP_MARK) != NULL;

	if (S_ISDIR(sb->st_mode))
		return walk_dir(w, path);
	if (!S_ISREG(sb->st_mode) || is_tmp != (w->pending_fn != NULL))
		return 0;
	if (is_tmp)
		return walk_pending(w, key, sb);
	if (!startswith(key, w->prefix) ||
	    (w->start_after != NULL && strcmp(key, w->start_after) <= 0))
		return 0;
	file_stamp(sb, stamp, sizeof(stamp));
	obj.key = key;
	obj.size = (uint64_t)sb->st_size;
	obj.mtime = sb->st_mtime;
	obj.stamp = stamp;
	if (w->fn(&obj, w->arg) == -1)
		return errf(w->err, w->errlen, "listing stopped");
	return 0;
}

static int
walk_dir(struct walk *w, const char *dir)
{
	DIR		*d;
	struct dirent	*de;
	struct stat	 sb;
	char		*path;
	int		 rc = 0;

	if ((d = opendir(dir)) == NULL) {
		if (errno == ENOENT)
			return 0;
		return errf(w->err, w->errlen, "%s: %s", dir, strerror(errno));
	}
	while (rc == 0 && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		path = path_join(dir, de->d_name);
		if (lstat(path, &sb) == 0)
			rc = walk_entry(w, path, &sb);
		free(path);
	}
	closedir(d);
	return rc;
}

/*
 * Walks from the deepest directory the prefix names, not from the root: w
 * holds what to visit (fn, or pending_fn) and from where (start_after).
 */
static int
walk_prefix(struct storage *st, struct walk *w, const char *prefix, void *arg, char *err,
    size_t errlen)
{
	struct file_storage	*fs = st->priv;
	char			*start, *slash;
	int			 rc;

	w->st = st;
	w->prefix = prefix;
	w->arg = arg;
	w->err = err;
	w->errlen = errlen;
	w->rootlen = strlen(fs->root);
	while (w->rootlen > 1 && fs->root[w->rootlen - 1] == '/')
		w->rootlen--;
	start = path_join(fs->root, w->prefix);
	if ((slash = strrchr(start + w->rootlen, '/')) != NULL)
		*slash = '\0';
	else
		start[w->rootlen] = '\0';
	rc = walk_dir(w, start);
	free(start);
	return rc;
}

static int
file_list(struct storage *st, const char *prefix, const char *start_after,
    storage_list_fn fn, void *arg, char *err, size_t errlen)
{
	struct walk	w = { .start_after = start_after, .fn = fn };

	return walk_prefix(st, &w, prefix, arg, err, errlen);
}

static int
file_list_pending(struct storage *st, const char *prefix, storage_pending_fn fn,
    void *arg, int *unsupported, char *err, size_t errlen)
{
	struct walk	w = { .pending_fn = fn };

	*unsupported = 0;
	return walk_prefix(st, &w, prefix, arg, err, errlen);
}

static int
file_abort_pending(struct storage *st, const char *key, const char *upload_id,
    char *err, size_t errlen)
{
	char	*path, *tmp;
	int	 rc = 0;

	if (!key_ok(key) || strchr(upload_id, '/') != NULL || strstr(upload_id, "..") != NULL)
		return errf(err, errlen, "invalid pending upload '%s' of '%s'", upload_id, key);
	path = file_path(st, key);
	tmp = xasprintf("%s" TMP_MARK "%s", path, upload_id);
	if (unlink(tmp) == -1 && errno != ENOENT)
		rc = errf(err, errlen, "remove %s: %s", tmp, strerror(errno));
	else
		prune_dirs(st, tmp);
	free(tmp);
	free(path);
	return rc;
}

/*
 * The mtime of a file created just now in the root: the clock mtimes are
 * on.  An unnamed file (O_TMPFILE) where the file system has them, so that
 * a kill leaves nothing; a named one, removed at once, elsewhere (NFS).
 */
static int
file_now(struct storage *st, time_t *t, char *err, size_t errlen)
{
	struct file_storage	*fs = st->priv;
	struct stat		 sb;
	char			*probe = NULL, *base;
	int			 fd, rc = 0;

	if (mkdir_p(fs->root, 0700, err, errlen) == -1)
		return -1;
	if ((fd = open(fs->root, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600)) == -1) {
		base = path_join(fs->root, ".kbclock");
		probe = tmp_name(base, NULL);
		free(base);
		fd = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	}
	/*
	 * A read-only file system (a backup disk mounted read-only to restore
	 * from) takes no probe.  Nothing can be written or deleted there, so
	 * no age measured on this host's clock decides anything.
	 */
	if (fd == -1 && errno == EROFS) {
		free(probe);
		*t = time(NULL);
		return 0;
	}
	if (fd == -1) {
		rc = errf(err, errlen, "%s: %s", probe != NULL ? probe : fs->root,
		    strerror(errno));
		free(probe);
		return rc;
	}
	if (fstat(fd, &sb) == -1)
		rc = errf(err, errlen, "%s: %s", probe, strerror(errno));
	else
		*t = sb.st_mtime;
	close(fd);
	if (probe != NULL)
		unlink(probe);
	free(probe);
	return rc;
}

static int
file_remove(struct storage *st, const char *const *keys, size_t n, char *err,
    size_t errlen)
{
	char	*path;
	size_t	 i;

	for (i = 0; i < n; i++) {
		if (!key_ok(keys[i]))
			return errf(err, errlen, "invalid key '%s'", keys[i]);
		path = file_path(st, keys[i]);
		if (unlink(path) == -1 && errno != ENOENT) {
			errf(err, errlen, "remove %s: %s", path, strerror(errno));
			free(path);
			return -1;
		}
		prune_dirs(st, path);
		free(path);
	}
	return 0;
}

const struct storage_desc storage_file_desc = {
	.type = "file",
	.keys = file_keys,
	.validate = file_validate,
};

const struct storage_ops storage_file = {
	.desc = &storage_file_desc,
	.open = file_open,
	.close = file_close,
	.describe = file_describe,
	.put_begin = file_put_begin,
	.put_write = file_put_write,
	.put_commit = file_put_commit,
	.put_abort = file_put_abort,
	.get = file_get,
	.head = file_head,
	.list = file_list,
	.remove = file_remove,
	.now = file_now,
	.list_pending = file_list_pending,
	.abort_pending = file_abort_pending,
};
