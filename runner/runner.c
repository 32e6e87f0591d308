/*
 * runner: the command context and the storage layout.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/sha.h>

#include "common/log.h"
#include "common/util.h"
#include "runner/runner.h"

static const char *runner_workdir(struct runner *);
static char *control_path(const struct runner *);

void
runner_init(struct runner *r, struct config *cfg)
{
	memset(r, 0, sizeof(*r));
	r->cfg = cfg;
	r->backup = config_section(cfg, "backup");
	r->name = config_get(r->backup, "name");
	r->namespace_ = config_get(r->backup, "namespace");
	r->workdir = runner_workdir(r);
	r->engine = engine_find(config_get(r->backup, "engine"));
	r->engine_section = config_section(cfg, r->engine->desc->name);
	r->base = xasprintf("%s/%s", r->namespace_, r->name);
	r->state_dir = xasprintf("%s/%s.%s", r->workdir, r->namespace_, r->name);
	r->tmpdir = path_join(r->state_dir, "tmp");
	r->scratchdir = path_join(r->state_dir, "scratch");
	r->control_path = control_path(r);
}

static char *
control_path(const struct runner *r)
{
	struct sockaddr_un	 sun;
	unsigned char		 md[SHA256_DIGEST_LENGTH];
	char			*path, hex[17];

	path = path_join(r->state_dir, "control.sock");
	if (strlen(path) < sizeof(sun.sun_path))
		return path;
	free(path);
	SHA256((const unsigned char *)r->base, strlen(r->base), md);
	hex_encode(md, 8, hex);
	return xasprintf("%s/kb-%s.sock", r->workdir, hex);
}

/*
 * workdir as the config gives it; when it does not, systemd's
 * $STATE_DIRECTORY (StateDirectory=kbackup/%i: a directory per unit
 * instance), else the same directory as the shipped units give the config
 * file's instance, the schema's default followed by the file's name less
 * ".conf": /etc/kbackup/orders.conf runs in /var/lib/kbackup/orders from a
 * shell as under kbackup-runnerd@orders, so that trigger finds the daemon's
 * socket and --once takes the daemon's lock.
 */
static const char *
runner_workdir(struct runner *r)
{
	const struct config_section	*backup = r->backup;
	const char			*dir, *base;
	size_t				 len;

	if ((dir = config_given(backup, "workdir")) != NULL)
		return dir;
	if ((dir = getenv("STATE_DIRECTORY")) != NULL && *dir == '/' &&
	    strchr(dir, ':') == NULL)
		return dir;
	base = strrchr(r->cfg->path, '/');
	base = base != NULL ? base + 1 : r->cfg->path;
	len = strlen(base);
	if (len > 5 && strcmp(base + len - 5, ".conf") == 0)
		len -= 5;
	r->workdir_own = xasprintf("%s/%.*s", config_get(backup, "workdir"), (int)len, base);
	return r->workdir_own;
}

static int
read_runner_id(const char *path, char id[13])
{
	char	*buf;
	size_t	 len, i;

	if (read_file(path, 64, &buf, &len, NULL, 0) == -1)
		return -1;
	if (len < 12) {
		free(buf);
		return -1;
	}
	for (i = 0; i < 12; i++)
		if (strchr("0123456789abcdef", buf[i]) == NULL) {
			free(buf);
			return -1;
		}
	memcpy(id, buf, 12);
	id[12] = '\0';
	free(buf);
	return 0;
}

int
runner_state_read(struct runner *r)
{
	char	*path;
	int	 rc = 0;

	if (r->runner_id[0] != '\0')
		return 0;
	path = path_join(r->state_dir, "runner-id");
	if (read_runner_id(path, r->runner_id) == -1) {
		r->runner_id[0] = '\0';
		rc = -1;
	}
	free(path);
	return rc;
}

int
runner_state_open(struct runner *r, char *err, size_t errlen)
{
	unsigned char	 rnd[6];
	char		*path, line[14];
	int		 rc = 0;

	if (r->runner_id[0] != '\0')
		return 0;
	if (mkdir_p(r->tmpdir, 0700, err, errlen) == -1)
		return errprefix(err, errlen, "state directory");
	path = path_join(r->state_dir, "runner-id");
	if (read_runner_id(path, r->runner_id) == -1) {
		arc4random_buf(rnd, sizeof(rnd));
		hex_encode(rnd, sizeof(rnd), r->runner_id);
		snprintf(line, sizeof(line), "%s\n", r->runner_id);
		if (write_file_atomic(path, line, strlen(line), 0600, err, errlen) == -1) {
			r->runner_id[0] = '\0';
			rc = errprefix(err, errlen, "runner id");
		}
	}
	free(path);
	return rc;
}

void
runner_state_sweep(struct runner *r)
{
	DIR		*d;
	struct dirent	*de;
	char		*path;

	if ((d = opendir(r->tmpdir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		path = path_join(r->tmpdir, de->d_name);
		if (unlink(path) == 0)
			log_kv(LOGL_INFO, "removed what a killed job left", "path", path, NULL);
		free(path);
	}
	closedir(d);
}

int
runner_open_storage(struct runner *r, char *err, size_t errlen)
{
	const struct config_section	*s;
	struct location			*loc;
	size_t				 i;

	for (i = 0; (s = config_section_nth(r->cfg, "storage", i)) != NULL; i++) {
		r->locations = xreallocarray(r->locations, r->nlocations + 1,
		    sizeof(*r->locations));
		loc = &r->locations[r->nlocations];
		memset(loc, 0, sizeof(*loc));
		loc->section = s;
		if (storage_open(s, &loc->st, err, errlen) == -1)
			return -1;
		loc->st->ops->describe(loc->st, loc->desc, sizeof(loc->desc));
		r->nlocations++;
	}
	return 0;
}

void
runner_free(struct runner *r)
{
	size_t	i;

	for (i = 0; i < r->nlocations; i++)
		storage_close(r->locations[i].st);
	free(r->locations);
	free(r->base);
	free(r->state_dir);
	free(r->tmpdir);
	free(r->scratchdir);
	free(r->control_path);
	free(r->workdir_own);
	config_free(r->cfg);
	memset(r, 0, sizeof(*r));
}

const struct config_section *
runner_location_section(const struct runner *r, const char *name)
{
	const struct config_section	*s;
	size_t				 i;

	for (i = 0; (s = config_section_nth(r->cfg, "storage", i)) != NULL; i++)
		if (strcmp(s->label != NULL ? s->label : "default", name) == 0)
			return s;
	return NULL;
}

struct location *
runner_location(struct runner *r, const char *name)
{
	size_t	i;

	for (i = 0; i < r->nlocations; i++)
		if (strcmp(r->locations[i].st->name, name) == 0)
			return &r->locations[i];
	return NULL;
}

void
runner_engine_job(struct runner *r, struct engine_job *job, const char *database)
{
	memset(job, 0, sizeof(*job));
	job->ops = r->engine;
	job->config = r->cfg;
	job->section = r->engine_section;
	job->tmpdir = r->tmpdir;
	job->scratchdir = r->scratchdir;
	job->runner_id = r->runner_id;
	job->database = database;
}
