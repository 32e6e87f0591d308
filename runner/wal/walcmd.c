/*
 * walcmd: wal-push and wal-get.  See walcmd.h.
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
#include "runner/cmd/jobs.h"
#include "runner/stream/keys.h"
#include "runner/wal/archive.h"
#include "runner/wal/pitr.h"
#include "runner/wal/status.h"
#include "runner/wal/walcmd.h"

static const char *
base_name(const char *path)
{
	const char	*slash = strrchr(path, '/');

	return slash != NULL ? slash + 1 : path;
}

/*
 * The oldest segment PostgreSQL has completed and not yet seen archived
 * (its .ready files in pg_wal/archive_status, the one being pushed left out
 * once it is stored): where the archive lag is measured from.
 */
static time_t
pending_since(const char *path, const char *pushed, int ok)
{
	char		*dir, *status, *file, *dot;
	DIR		*d;
	struct dirent	*de;
	struct stat	 sb;
	time_t		 oldest = 0;
	size_t		 plen = strlen(pushed);

	dir = xstrdup(path);
	if ((dot = strrchr(dir, '/')) != NULL)
		*dot = '\0';
	else
		strlcpy(dir, ".", strlen(dir) + 1);
	status = path_join(dir, "archive_status");
	free(dir);
	if ((d = opendir(status)) == NULL) {
		free(status);
		return 0;
	}
	while ((de = readdir(d)) != NULL) {
		if ((dot = strrchr(de->d_name, '.')) == NULL || strcmp(dot, ".ready") != 0)
			continue;
		if (ok && (size_t)(dot - de->d_name) == plen &&
		    strncmp(de->d_name, pushed, plen) == 0)
			continue;
		file = path_join(status, de->d_name);
		if (stat(file, &sb) == 0 && (oldest == 0 || sb.st_mtime < oldest))
			oldest = sb.st_mtime;
		free(file);
	}
	closedir(d);
	free(status);
	return oldest;
}

/* The file at fd, scanned as h, into one location. */
static int
push_location(struct runner *r, struct location *loc, int fd, const struct walobj_head *h,
    const struct wal_store_opts *o, char *err, size_t errlen)
{
	struct keyring		kr;
	struct wal_identity	id;
	char			stored[16], *cache;
	int			same = 0, rc;

	if (keyring_load(loc->section, &kr, err, errlen) == -1)
		return -1;
	rc = 0;
	if (h->kind == PG_WAL_SEGMENT || h->kind == PG_WAL_PARTIAL) {
		id.sysid = h->sysid;
		id.segsize = h->size;
		cache = wal_identity_cache(r->state_dir);
		rc = wal_identity_check(loc, r->base, &id, cache, err, errlen);
		free(cache);
	}
	if (rc == 0)
		rc = wal_store(loc, r->base, &kr, fd, h, o, &same, err, errlen);
	keyring_free(&kr);
	if (rc == 0) {
		format_bytes(h->size, stored);
		log_kv(LOGL_INFO, same ? "already archived, with the same content" :
		    "archived", "file", h->name, "location", loc->desc, "size", stored, NULL);
	}
	return rc;
}

int
job_wal_push(struct runner *r, const char *path)
{
	struct walobj_head	h;
	struct wal_store_opts	o;
	const char		*name = base_name(path);
	char			err[KB_ERRLEN];
	size_t			i;
	int			fd, rc = 0;

	/* Another definition's config in archive_command would take the WAL in. */
	if (!pitr_on(r)) {
		log_kv(LOGL_ERROR, "wal-push needs [postgres] method = physical: is "
		    "archive_command given the right config?", "engine", r->engine->desc->name,
		    NULL);
		return EXIT_USAGE;
	}
	wal_status_begin(r->state_dir);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		log_kv(LOGL_ERROR, "wal-push: cannot open the file", "path", path, "error",
		    strerror(errno), NULL);
		wal_status_update(r->state_dir, name, 0, pending_since(path, name, 0));
		return EXIT_JOB;
	}
	wal_store_opts(r, &o);
	if (wal_file_scan(fd, name, &h, NULL, err, sizeof(err)) == -1)
		rc = -1;
	for (i = 0; rc == 0 && i < r->nlocations; i++)
		rc = push_location(r, &r->locations[i], fd, &h, &o, err, sizeof(err));
	close(fd);
	if (rc == -1)
		log_kv(LOGL_ERROR, "wal-push failed: PostgreSQL keeps the file and tries again",
		    "file", name, "error", err, NULL);
	wal_status_update(r->state_dir, name, rc == 0, pending_since(path, name, rc == 0));
	return rc == 0 ? EXIT_OK : EXIT_JOB;
}

/*
 * restore_command runs in the data directory: a segment of another database
 * system than the cluster being recovered is refused (global/pg_control
 * begins with the system identifier, in the server's byte order).  Not in a
 * data directory, nothing to compare with.
 */
static int
same_system(const struct walobj_head *h, char *err, size_t errlen)
{
	unsigned char	buf[8];
	uint64_t	sysid;
	int		fd;
	ssize_t		n;

	if (h->kind != PG_WAL_SEGMENT && h->kind != PG_WAL_PARTIAL)
		return 0;
	if ((fd = open("global/pg_control", O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	n = read_full(fd, buf, sizeof(buf));
	close(fd);
	if (n != (ssize_t)sizeof(buf))
		return 0;
	sysid = le64_get(buf);
	if (sysid != h->sysid)
		return errf(err, errlen, "%s belongs to database system %llu, this cluster "
		    "(global/pg_control) is %llu", h->name, (unsigned long long)h->sysid,
		    (unsigned long long)sysid);
	return 0;
}

/* Syntax only: any segment size (1 MiB: the most segments per 4 GiB). */
static int
name_ok(const char *name)
{
	struct pg_wal_name	n;

	return strchr(name, '/') == NULL && pg_wal_name_parse(name, 1 << 20, &n) == 0;
}

/*
 * A file absent from an archive that is not there at all (a file storage's
 * mount gone, a path or prefix changed) is no end of the archive: exit 1
 * would have PostgreSQL promote early, short of the target.  wal-push writes
 * archive.json with the first segment, so an archive without it holds none.
 */
static int
archive_there(struct location *loc, const char *base, char *err, size_t errlen)
{
	struct wal_identity	id;
	int			missing = 0;

	if (wal_identity_read(loc->st, base, &id, &missing, err, errlen) == 0)
		return 0;
	if (missing)
		errf(err, errlen, "there is no WAL archive in %s (no archive.json): is the "
		    "store mounted, the path or prefix right?", loc->desc);
	return -1;
}

int
job_wal_get(struct runner *r, const char *name, const char *dest, const char *storage)
{
	struct location		*loc;
	struct keyring		 kr;
	struct walobj_head	 h;
	char			 err[KB_ERRLEN], *tmp;
	int			 fd, missing = 0, rc;

	if (!name_ok(name)) {
		log_kv(LOGL_ERROR, "wal-get: not the name of a WAL file", "name", name, NULL);
		return EXIT_USAGE;
	}
	/*
	 * A config without the WAL archive would answer "not in the archive"
	 * for every file: PostgreSQL would end recovery and promote at once.
	 */
	if (!pitr_on(r)) {
		log_kv(LOGL_ERROR, "wal-get needs [postgres] method = physical: is "
		    "restore_command given the right config?", "engine", r->engine->desc->name,
		    NULL);
		return EXIT_WAL_REFUSED;
	}
	if ((loc = job_location(r, storage)) == NULL)
		return EXIT_USAGE;
	if (keyring_load(loc->section, &kr, err, sizeof(err)) == -1) {
		log_kv(LOGL_ERROR, "wal-get: bad encryption key", "error", err, NULL);
		return EXIT_WAL_REFUSED;
	}
	tmp = xasprintf("%s.kbtmp.%ld", dest, (long)getpid());
	if ((fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) == -1) {
		log_kv(LOGL_ERROR, "wal-get: cannot create the file", "path", tmp, "error",
		    strerror(errno), NULL);
		keyring_free(&kr);
		free(tmp);
		return EXIT_WAL_REFUSED;
	}
	rc = wal_fetch(loc, &kr, r->base, name, fd, &h, &missing, err, sizeof(err));
	keyring_free(&kr);
	if (rc == 0)
		rc = same_system(&h, err, sizeof(err));
	if (close(fd) == -1 && rc == 0)
		rc = errf(err, sizeof(err), "%s: %s", tmp, strerror(errno));
	if (rc == 0 && rename(tmp, dest) == -1)
		rc = errf(err, sizeof(err), "%s: %s", dest, strerror(errno));
	if (rc == -1)
		unlink(tmp);
	free(tmp);
	if (rc == -1 && missing && archive_there(loc, r->base, err, sizeof(err)) == -1)
		missing = 0;
	if (rc == -1 && missing) {
		log_kv(LOGL_INFO, "wal-get: not in the archive", "file", name, "location",
		    loc->desc, NULL);
		return EXIT_JOB;
	}
	if (rc == -1) {
		log_kv(LOGL_ERROR, "wal-get refused the file: recovery stops here (fix the "
		    "cause and start the server again)", "file", name, "error", err, NULL);
		return EXIT_WAL_REFUSED;
	}
	log_kv(LOGL_INFO, "restored from the archive", "file", name, "location", loc->desc,
	    NULL);
	return EXIT_OK;
}
