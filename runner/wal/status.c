/*
 * status: WAL archiving's counts between wal-push runs.  See status.h.
 */
#include <sys/file.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "common/log.h"
#include "common/proc.h"
#include "common/util.h"
#include "common/xjson.h"
#include "runner/wal/status.h"

#define STATUS_FILE	"wal-status.json"
#define STATUS_LOCK	"wal-status.lock"
#define STATUS_MAX	4096

static uint64_t
get_u64(const json_t *o, const char *key)
{
	json_int_t	v = json_integer_value(json_object_get(o, key));

	return v > 0 ? (uint64_t)v : 0;
}

int
wal_status_read(const char *state_dir, struct wal_status *s)
{
	char		*path, *buf;
	const char	*name;
	size_t		 len;
	json_t		*o;
	json_error_t	 je;

	memset(s, 0, sizeof(*s));
	path = path_join(state_dir, STATUS_FILE);
	if (read_file(path, STATUS_MAX, &buf, &len, NULL, 0) == -1) {
		free(path);
		return -1;
	}
	free(path);
	o = json_loadb(buf, len, 0, &je);
	free(buf);
	if (!json_is_object(o)) {
		json_decref(o);
		return -1;
	}
	if ((name = json_string_value(json_object_get(o, "last_file"))) != NULL)
		strlcpy(s->last_file, name, sizeof(s->last_file));
	s->last_archived = (time_t)get_u64(o, "last_archived");
	s->archived = get_u64(o, "archived");
	s->failed = get_u64(o, "failed");
	s->pending_since = (time_t)get_u64(o, "pending_since");
	s->running_pid = (long)get_u64(o, "running_pid");
	s->running_start = (unsigned long long)get_u64(o, "running_start");
	json_decref(o);
	return 0;
}

/* Replaces the file by rename, without fsync: losing it in a crash loses only counts. */
static int
status_write(const char *state_dir, const struct wal_status *s)
{
	char	*path, *tmp, *text;
	json_t	*o;
	int	 fd, rc = -1;

	o = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I}", "last_file", s->last_file,
	    "last_archived", (json_int_t)s->last_archived, "archived", (json_int_t)s->archived,
	    "failed", (json_int_t)s->failed, "pending_since", (json_int_t)s->pending_since,
	    "running_pid", (json_int_t)s->running_pid,
	    "running_start", (json_int_t)s->running_start);
	text = xjson_dumps(o, JSON_COMPACT);
	path = path_join(state_dir, STATUS_FILE);
	tmp = xasprintf("%s.%ld", path, (long)getpid());
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) != -1) {
		rc = write_all(fd, text, strlen(text));
		if (close(fd) == -1 || (rc == 0 && rename(tmp, path) == -1))
			rc = -1;
	}
	if (rc == -1)
		unlink(tmp);
	free(text);
	free(tmp);
	free(path);
	return rc;
}

/* The status file, locked: the lock's fd (close it to unlock), or -1. */
static int
status_lock(const char *state_dir, struct wal_status *s)
{
	char	*lock, err[KB_ERRLEN];
	int	 fd;

	if (mkdir_p(state_dir, 0700, err, sizeof(err)) == -1) {
		log_kv(LOGL_DEBUG, "WAL status not kept", "error", err, NULL);
		return -1;
	}
	lock = path_join(state_dir, STATUS_LOCK);
	fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	free(lock);
	if (fd == -1 || flock(fd, LOCK_EX) == -1) {
		log_kv(LOGL_DEBUG, "WAL status not kept", "error", strerror(errno), NULL);
		if (fd != -1)
			close(fd);
		return -1;
	}
	wal_status_read(state_dir, s);
	return fd;
}

static void
status_unlock(const char *state_dir, const struct wal_status *s, int fd)
{
	if (status_write(state_dir, s) == -1)
		log_kv(LOGL_DEBUG, "WAL status not kept", "error", strerror(errno), NULL);
	close(fd);
}

/* A push the status says is under way, and whose process is not ours nor alive. */
static int
running_gone(const struct wal_status *s)
{
	return s->running_pid != 0 && s->running_pid != (long)getpid() &&
	    proc_running_as_us((pid_t)s->running_pid, s->running_start) != 1;
}

void
wal_status_begin(const char *state_dir)
{
	struct wal_status	s;
	unsigned long long	start;
	int			fd;

	if ((fd = status_lock(state_dir, &s)) == -1)
		return;
	if (running_gone(&s)) {
		s.failed++;
		s.running_pid = 0;
	}
	if (s.running_pid == 0 && proc_start_ticks(getpid(), &start) == 0) {
		s.running_pid = (long)getpid();
		s.running_start = start;
	}
	status_unlock(state_dir, &s, fd);
}

void
wal_status_update(const char *state_dir, const char *name, int ok, time_t pending_since)
{
	struct wal_status	s;
	int			fd;

	if ((fd = status_lock(state_dir, &s)) == -1)
		return;
	if (ok) {
		strlcpy(s.last_file, name, sizeof(s.last_file));
		s.last_archived = time(NULL);
		s.archived++;
	} else
		s.failed++;
	s.pending_since = pending_since;
	if (s.running_pid == (long)getpid())
		s.running_pid = 0;
	status_unlock(state_dir, &s, fd);
}
