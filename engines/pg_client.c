/*
 * pg_client: the installed PostgreSQL client majors and the choice among them.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "engines/pg_client.h"

const char *
pg_client_root(void)
{
	const char	*root = getenv(PG_CLIENT_ROOT_ENV);

	return root != NULL && *root != '\0' ? root : PG_CLIENT_ROOT;
}

static int
int_cmp(const void *a, const void *b)
{
	int	x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/* A directory name that is a major version: digits only ("9.6" is none we can use). */
static int
major_of(const char *name)
{
	const char	*errstr;
	long long	 v;

	if (name[0] == '\0' || strspn(name, "0123456789") != strlen(name))
		return -1;
	v = strtonum(name, 1, 999, &errstr);
	return errstr == NULL ? (int)v : -1;
}

int *
pg_client_majors(const char *root, size_t *n)
{
	DIR		*d;
	struct dirent	*de;
	int		*v = NULL, major;
	char		*p;

	*n = 0;
	if ((d = opendir(root)) == NULL)
		return NULL;
	while ((de = readdir(d)) != NULL) {
		if ((major = major_of(de->d_name)) == -1)
			continue;
		p = xasprintf("%s/%s/bin/pg_dump", root, de->d_name);
		if (access(p, X_OK) == 0) {
			v = xreallocarray(v, *n + 1, sizeof(*v));
			v[(*n)++] = major;
		}
		free(p);
	}
	closedir(d);
	if (*n > 0)
		qsort(v, *n, sizeof(*v), int_cmp);
	return v;
}

int
pg_client_choose(const int *majors, size_t n, int server_major)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (majors[i] == server_major)
			return server_major;
	if (n > 0 && majors[n - 1] > server_major)
		return majors[n - 1];
	return -1;
}

int
pg_client_server_version(const char *text, int *major, char *version, size_t len)
{
	const char	*errstr, *tab;
	char		 num[16];
	long long	 v;
	size_t		 n;

	if ((tab = strchr(text, '\t')) == NULL || (size_t)(tab - text) >= sizeof(num))
		return -1;
	memcpy(num, text, (size_t)(tab - text));
	num[tab - text] = '\0';
	v = strtonum(num, 10000, 9999999, &errstr);
	if (errstr != NULL)
		return -1;
	*major = (int)(v / 10000);
	n = strcspn(tab + 1, " \t\r\n");
	if (n == 0 || n >= len)
		return -1;
	memcpy(version, tab + 1, n);
	version[n] = '\0';
	return 0;
}

void
pg_client_majors_text(const int *majors, size_t n, char *buf, size_t len)
{
	char	one[16];
	size_t	i;

	buf[0] = '\0';
	if (n == 0)
		strlcpy(buf, "none", len);
	for (i = 0; i < n; i++) {
		snprintf(one, sizeof(one), "%s%d", i > 0 ? ", " : "", majors[i]);
		strlcat(buf, one, len);
	}
}

int
pg_passfile_open(struct memfile *m, const char *password, char *err, size_t errlen)
{
	char		*line, *p;
	const char	*s;
	size_t		 size;
	int		 rc;

	size = 8 + 2 * strlen(password) + 2;
	line = xmalloc(size);
	p = line + strlcpy(line, "*:*:*:*:", size);
	for (s = password; *s != '\0'; s++) {
		if (*s == '\\' || *s == ':')
			*p++ = '\\';
		*p++ = *s;
	}
	*p++ = '\n';
	rc = memfile_open(m, "kbackup-pgpass", line, (size_t)(p - line), err, errlen);
	freezero(line, size);
	return rc;
}
