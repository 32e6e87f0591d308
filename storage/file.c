/*
 * file: a storage location in a local directory (or a mounted file system).
 *
 * An object is written under a temporary name beside its final one, fsynced,
 * renamed into place and its directory fsynced: it appears whole or not at
 * all, as an S3 PUT does.  Temporary names carry ".kbtmp." and are skipped by
 * list; sweep_uploads removes those left by interrupted runs.
 */
#include <sys/stat.h>

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

struct file_storage {
	char	*root;
};

struct storage_upload {
	struct storage	*st;
	char		*path;
	char		*tmp;
	int		 fd;
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

static int
parent_mkdir(const char *path, char *err, size_t errlen)
{
	char	*dir, *slash;
	int	 rc = 0;

	dir = xstrdup(path);
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		rc = mkdir_p(dir, 0700, err, errlen);
	}
	free(dir);
	return rc;
}

static void
upload_free(struct storage_upload *up)
{
	free(up->path);
	free(up->tmp);
	free(up);
}

static int
file_put_begin(struct storage *st, const char *key, uint64_t size_hint,
    struct storage_upload **upp, char *err, size_t errlen)
{
	struct storage_upload	*up;

	if (!key_ok(key))
		return errf(err, errlen, "invalid key '%s'", key);
	up = xcalloc(1, sizeof(*up));
	up->st = st;
	up->path = file_path(st, key);
	up->tmp = xasprintf("%s" TMP_MARK "%ld", up->path, (long)getpid());
	if (parent_mkdir(up->path, err, errlen) == -1) {
		upload_free(up);
		return -1;
	}
	if ((up->fd = open(up->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) == -1) {
		errf(err, errlen, "%s: %s", up->tmp, strerror(errno));
		upload_free(up);
		return -1;
	}
	*upp = up;
	return 0;
}

static int
file_put_write(struct storage_upload *up, const void *buf, size_t len, char *err,
    size_t errlen)
{
	if (write_all(up->fd, buf, len) == -1)
		return errf(err, errlen, "write %s: %s", up->tmp, strerror(errno));
	return 0;
}

static void
file_put_abort(struct storage_upload *up)
{
	if (up->fd != -1)
		close(up->fd);
	unlink(up->tmp);
	upload_free(up);
}

static int
file_put_commit(struct storage_upload *up, char *err, size_t errlen)
{
	char	*dir;
	int	 rc;

	if (fsync(up->fd) == -1 || close(up->fd) == -1) {
		errf(err, errlen, "write %s: %s", up->tmp, strerror(errno));
		up->fd = -1;
		file_put_abort(up);
		return -1;
	}
	up->fd = -1;
	if (rename(up->tmp, up->path) == -1) {
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

struct walk {
	struct storage	*st;
	size_t		 rootlen;
	const char	*prefix;
	storage_list_fn	 fn;
	void		*arg;
	int		 tmp_only;	/* sweep: visit temporaries instead */
	time_t		 older_than;
	char		*err;
	size_t		 errlen;
};

static int walk_dir(struct walk *, const char *);

static int
walk_entry(struct walk *w, const char *path, const struct stat *sb)
{
	struct storage_object	 obj;
	const char		*key = path + w->rootlen + 1;
	int			 is_tmp = strstr(key, TMP_MARK) != NULL;

	if (S_ISDIR(sb->st_mode))
		return walk_dir(w, path);
	if (!S_ISREG(sb->st_mode) || is_tmp != w->tmp_only)
		return 0;
	if (w->tmp_only) {
		if (sb->st_mtime < w->older_than && unlink(path) == 0)
			log_kv(LOGL_INFO, "removed an interrupted upload", "path", path, NULL);
		return 0;
	}
	if (!startswith(key, w->prefix))
		return 0;
	obj.key = key;
	obj.size = (uint64_t)sb->st_size;
	obj.mtime = sb->st_mtime;
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

static int
file_list(struct storage *st, const char *prefix, storage_list_fn fn, void *arg,
    char *err, size_t errlen)
{
	struct file_storage	*fs = st->priv;
	struct walk		 w;
	char			*start, *slash;
	int			 rc;

	memset(&w, 0, sizeof(w));
	w.st = st;
	w.rootlen = strlen(fs->root);
	while (w.rootlen > 1 && fs->root[w.rootlen - 1] == '/')
		w.rootlen--;
	w.prefix = prefix;
	w.fn = fn;
	w.arg = arg;
	w.err = err;
	w.errlen = errlen;
	/* Start at the deepest directory the prefix names, not at the root. */
	start = path_join(fs->root, prefix);
	if ((slash = strrchr(start + w.rootlen, '/')) != NULL)
		*slash = '\0';
	else
		start[w.rootlen] = '\0';
	rc = walk_dir(&w, start);
	free(start);
	return rc;
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

static int
file_sweep_uploads(struct storage *st, const char *prefix, time_t older_than, char *err,
    size_t errlen)
{
	struct file_storage	*fs = st->priv;
	struct walk		 w;
	char			*start;
	int			 rc;

	memset(&w, 0, sizeof(w));
	w.st = st;
	w.rootlen = strlen(fs->root);
	w.prefix = prefix;
	w.tmp_only = 1;
	w.older_than = older_than;
	w.err = err;
	w.errlen = errlen;
	start = path_join(fs->root, prefix);
	rc = walk_dir(&w, start);
	free(start);
	return rc;
}

const struct storage_ops storage_file = {
	.type = "file",
	.keys = file_keys,
	.validate = file_validate,
	.open = file_open,
	.close = file_close,
	.describe = file_describe,
	.put_begin = file_put_begin,
	.put_write = file_put_write,
	.put_commit = file_put_commit,
	.put_abort = file_put_abort,
	.get = file_get,
	.list = file_list,
	.remove = file_remove,
	.sweep_uploads = file_sweep_uploads,
};
