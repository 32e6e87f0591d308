/*
 * cockroach: CockroachDB through its own BACKUP and RESTORE statements,
 * with the runner as the http:// external storage.
 *
 * CockroachDB writes a backup as many files to an external storage URL; it
 * cannot stream one to a client.  So for each job the runner listens on
 * `listen` (common/httpd.c) and serves /transfer/TOKEN/..., TOKEN 32 random
 * hex digits, for PUT, GET (with Range), HEAD and DELETE; the route and the
 * server go away with the job, so the token is refused afterwards.
 *
 * Backup: BACKUP DATABASE x INTO 'ADVERTISE/transfer/TOKEN/' AS OF SYSTEM
 * TIME '-10s' through cockroach sql; the files land in a private directory
 * in workdir, are packed into one tar archive (libarchive), and the archive
 * is the stream.  Restore: the archive is unpacked from the stream into a
 * private directory, served under a new token, and RESTORE DATABASE x FROM
 * LATEST IN '...' [WITH new_db_name = 'y'] runs.
 *
 * SQL goes to cockroach sql on its stdin (the token stays out of argv); a
 * password reaches it as a libpq password file in memory (PGPASSFILE, a
 * memfile only that child inherits; cockroach sql reads it since
 * CockroachDB 22.2), never argv nor the environment.
 *
 * Not yet tested against a real CockroachDB: tests/engines/cockroach plays
 * its part.
 */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "common/log.h"
#include "common/util.h"
#include "common/proc.h"
#include "engines/engine.h"
#include "engines/pg_client.h"
#include "engines/snapfile.h"
#include "common/httpd.h"

struct cr_job {
	struct snapfile		 files;		/* files.dir: what BACKUP wrote / RESTORE reads */
	struct snapfile		 tar;		/* backup: the archive */
	struct http_server	*srv;
	char			 prefix[64];	/* "/transfer/TOKEN/" */
	char			*url;		/* advertise_url + prefix */
	/* restore: the unpacking thread reads the stream from pipe[0] */
	int			 pipe[2];
	pthread_t		 thread;
	int			 thread_running;
	int			 thread_rc;
	char			 thread_err[KB_ERRLEN];
};

static const struct config_key cockroach_keys[] = {
	{ "host", CFG_STRING, 0, "localhost", "a host name or address", 0, 0, NULL },
	{ "port", CFG_UINT, 0, "26257", "a port", 1, 65535, NULL },
	{ "user", CFG_STRING, 0, "root", "a SQL user", 0, 0, NULL },
	{ "password", CFG_SECRET, 0, NULL, "the user's password", 0, 0, NULL },
	{ "certs_dir", CFG_PATH, 0, NULL, "ca.crt, client.USER.crt and client.USER.key",
	    0, 0, NULL },
	{ "database", CFG_STRING, 1, NULL, "the database to back up", 0, 0, NULL },
	{ "listen", CFG_HOSTPORT, 0, "0.0.0.0:9188", "HOST:PORT the runner listens on for "
	    "CockroachDB", 0, 0, NULL },
	{ "advertise_url", CFG_URL, 0, NULL, "how CockroachDB reaches the runner, e.g. "
	    "http://runner.kbackup.svc:9188", 0, 0, NULL },
	{ "cockroach_bin", CFG_STRING, 0, "cockroach", "the cockroach binary", 0, 0, NULL },
	{ NULL, 0, 0, NULL, NULL, 0, 0, NULL }
};

/* --- the transfer route -------------------------------------------------- */

struct xfer {
	const char	*dir;
	int		 fd;
	char		*path;		/* PUT: final name */
	char		*tmp;		/* PUT: being written */
	uint64_t	 start, len;
	char		 crange[96];
	int		 failed;
};

/* A relative path of plain components: no "", ".", ".." and no leading '/'. */
static int
xfer_path_ok(const char *s)
{
	const char	*p = s, *e;
	size_t		 n;

	if (*s == '\0' || *s == '/' || strlen(s) > 1024)
		return 0;
	while (*p != '\0') {
		e = strchr(p, '/');
		n = e == NULL ? strlen(p) : (size_t)(e - p);
		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return 0;
		if (e == NULL)
			break;
		p = e + 1;
		if (*p == '\0')
			return 0;
	}
	return 1;
}

/* "bytes=A-B", "bytes=A-", "bytes=-N" against size; 0, or -1 if unsatisfiable. */
static int
parse_range(const char *h, uint64_t size, uint64_t *start, uint64_t *len)
{
	unsigned long long	a, b;
	char			*end;

	if (strncmp(h, "bytes=", 6) != 0)
		return -1;
	h += 6;
	if (*h == '-') {
		b = strtoull(h + 1, &end, 10);
		if (*end != '\0' || b == 0)
			return -1;
		if (b > size)
			b = size;
		*start = size - b;
		*len = b;
		return 0;
	}
	a = strtoull(h, &end, 10);
	if (*end != '-' || a >= size)
		return -1;
	h = end + 1;
	if (*h == '\0')
		b = size - 1;
	else {
		b = strtoull(h, &end, 10);
		if (*end != '\0' || b < a)
			return -1;
		if (b >= size)
			b = size - 1;
	}
	*start = a;
	*len = b - a + 1;
	return 0;
}

static int
xfer_begin(void *arg, const struct http_request *rq, void **state)
{
	const char	*dir = arg;
	struct xfer	*x;
	struct stat	 st;

	if (!xfer_path_ok(rq->suffix))
		return 400;
	x = xcalloc(1, sizeof(*x));
	x->dir = dir;
	x->fd = -1;
	x->path = path_join(dir, rq->suffix);
	if (strcmp(rq->method, "PUT") == 0) {
		if (mkdir_parent(x->path, 0700, NULL, 0) == -1)
			goto fail500;
		x->tmp = xasprintf("%s.kbput.XXXXXX", x->path);
		if ((x->fd = mkstemp(x->tmp)) == -1)
			goto fail500;
	} else if (strcmp(rq->method, "GET") == 0 || strcmp(rq->method, "HEAD") == 0) {
		if ((x->fd = open(x->path, O_RDONLY | O_CLOEXEC)) == -1 ||
		    fstat(x->fd, &st) == -1 || !S_ISREG(st.st_mode))
			goto fail404;
		x->start = 0;
		x->len = (uint64_t)st.st_size;
		if (rq->range != NULL) {
			if (parse_range(rq->range, x->len, &x->start, &x->len) == -1)
				goto fail416;
			snprintf(x->crange, sizeof(x->crange), "bytes %" PRIu64 "-%" PRIu64
			    "/%lld", x->start, x->start + x->len - 1, (long long)st.st_size);
		}
	} else if (strcmp(rq->method, "DELETE") != 0) {
		free(x->path);
		free(x);
		return 405;
	}
	*state = x;
	return 0;
fail416:
	close(x->fd);
	free(x->path);
	free(x);
	return 416;
fail404:
	if (x->fd != -1)
		close(x->fd);
	free(x->path);
	free(x);
	return 404;
fail500:
	free(x->tmp);
	free(x->path);
	free(x);
	return 500;
}

static int
xfer_data(void *arg, void *state, const char *buf, size_t len)
{
	struct xfer	*x = state;

	if (x->tmp == NULL || x->fd == -1)
		return -1;
	if (write_all(x->fd, buf, len) == -1) {
		x->failed = 1;
		return -1;
	}
	return 0;
}

static ssize_t
xfer_read(void *state, uint64_t pos, char *buf, size_t max)
{
	struct xfer	*x = state;
	ssize_t		 n;

	if (pos >= x->len)
		return 0;
	if (max > x->len - pos)
		max = (size_t)(x->len - pos);
	do
		n = pread(x->fd, buf, max, (off_t)(x->start + pos));
	while (n == -1 && errno == EINTR);
	return n;
}

static int
xfer_finish(void *arg, void *state, const struct http_request *rq, struct http_reply *rep)
{
	struct xfer	*x = state;

	if (x->tmp != NULL) {
		if (x->failed || fsync(x->fd) == -1 || close(x->fd) == -1) {
			x->fd = -1;
			return -1;
		}
		x->fd = -1;
		if (rename(x->tmp, x->path) == -1)
			return -1;
		free(x->tmp);
		x->tmp = NULL;
		rep->status = 201;
		return 0;
	}
	if (strcmp(rq->method, "DELETE") == 0) {
		if (unlink(x->path) == -1)
			rep->status = errno == ENOENT ? 404 : 500;
		else
			rep->status = 204;
		return 0;
	}
	rep->status = x->crange[0] != '\0' ? 206 : 200;
	rep->content_type = "application/octet-stream";
	rep->read = xfer_read;
	rep->size = x->len;
	rep->header_names[0] = "Accept-Ranges";
	rep->header_values[0] = "bytes";
	if (x->crange[0] != '\0') {
		rep->header_names[1] = "Content-Range";
		rep->header_values[1] = x->crange;
	}
	return 0;
}

static void
xfer_done(void *arg, void *state, int ok)
{
	struct xfer	*x = state;

	if (x->fd != -1)
		close(x->fd);
	if (x->tmp != NULL) {
		unlink(x->tmp);
		free(x->tmp);
	}
	free(x->path);
	free(x);
}

static const struct http_route_ops xfer_ops = {
	.begin = xfer_begin,
	.data = xfer_data,
	.finish = xfer_finish,
	.done = xfer_done,
};

/* --- serving a directory for one statement -------------------------------- */

static struct cr_job *
cr_priv(struct engine_job *job)
{
	struct cr_job	*cr;

	if (job->priv == NULL) {
		cr = xcalloc(1, sizeof(*cr));
		cr->files.fd = cr->tar.fd = -1;
		cr->pipe[0] = cr->pipe[1] = -1;
		job->priv = cr;
	}
	return job->priv;
}

static void
cr_stop_serving(struct cr_job *cr)
{
	if (cr->srv == NULL)
		return;
	http_route_remove(cr->srv, cr->prefix);
	http_stop(cr->srv);
	cr->srv = NULL;
	explicit_bzero(cr->prefix, sizeof(cr->prefix));
	if (cr->url != NULL)
		freezero(cr->url, strlen(cr->url));
	cr->url = NULL;
}

static void
cr_free(struct engine_job *job)
{
	struct cr_job	*cr = job->priv;

	if (cr == NULL)
		return;
	cr_stop_serving(cr);
	if (cr->pipe[1] != -1)
		close(cr->pipe[1]);
	if (cr->thread_running)
		pthread_join(cr->thread, NULL);
	if (cr->pipe[0] != -1)
		close(cr->pipe[0]);
	snapfile_discard(&cr->tar);
	if (cr->files.dir != NULL) {
		/* files.dir holds a tree: remove it with rm -r semantics. */
		const char *argv[] = { "rm", "-rf", "--", cr->files.dir, NULL };
		char err[KB_ERRLEN];
		if (child_run(argv, NULL, NULL, 0, err, sizeof(err)) == -1)
			log_warn("cannot remove %s: %s", cr->files.dir, err);
	}
	snapfile_discard(&cr->files);
	free(cr);
	job->priv = NULL;
}

/* advertise_url, or http://HOSTNAME:PORT from listen. */
static char *
cr_base_url(struct engine_job *job, uint16_t port)
{
	const char	*adv = config_get(job->section, "advertise_url");
	char		 host[256];
	size_t		 n;

	if (adv != NULL) {
		n = strlen(adv);
		return xasprintf("%.*s", (int)(n > 0 && adv[n - 1] == '/' ? n - 1 : n), adv);
	}
	host_name(host, sizeof(host), "localhost");
	return xasprintf("http://%s:%u", host, (unsigned)port);
}

static int
cr_serve(struct engine_job *job, struct cr_job *cr, char *err, size_t errlen)
{
	unsigned char	rnd[16];
	char		token[33], *base;

	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return errf(err, errlen, "RAND_bytes failed");
	hex_encode(rnd, sizeof(rnd), token);
	explicit_bzero(rnd, sizeof(rnd));
	snprintf(cr->prefix, sizeof(cr->prefix), "/transfer/%s/", token);
	explicit_bzero(token, sizeof(token));
	if (http_start(config_get(job->section, "listen"), &cr->srv, err, errlen) == -1)
		return errprefix(err, errlen, "listening for CockroachDB");
	if (http_route_add(cr->srv, cr->prefix, &xfer_ops, cr->files.dir, err, errlen) == -1) {
		http_stop(cr->srv);
		cr->srv = NULL;
		return -1;
	}
	base = cr_base_url(job, http_port(cr->srv));
	cr->url = xasprintf("%s%s", base, cr->prefix);
	free(base);
	return 0;
}

/* --- cockroach sql --------------------------------------------------------- */

/* Percent-encodes everything but unreserved characters. */
static char *
url_escape(const char *s)
{
	static const char	hex[] = "0123456789ABCDEF";
	char			*q, *p;

	q = p = xmalloc(3 * strlen(s) + 1);
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' &&
		    c <= '9') || c == '-' || c == '.' || c == '_' || c == '~')
			*p++ = (char)c;
		else {
			*p++ = '%';
			*p++ = hex[c >> 4];
			*p++ = hex[c & 15];
		}
	}
	*p = '\0';
	return q;
}

/* postgresql://USER@HOST:PORT/defaultdb?sslmode=...: no secret in it. */
static char *
cr_conn_url(struct engine_job *job)
{
	const struct config_section	*s = job->section;
	const char			*certs = config_get(s, "certs_dir");
	char				*user, *ssl, *url;

	user = url_escape(config_get(s, "user"));
	if (certs != NULL)
		ssl = xasprintf("sslmode=verify-full&sslrootcert=%s/ca.crt"
		    "&sslcert=%s/client.%s.crt&sslkey=%s/client.%s.key", certs, certs, user,
		    certs, user);
	else
		ssl = xstrdup("sslmode=disable");
	url = xasprintf("postgresql://%s@%s:%s/defaultdb?%s", user, config_get(s, "host"),
	    config_get(s, "port"), ssl);
	free(user);
	free(ssl);
	return url;
}

static int
cr_sql(struct engine_job *job, const char *sql, char *err, size_t errlen)
{
	struct child_args	 a = { 0 }, env = { 0 };
	struct child		 c;
	struct memfile		 pass = { -1, "" };
	const char		*pw = config_get(job->section, "password");
	char			*url;
	int			 rc;

	if (pw != NULL && pg_passfile_open(&pass, pw, err, errlen) == -1)
		return -1;
	child_args_add(&a, config_get(job->section, "cockroach_bin"));
	child_args_add(&a, "sql");
	child_args_add(&a, "--format=tsv");
	url = cr_conn_url(job);
	child_args_addf(&a, "--url=%s", url);
	free(url);
	if (pw != NULL)
		child_args_addf(&env, "PGPASSFILE=%s", pass.path);
	rc = child_spawn(&c, child_args_list(&a), child_args_list(&env), &pass,
	    CHILD_STDIN_PIPE | CHILD_STDOUT_LOG, err, errlen);
	child_args_free(&a);
	child_args_free(&env);
	memfile_close(&pass);
	if (rc == -1)
		return -1;
	if (write_all(c.in_fd, sql, strlen(sql)) == -1)
		log_debug("cockroach sql closed its input early");
	close(c.in_fd);
	c.in_fd = -1;
	return child_wait(&c, err, errlen);
}

/* "name" with "" doubled; 'text' with '' doubled. */
static char *
sql_quote(const char *s, char q)
{
	char	*r, *p;

	r = p = xmalloc(2 * strlen(s) + 3);
	*p++ = q;
	for (; *s != '\0'; s++) {
		if (*s == q)
			*p++ = q;
		*p++ = *s;
	}
	*p++ = q;
	*p = '\0';
	return r;
}

/* --- tar ------------------------------------------------------------------- */

static int
tar_add_dir(struct archive *a, const char *root, const char *rel, char *err, size_t errlen)
{
	DIR		*d;
	struct dirent	*de;
	struct stat	 st;
	char		*dir, *full, *name, buf[65536];
	ssize_t		 n;
	int		 fd, rc = 0;

	dir = rel[0] == '\0' ? xstrdup(root) : path_join(root, rel);
	if ((d = opendir(dir)) == NULL) {
		errf(err, errlen, "%s: %s", dir, strerror(errno));
		free(dir);
		return -1;
	}
	while (rc == 0 && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		full = path_join(dir, de->d_name);
		name = rel[0] == '\0' ? xstrdup(de->d_name) : path_join(rel, de->d_name);
		if (lstat(full, &st) == -1)
			rc = errf(err, errlen, "%s: %s", full, strerror(errno));
		else if (S_ISDIR(st.st_mode))
			rc = tar_add_dir(a, root, name, err, errlen);
		else if (S_ISREG(st.st_mode) && strstr(de->d_name, ".kbput.") == NULL) {
			struct archive_entry *e = archive_entry_new();
			archive_entry_set_pathname(e, name);
			archive_entry_set_size(e, st.st_size);
			archive_entry_set_filetype(e, AE_IFREG);
			archive_entry_set_perm(e, 0600);
			archive_entry_set_mtime(e, st.st_mtime, 0);
			if (archive_write_header(a, e) != ARCHIVE_OK)
				rc = errf(err, errlen, "tar: %s", archive_error_string(a));
			archive_entry_free(e);
			if (rc == 0 && (fd = open(full, O_RDONLY | O_CLOEXEC)) == -1)
				rc = errf(err, errlen, "%s: %s", full, strerror(errno));
			else if (rc == 0) {
				while (rc == 0 && (n = read(fd, buf, sizeof(buf))) > 0)
					if (archive_write_data(a, buf, (size_t)n) != n)
						rc = errf(err, errlen, "tar: %s",
						    archive_error_string(a));
				close(fd);
			}
		}
		free(full);
		free(name);
	}
	closedir(d);
	free(dir);
	return rc;
}

static int
tar_write(const char *root, const char *out, char *err, size_t errlen)
{
	struct archive	*a = archive_write_new();
	int		 rc;

	archive_write_set_format_pax_restricted(a);
	if (archive_write_open_filename(a, out) != ARCHIVE_OK) {
		errf(err, errlen, "%s: %s", out, archive_error_string(a));
		archive_write_free(a);
		return -1;
	}
	rc = tar_add_dir(a, root, "", err, errlen);
	if (archive_write_close(a) != ARCHIVE_OK && rc == 0)
		rc = errf(err, errlen, "tar: %s", archive_error_string(a));
	archive_write_free(a);
	return rc;
}

/* Unpacks the stream into files.dir: regular files with safe names only. */
static void *
tar_read_thread(void *arg)
{
	struct cr_job		*cr = arg;
	struct archive		*a = archive_read_new();
	struct archive_entry	*e;
	char			*path, buf[65536];
	const char		*name;
	la_ssize_t		 n;
	int			 fd, r;

	cr->thread_rc = -1;
	archive_read_support_format_tar(a);
	if (archive_read_open_fd(a, cr->pipe[0], 65536) != ARCHIVE_OK) {
		errf(cr->thread_err, sizeof(cr->thread_err), "tar: %s", archive_error_string(a));
		goto out;
	}
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		name = archive_entry_pathname(e);
		if (archive_entry_filetype(e) != AE_IFREG)
			continue;
		if (name == NULL || !xfer_path_ok(name)) {
			errf(cr->thread_err, sizeof(cr->thread_err), "tar: unsafe name %.100s",
			    name != NULL ? name : "(none)");
			goto out;
		}
		path = path_join(cr->files.dir, name);
		if (mkdir_parent(path, 0700, NULL, 0) == -1 ||
		    (fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) == -1) {
			errf(cr->thread_err, sizeof(cr->thread_err), "%s: %s", path,
			    strerror(errno));
			free(path);
			goto out;
		}
		free(path);
		while ((n = archive_read_data(a, buf, sizeof(buf))) > 0)
			if (write_all(fd, buf, (size_t)n) == -1)
				break;
		close(fd);
		if (n != 0) {
			errf(cr->thread_err, sizeof(cr->thread_err), "tar: %s",
			    n < 0 ? archive_error_string(a) : strerror(errno));
			goto out;
		}
	}
	if (r != ARCHIVE_EOF) {
		errf(cr->thread_err, sizeof(cr->thread_err), "tar: %s", archive_error_string(a));
		goto out;
	}
	cr->thread_rc = 0;
out:
	archive_read_free(a);
	/* Whatever is left: read it, so the writer never blocks on a full pipe. */
	read_to_end(cr->pipe[0]);
	return NULL;
}

/* --- the engine ------------------------------------------------------------ */

static int
cr_files_dir(struct engine_job *job, struct cr_job *cr, char *err, size_t errlen)
{
	if (snapfile_prepare(&cr->files, job->tmpdir, "cockroach", err, errlen) == -1)
		return -1;
	free(cr->files.path);
	cr->files.path = NULL;
	return 0;
}

static int
cr_backup_begin(struct engine_job *job, int *fd, char *err, size_t errlen)
{
	struct cr_job	*cr = cr_priv(job);
	char		*db, *url, *sql;
	int		 rc;

	if (cr_files_dir(job, cr, err, errlen) == -1 || cr_serve(job, cr, err, errlen) == -1)
		goto fail;
	db = sql_quote(config_get(job->section, "database"), '"');
	url = sql_quote(cr->url, '\'');
	sql = xasprintf("BACKUP DATABASE %s INTO %s AS OF SYSTEM TIME '-10s';\n", db, url);
	log_kv(LOGL_INFO, "BACKUP DATABASE into the runner", "database",
	    config_get(job->section, "database"), NULL);
	rc = cr_sql(job, sql, err, errlen);
	freezero(sql, strlen(sql));
	freezero(url, strlen(url));
	free(db);
	cr_stop_serving(cr);
	if (rc == -1) {
		errprefix(err, errlen, "BACKUP");
		goto fail;
	}
	if (snapfile_prepare(&cr->tar, job->tmpdir, "cockroach-tar", err, errlen) == -1 ||
	    tar_write(cr->files.dir, cr->tar.path, err, errlen) == -1 ||
	    snapfile_open(&cr->tar, err, errlen) == -1)
		goto fail;
	*fd = cr->tar.fd;
	return 0;
fail:
	cr_free(job);
	return -1;
}

static int
cr_backup_end(struct engine_job *job, int aborted, char *err, size_t errlen)
{
	cr_free(job);
	return 0;
}

static int
cr_restore_begin(struct engine_job *job, int *fd, char *err, size_t errlen)
{
	struct cr_job	*cr = cr_priv(job);

	if (cr_files_dir(job, cr, err, errlen) == -1)
		goto fail;
	if (pipe(cr->pipe) == -1) {
		errf(err, errlen, "pipe: %s", strerror(errno));
		cr->pipe[0] = cr->pipe[1] = -1;
		goto fail;
	}
	if (pthread_create(&cr->thread, NULL, tar_read_thread, cr) != 0) {
		errf(err, errlen, "pthread_create failed");
		goto fail;
	}
	cr->thread_running = 1;
	*fd = cr->pipe[1];
	return 0;
fail:
	cr_free(job);
	return -1;
}

static int
cr_restore_end(struct engine_job *job, int aborted, char *err, size_t errlen)
{
	struct cr_job	*cr = job->priv;
	const char	*db = config_get(job->section, "database");
	char		*qdb, *url, *sql, *newname = NULL;
	int		 rc = -1;

	if (cr == NULL)
		return 0;
	close(cr->pipe[1]);
	cr->pipe[1] = -1;
	pthread_join(cr->thread, NULL);
	cr->thread_running = 0;
	if (aborted) {
		errf(err, errlen, "aborted");
		goto out;
	}
	if (cr->thread_rc == -1) {
		errf(err, errlen, "%s", cr->thread_err);
		goto out;
	}
	if (cr_serve(job, cr, err, errlen) == -1)
		goto out;
	qdb = sql_quote(db, '"');
	url = sql_quote(cr->url, '\'');
	if (job->database != NULL && strcmp(job->database, db) != 0)
		newname = sql_quote(job->database, '\'');
	sql = xasprintf("RESTORE DATABASE %s FROM LATEST IN %s%s%s;\n", qdb, url,
	    newname != NULL ? " WITH new_db_name = " : "", newname != NULL ? newname : "");
	rc = cr_sql(job, sql, err, errlen);
	if (rc == -1)
		errprefix(err, errlen, "RESTORE");
	freezero(sql, strlen(sql));
	freezero(url, strlen(url));
	free(qdb);
	free(newname);
out:
	cr_free(job);
	return rc;
}

static int
cr_check(struct engine_job *job, char *err, size_t errlen)
{
	return cr_sql(job, "SELECT 1;\n", err, errlen);
}

static int
cr_tool_version(struct engine_job *job, char *buf, size_t len)
{
	char	version[256];
	int	rc;

	rc = child_tool_version(version, sizeof(version),
	    config_get(job->section, "cockroach_bin"), "version", "--build-tag", NULL);
	if (rc == 0)
		snprintf(buf, len, "cockroach %s", version);
	return rc;
}

static void
cr_pod(const struct config_section *section, struct engine_pod *pod)
{
	const char	*listen = config_get(section, "listen");
	const char	*colon;

	colon = listen != NULL ? strrchr(listen, ':') : NULL;
	pod->ports[0] = colon != NULL ? atoi(colon + 1) : 9188;
}

/* What the config schema and the operator read. */
const struct engine_desc engine_cockroach_desc = {
	.name = "cockroach",
	.keys = cockroach_keys,
	.pod = cr_pod,
};

const struct engine_ops engine_cockroach = {
	.desc = &engine_cockroach_desc,
	.backup_begin = cr_backup_begin,
	.backup_end = cr_backup_end,
	.restore_begin = cr_restore_begin,
	.restore_end = cr_restore_end,
	.check = cr_check,
	.tool_version = cr_tool_version,
};
