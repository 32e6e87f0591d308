/*
 * registry: the engines kbackup knows, in two tables: what the config
 * schema and the operator read of each (engine_descs), and what the runner
 * runs (engine_registry).  The operator is linked with --gc-sections and
 * references only the first, so none of the engines' tools code, nor the
 * libraries it needs (libmicrohttpd, libarchive), is in it.  Adding an
 * engine: its file, and its line in each table.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "engines/engine.h"

extern const struct engine_desc engine_postgres_desc;
extern const struct engine_desc engine_cockroach_desc;
extern const struct engine_desc engine_etcd_desc;
extern const struct engine_desc engine_sqlite_desc;
extern const struct engine_desc engine_redis_desc;
extern const struct engine_desc engine_mysql_desc;
extern const struct engine_ops engine_postgres;
extern const struct engine_ops engine_cockroach;
extern const struct engine_ops engine_etcd;
extern const struct engine_ops engine_sqlite;
extern const struct engine_ops engine_redis;
extern const struct engine_ops engine_mysql;

const struct engine_desc *const engine_descs[] = {
	&engine_postgres_desc,
	&engine_cockroach_desc,
	&engine_etcd_desc,
	&engine_mysql_desc,
	&engine_redis_desc,
	&engine_sqlite_desc,
	NULL
};

const struct engine_ops *const engine_registry[] = {
	&engine_postgres,
	&engine_cockroach,
	&engine_etcd,
	&engine_mysql,
	&engine_redis,
	&engine_sqlite,
	NULL
};

const struct engine_ops *
engine_find(const char *name)
{
	size_t	i;

	for (i = 0; engine_registry[i] != NULL; i++)
		if (strcmp(engine_registry[i]->desc->name, name) == 0)
			return engine_registry[i];
	return NULL;
}

const struct engine_desc *
engine_desc_find(const char *name)
{
	size_t	i;

	for (i = 0; engine_descs[i] != NULL; i++)
		if (strcmp(engine_descs[i]->name, name) == 0)
			return engine_descs[i];
	return NULL;
}

const char *
engine_names(void)
{
	static char	names[256];
	size_t		i;

	if (names[0] != '\0')
		return names;
	for (i = 0; engine_descs[i] != NULL; i++) {
		if (i > 0)
			strlcat(names, "|", sizeof(names));
		strlcat(names, engine_descs[i]->name, sizeof(names));
	}
	return names;
}

const char *
engine_part_database(const char *part)
{
	size_t	len = strlen(ENGINE_PART_DATABASE);

	if (part == NULL || strncmp(part, ENGINE_PART_DATABASE, len) != 0 ||
	    part[len] == '\0')
		return NULL;
	return part + len;
}

/*
 * A part's name is whatever the server calls the database, newlines too:
 * control characters are shown as \xNN, so that a name (or a manifest
 * rewritten to hold one) cannot add a line to the one line per backup of
 * verify and list.
 */
void
engine_name_show(const char *name, char *buf, size_t len)
{
	const char	*s;
	size_t		 n = 0;

	if (len == 0)
		return;
	for (s = name; *s != '\0' && n + 5 < len; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			n += (size_t)snprintf(buf + n, len - n, "\\x%02x", (unsigned char)*s);
		else
			buf[n++] = *s;
	}
	buf[n] = '\0';
}

void
engine_part_describe(const char *part, char *buf, size_t len)
{
	const char	*db = engine_part_database(part);
	size_t		 n;

	if (db == NULL) {
		engine_name_show(part, buf, len);
		return;
	}
	if ((n = strlcpy(buf, "database ", len)) < len)
		engine_name_show(db, buf + n, len - n);
}

void
engine_log_created_drop(const char *database, int rc, const char *err)
{
	if (rc == -1)
		log_kv(LOGL_ERROR, "cannot drop the database the failed restore created: drop "
		    "it by hand", "database", database, "error", err, NULL);
	else
		log_kv(LOGL_INFO, "dropped the database the failed restore had created",
		    "database", database, NULL);
}

char **
engine_lines(const char *text)
{
	char	**lines = xcalloc(1, sizeof(*lines));
	size_t	  n = 0, len;

	while (text != NULL && *text != '\0') {
		len = strcspn(text, "\n");
		if (len > 0) {
			lines = xreallocarray(lines, n + 2, sizeof(*lines));
			lines[n++] = xstrndup(text, len);
			lines[n] = NULL;
		}
		text += len;
		text += *text == '\n';
	}
	return lines;
}

int
engine_sanity_done(struct engine_sanity *s, int rc, char *text)
{
	char	*line, *save = NULL, *tab;

	if (rc == -1) {
		free(text);
		return -1;
	}
	for (line = text == NULL ? NULL : strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if ((tab = strchr(line, '\t')) == NULL)
			continue;
		*tab = '\0';
		s->tables = xreallocarray(s->tables, s->ntables + 1, sizeof(*s->tables));
		s->tables[s->ntables].table = xstrdup(line);
		s->tables[s->ntables].rows = strtoull(tab + 1, NULL, 10);
		s->ntables++;
	}
	free(text);
	return 0;
}

void
engine_sanity_free(struct engine_sanity *s)
{
	size_t	i;

	for (i = 0; i < s->ntables; i++)
		free(s->tables[i].table);
	free(s->tables);
	s->tables = NULL;
	s->ntables = 0;
}
