/*
 * config: reads kbackup.conf(5) with iniparser, checks it against a schema,
 * resolves secrets, and writes the same format back.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <iniparser.h>

#include "common/config.h"
#include "common/log.h"
#include "common/memfile.h"
#include "common/util.h"

#define SECRET_MAX	(64 * 1024)

static const struct config_key backup_keys[] = {
	{ "name", CFG_NAME, 1, NULL, "a name of lowercase letters, digits and '-'", 0, 0, NULL },
	{ "namespace", CFG_NAME, 0, "default", "a name of lowercase letters, digits and '-'",
	    0, 0, NULL },
	{ "engine", CFG_STRING, 1, NULL, "a database engine", 0, 0, NULL },
	{ "schedule", CFG_STRING, 0, "@daily", "a cron expression", 0, 0, NULL },
	{ "timezone", CFG_STRING, 0, "UTC", "an IANA time zone such as Europe/Berlin", 0, 0,
	    NULL },
	{ "mode", CFG_ENUM, 0, "retained", "retained|single", 0, 0, NULL },
	{ "compression", CFG_STRING, 0, "zstd", "zstd, zstd:LEVEL (1-19), zstd:auto or none", 0, 0,
	    NULL },
	{ "compression_threads", CFG_UINT, 0, "2", "a number of threads", 0, 64, NULL },
	{ "workdir", CFG_PATH, 0, "/var/lib/kbackup", "a directory", 0, 0, NULL },
	{ "log_format", CFG_ENUM, 0, "logfmt", "logfmt|json", 0, 0, NULL },
	{ "log_level", CFG_ENUM, 0, "info", "error|warn|info|debug", 0, 0, NULL },
	{ "orphan_grace", CFG_DURATION, 0, "1d", "a duration such as 1d", 0, 0, NULL },
	{ "clock_skew", CFG_DURATION, 0, "5m", "a duration such as 5m", 0, 0, NULL },
	{ NULL, 0, 0, NULL, NULL, 0, 0, NULL }
};

static int check_secret_url(const char *, char *, size_t);

static const struct config_key notify_keys[] = {
	{ "webhook", CFG_SECRET, 0, NULL, "an http(s) URL", 0, 0, check_secret_url },
	{ "on", CFG_ENUM, 0, "failure", "failure|always", 0, 0, NULL },
	{ "ping_start", CFG_SECRET, 0, NULL, "an http(s) URL", 0, 0, check_secret_url },
	{ "ping_success", CFG_SECRET, 0, NULL, "an http(s) URL", 0, 0, check_secret_url },
	{ "ping_failure", CFG_SECRET, 0, NULL, "an http(s) URL", 0, 0, check_secret_url },
	{ NULL, 0, 0, NULL, NULL, 0, 0, NULL }
};

static const struct config_key hooks_keys[] = {
	{ "before", CFG_LIST, 0, NULL, "a command", 0, 0, NULL },
	{ "after", CFG_LIST, 0, NULL, "a command", 0, 0, NULL },
	{ "on_failure", CFG_LIST, 0, NULL, "a command", 0, 0, NULL },
	{ "timeout", CFG_DURATION, 0, "10m", "a duration", 0, 0, NULL },
	{ NULL, 0, 0, NULL, NULL, 0, 0, NULL }
};

static int check_api_token(const char *, char *, size_t);

static const struct config_key metrics_keys[] = {
	{ "listen", CFG_HOSTPORT, 0, NULL, "HOST:PORT", 0, 0, NULL },
	{ "textfile", CFG_PATH, 0, NULL, "a file path", 0, 0, NULL },
	{ "api_token", CFG_SECRET, 0, NULL, "a bearer token of at least 16 characters", 0,
	    0, check_api_token },
	{ NULL, 0, 0, NULL, NULL, 0, 0, NULL }
};

const struct config_section_schema config_core_sections[] = {
	{ "backup", backup_keys, CFG_SEC_REQUIRED, NULL },
	{ "notify", notify_keys, 0, NULL },
	{ "hooks", hooks_keys, 0, NULL },
	{ "metrics", metrics_keys, 0, NULL },
	{ NULL, NULL, 0, NULL }
};

/* Parsers behind the types. */

int
config_parse_bool(const char *s, int *v)
{
	static const char *yes[] = { "true", "yes", "on", "1", NULL };
	static const char *no[] = { "false", "no", "off", "0", NULL };
	int		    i;

	for (i = 0; yes[i] != NULL; i++)
		if (strcasecmp(s, yes[i]) == 0) {
			*v = 1;
			return 0;
		}
	for (i = 0; no[i] != NULL; i++)
		if (strcasecmp(s, no[i]) == 0) {
			*v = 0;
			return 0;
		}
	return -1;
}

/* Binary units: K, KB, KiB are all 1024 (sizes here are buffers and parts). */
int
config_parse_size(const char *s, uint64_t *v)
{
	static const struct { const char *unit; int shift; } units[] = {
		{ "", 0 }, { "b", 0 },
		{ "k", 10 }, { "kb", 10 }, { "kib", 10 },
		{ "m", 20 }, { "mb", 20 }, { "mib", 20 },
		{ "g", 30 }, { "gb", 30 }, { "gib", 30 },
		{ "t", 40 }, { "tb", 40 }, { "tib", 40 },
	};
	unsigned long long  n;
	char		   *end;
	size_t		    i;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno != 0)
		return -1;
	while (*end == ' ')
		end++;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcasecmp(end, units[i].unit) != 0)
			continue;
		if (n > (UINT64_MAX >> units[i].shift))
			return -1;
		*v = (uint64_t)n << units[i].shift;
		return 0;
	}
	return -1;
}

/* 90s, 15m, 1h30m, 7d, 2w: one or more NUMBER UNIT pairs, total > 0. */
int
config_parse_duration(const char *s, int64_t *v)
{
	int64_t		 total = 0, n, mult;
	const char	*p = s;
	char		*end;

	if (*p == '\0')
		return -1;
	while (*p != '\0') {
		if (!isdigit((unsigned char)*p))
			return -1;
		errno = 0;
		n = strtoll(p, &end, 10);
		if (errno != 0 || n > 100L * 365 * 86400)
			return -1;
		switch (*end) {
		case 's': mult = 1; break;
		case 'm': mult = 60; break;
		case 'h': mult = 3600; break;
		case 'd': mult = 86400; break;
		case 'w': mult = 7 * 86400; break;
		default: return -1;
		}
		total += n * mult;
		if (total > 100L * 365 * 86400)
			return -1;
		p = end + 1;
	}
	if (total <= 0)
		return -1;
	*v = total;
	return 0;
}

int
config_is_name(const char *s)
{
	size_t	i, len = strlen(s);

	if (len == 0 || len > 63)
		return 0;
	for (i = 0; i < len; i++) {
		if (islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]))
			continue;
		if (s[i] == '-' && i != 0 && i != len - 1)
			continue;
		return 0;
	}
	return 1;
}

/*
 * The control API's token (runner/service/api.h): long enough not to be
 * guessed.  A secret: the message never quotes it.
 */
static int
check_api_token(const char *v, char *err, size_t errlen)
{
	if (strlen(v) < 16)
		return errf(err, errlen, "too short: at least 16 characters (the value is "
		    "a secret: not shown)");
	return 0;
}

/* A URL that is a secret (it may hold a token): refused without being quoted. */
static int
check_secret_url(const char *v, char *err, size_t errlen)
{
	if (!startswith(v, "http://") && !startswith(v, "https://"))
		return errf(err, errlen, "not an http:// or https:// URL (the value is a "
		    "secret: not shown)");
	return 0;
}

/* USER[:PASSWORD]@ before the host: curl would send it, and logs quote the URL. */
static int
url_has_userinfo(const char *v)
{
	const char	*p = strstr(v, "://");

	p = p != NULL ? p + 3 : v;
	return memchr(p, '@', strcspn(p, "/?#")) != NULL;
}

static int
is_enum_word(const char *words, const char *v)
{
	const char	*p = words, *bar;
	size_t		 len;

	for (;;) {
		bar = strchr(p, '|');
		len = bar == NULL ? strlen(p) : (size_t)(bar - p);
		if (strlen(v) == len && strncmp(p, v, len) == 0)
			return 1;
		if (bar == NULL)
			return 0;
		p = bar + 1;
	}
}

static int
check_hostport(const char *v)
{
	const char	*colon = strrchr(v, ':');
	const char	*errstr;

	if (colon == NULL)
		return -1;
	strtonum(colon + 1, 1, 65535, &errstr);
	return errstr == NULL ? 0 : -1;
}

/* Checks one value against its key's type; err says what was expected. */
static int
check_value(const struct config_key *k, const char *v, char *err, size_t errlen)
{
	const char	*errstr;
	uint64_t	 u;
	int64_t		 d;
	int		 b;

	switch (k->type) {
	case CFG_NAME:
		if (!config_is_name(v))
			return errf(err, errlen, "'%s' is not %s (at most 63)", v, k->expect);
		break;
	case CFG_BOOL:
		if (config_parse_bool(v, &b) == -1)
			return errf(err, errlen, "'%s' is not true or false", v);
		break;
	case CFG_UINT:
		strtonum(v, k->min, k->max != 0 ? k->max : LLONG_MAX, &errstr);
		if (errstr != NULL)
			return errf(err, errlen, "'%s' is %s: expected %s from %lld to %lld",
			    v, errstr, k->expect, (long long)k->min,
			    (long long)(k->max != 0 ? k->max : LLONG_MAX));
		break;
	case CFG_SIZE:
		if (config_parse_size(v, &u) == -1)
			return errf(err, errlen, "'%s' is not a size such as 16MiB", v);
		if ((k->min != 0 && u < (uint64_t)k->min) ||
		    (k->max != 0 && u > (uint64_t)k->max))
			return errf(err, errlen, "'%s' is out of range: expected %s", v,
			    k->expect);
		break;
	case CFG_DURATION:
		if (config_parse_duration(v, &d) == -1)
			return errf(err, errlen, "'%s' is not a duration such as 30s, 15m, 1h, "
			    "7d or 2w", v);
		break;
	case CFG_DURATION_OFF:
		if (strcmp(v, "off") != 0 && config_parse_duration(v, &d) == -1)
			return errf(err, errlen, "'%s' is not a duration such as 1h or 7d, or "
			    "off", v);
		break;
	case CFG_ENUM:
		if (!is_enum_word(k->expect, v))
			return errf(err, errlen, "'%s' is not one of %s", v, k->expect);
		break;
	case CFG_URL:
		if (url_has_userinfo(v))
			return errf(err, errlen, "a URL with a user name or password in it "
			    "(USER:PASSWORD@HOST): credentials go in their own keys, never in "
			    "a URL, which is logged (the value is not shown)");
		if (!startswith(v, "http://") && !startswith(v, "https://"))
			return errf(err, errlen, "'%s' is not an http:// or https:// URL", v);
		break;
	case CFG_HOSTPORT:
		if (check_hostport(v) == -1)
			return errf(err, errlen, "'%s' is not HOST:PORT", v);
		break;
	case CFG_PATH:
	case CFG_SECRET:
		if (*v == '\0')
			return errf(err, errlen, "empty value: expected %s", k->expect);
		break;
	case CFG_STRING:
		/*
		 * "database =" would reach the tool as "" (pg_dump then dumps the
		 * user's own database); empty means something only where it is
		 * the default (an S3 prefix).
		 */
		if (*v == '\0' && (k->def == NULL || *k->def != '\0'))
			return errf(err, errlen, "empty value: expected %s", k->expect);
		break;
	case CFG_LIST:
		break;
	}
	if (k->check != NULL)
		return k->check(v, err, errlen);
	return 0;
}

/* Key lookup: exact names first, then "prefix.*" patterns. */
static const struct config_key *
find_key(const struct config_key *keys, const char *name)
{
	const struct config_key	*k;
	size_t			 len;

	for (k = keys; k->name != NULL; k++)
		if (strcmp(k->name, name) == 0)
			return k;
	for (k = keys; k->name != NULL; k++) {
		len = strlen(k->name);
		if (len >= 2 && strcmp(k->name + len - 2, ".*") == 0 &&
		    strncmp(k->name, name, len - 1) == 0 && name[len - 1] != '\0')
			return k;
	}
	return NULL;
}

static const struct config_section_schema *
find_section_schema(const struct config_section_schema *schema, const char *base)
{
	for (; schema->name != NULL; schema++)
		if (strcmp(schema->name, base) == 0)
			return schema;
	return NULL;
}

static struct config_section *
section_add(struct config *cfg, const char *name)
{
	struct config_section	*s;
	const char		*dot;

	cfg->sections = xreallocarray(cfg->sections, cfg->nsections + 1, sizeof(*s));
	s = &cfg->sections[cfg->nsections++];
	memset(s, 0, sizeof(*s));
	s->name = xstrdup(name);
	if ((dot = strchr(name, '.')) != NULL) {
		s->base = xstrndup(name, (size_t)(dot - name));
		s->label = xstrdup(dot + 1);
	} else
		s->base = xstrdup(name);
	return s;
}

static struct config_entry *
entry_find(const struct config_section *s, const char *key)
{
	size_t	i;

	for (i = 0; i < s->nentries; i++)
		if (strcmp(s->entries[i].key, key) == 0)
			return &s->entries[i];
	return NULL;
}

static void
entry_free_value(struct config_entry *e)
{
	if (e->value == NULL)
		return;
	if (e->secret)
		freezero(e->value, strlen(e->value));
	else
		free(e->value);
	e->value = NULL;
}

static void
entry_set(struct config_section *s, const char *key, const char *value, int secret)
{
	struct config_entry	*e;

	if ((e = entry_find(s, key)) == NULL) {
		s->entries = xreallocarray(s->entries, s->nentries + 1, sizeof(*e));
		e = &s->entries[s->nentries++];
		e->key = xstrdup(key);
		e->value = NULL;
	}
	entry_free_value(e);
	e->value = xstrdup(value);
	e->secret = secret;
}

const struct config_section *
config_section(const struct config *cfg, const char *name)
{
	size_t	i;

	for (i = 0; i < cfg->nsections; i++)
		if (strcmp(cfg->sections[i].name, name) == 0)
			return &cfg->sections[i];
	return NULL;
}

const struct config_section *
config_section_nth(const struct config *cfg, const char *base, size_t n)
{
	size_t	i;

	for (i = 0; i < cfg->nsections; i++)
		if (strcmp(cfg->sections[i].base, base) == 0 && n-- == 0)
			return &cfg->sections[i];
	return NULL;
}

const char *
config_get(const struct config_section *s, const char *key)
{
	const struct config_entry	*e;
	const struct config_key		*k;

	if (s == NULL)
		return NULL;
	if ((e = entry_find(s, key)) != NULL)
		return e->value;
	if (s->schema != NULL && (k = find_key(s->schema->keys, key)) != NULL)
		return k->def;
	return NULL;
}

const char *
config_get_nonempty(const struct config_section *s, const char *key)
{
	const char	*v = config_get(s, key);

	return v != NULL && *v != '\0' ? v : NULL;
}

const char *
config_given(const struct config_section *s, const char *key)
{
	const struct config_entry	*e;

	if (s == NULL || (e = entry_find(s, key)) == NULL)
		return NULL;
	return e->value;
}

int
config_get_bool(const struct config_section *s, const char *key)
{
	const char	*v = config_get(s, key);
	int		 b = 0;

	if (v != NULL)
		config_parse_bool(v, &b);
	return b;
}

uint64_t
config_get_uint(const struct config_section *s, const char *key)
{
	const char	*v = config_get(s, key);

	return v == NULL ? 0 : strtoull(v, NULL, 10);
}

uint64_t
config_get_size(const struct config_section *s, const char *key)
{
	const char	*v = config_get(s, key);
	uint64_t	 n = 0;

	if (v != NULL)
		config_parse_size(v, &n);
	return n;
}

int64_t
config_get_duration(const struct config_section *s, const char *key)
{
	const char	*v = config_get(s, key);
	int64_t		 d;

	if (v == NULL || strcmp(v, "off") == 0 || config_parse_duration(v, &d) == -1)
		return -1;
	return d;
}

/* Reading. */

static char	ini_error[KB_ERRLEN];

/*
 * iniparser's messages in our words: the line number and what is wrong,
 * never the line itself (it may hold a secret), and not the name iniparser
 * read the text under (a memfile's, when a byte-order mark was taken off).
 */
static int
ini_error_cb(const char *fmt, ...)
{
	va_list	ap;
	int	line;

	if (ini_error[0] != '\0')
		return 0;
	va_start(ap, fmt);
	if (strstr(fmt, "syntax error in %s (%d)") != NULL ||
	    strstr(fmt, "input line too long in %s (%d)") != NULL) {
		(void)va_arg(ap, const char *);
		line = va_arg(ap, int);
		if (strstr(fmt, "syntax error") != NULL)
			snprintf(ini_error, sizeof(ini_error), "line %d: neither a [section], "
			    "a key = value nor a comment", line);
		else
			snprintf(ini_error, sizeof(ini_error), "line %d: longer than 1024 "
			    "bytes", line);
	} else
		vsnprintf(ini_error, sizeof(ini_error), fmt, ap);
	va_end(ap);
	ini_error[strcspn(ini_error, "\n")] = '\0';
	return 0;
}

#define UTF8_BOM	"\xef\xbb\xbf"

/*
 * What iniparser would misread: a NUL byte (it ends the line there and
 * then calls the line too long) and text in UTF-16.  A UTF-8 byte-order
 * mark is taken off instead (*skip): an editor's marker, not an error.
 */
static int
check_text(const char *text, size_t len, size_t *skip, char *err, size_t errlen)
{
	const char	*nul, *p;
	int		 line = 1;

	*skip = 0;
	if (len >= 2 && (memcmp(text, "\xff\xfe", 2) == 0 || memcmp(text, "\xfe\xff", 2) == 0))
		return errf(err, errlen, "line 1: the file is UTF-16 (it starts with a UTF-16 "
		    "byte-order mark): save it as UTF-8");
	if ((nul = memchr(text, '\0', len)) != NULL) {
		for (p = text; p < nul; p++)
			line += *p == '\n';
		return errf(err, errlen, "line %d: a NUL byte: the file is not text (UTF-16, "
		    "or binary?)", line);
	}
	if (len >= 3 && memcmp(text, UTF8_BOM, 3) == 0)
		*skip = 3;
	return 0;
}

/*
 * iniparser reads files only: text that is not the file's own (a
 * byte-order mark taken off) goes to it through a memfile.
 */
static dictionary *
ini_load(const char *path, const char *text, size_t len, int own, char *err,
    size_t errlen)
{
	struct memfile	 mf;
	dictionary	*d;

	if (own)
		return iniparser_load(path);
	if (memfile_open(&mf, "kbackup-config", text, len, err, errlen) == -1)
		return NULL;
	d = iniparser_load(mf.path);
	memfile_close(&mf);
	return d;
}

/* "password_file" → stem "password", source "_file"; NULL source if not a secret form. */
static const struct config_key *
secret_source(const struct config_key *keys, const char *name, const char **source)
{
	static const char	*suffixes[] = { "_file", "_env" };
	const struct config_key	*k;
	size_t			 i, len = strlen(name), slen;
	char			*stem;

	for (i = 0; i < 2; i++) {
		slen = strlen(suffixes[i]);
		if (len <= slen || strcmp(name + len - slen, suffixes[i]) != 0)
			continue;
		stem = xstrndup(name, len - slen);
		k = find_key(keys, stem);
		free(stem);
		if (k != NULL && k->type == CFG_SECRET) {
			*source = suffixes[i];
			return k;
		}
	}
	return NULL;
}

static char *
secret_read_file(const char *path, char *err, size_t errlen)
{
	const char	*credir = getenv("CREDENTIALS_DIRECTORY");
	char		*full, *buf;
	size_t		 len;
	int		 rc;

	if (*path != '/' && credir != NULL && *credir != '\0')
		full = path_join(credir, path);
	else
		full = xstrdup(path);
	rc = read_file(full, SECRET_MAX, &buf, &len, err, errlen);
	free(full);
	if (rc == -1)
		return NULL;
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		buf[--len] = '\0';
	if (len == 0 || strlen(buf) != len) {
		freezero(buf, len);
		errf(err, errlen, "%s: empty, or holds a NUL byte", path);
		return NULL;
	}
	return buf;
}

struct secret_env {
	char	**names;
	size_t	  n;
};

/* Remembered per process: children must not inherit these variables. */
static struct secret_env secret_envs;

static void
secret_env_remember(const char *name)
{
	size_t	i;

	for (i = 0; i < secret_envs.n; i++)
		if (strcmp(secret_envs.names[i], name) == 0)
			return;
	secret_envs.names = xreallocarray(secret_envs.names, secret_envs.n + 2,
	    sizeof(char *));
	secret_envs.names[secret_envs.n++] = xstrdup(name);
	secret_envs.names[secret_envs.n] = NULL;
}

const char *const *
config_secret_env_names(const struct config *cfg)
{
	static const char *const none[] = { NULL };

	(void)cfg;
	return secret_envs.n == 0 ? none : (const char *const *)secret_envs.names;
}

/* Resolves NAME_file / NAME_env entries into NAME (secret = 1). */
static int
resolve_secret(struct config_section *s, size_t i, const char *stem, const char *source,
    char *err, size_t errlen)
{
	struct config_entry	*e = &s->entries[i];
	char			*value;
	const char		*env;

	if (entry_find(s, stem) != NULL)
		return errf(err, errlen, "[%s] %s: give only one of %s, %s_file and %s_env",
		    s->name, e->key, stem, stem, stem);
	if (strcmp(source, "_file") == 0) {
		if ((value = secret_read_file(e->value, err, errlen)) == NULL)
			return errprefix(err, errlen, "[%s] %s", s->name, e->key);
	} else {
		if ((env = getenv(e->value)) == NULL || *env == '\0')
			return errf(err, errlen, "[%s] %s: environment variable %s is not set",
			    s->name, e->key, e->value);
		value = xstrdup(env);
		secret_env_remember(e->value);
	}
	free(e->key);
	e->key = xstrdup(stem);
	free(e->value);
	e->value = value;
	e->secret = 1;
	return 0;
}

static int
load_section(struct config *cfg, dictionary *d, const char *secname,
    const struct config_section_schema *schema, char *err, size_t errlen)
{
	struct config_section	 *s;
	const char		**keys;
	const char		 *name, *source, *value;
	const struct config_key	 *k;
	int			  nkeys, i;
	size_t			  j;

	s = section_add(cfg, secname);
	if ((nkeys = iniparser_getsecnkeys(d, secname)) <= 0)
		return 0;
	keys = xcalloc((size_t)nkeys, sizeof(*keys));
	iniparser_getseckeys(d, secname, keys);
	for (i = 0; i < nkeys; i++) {
		name = strchr(keys[i], ':') + 1;
		/* No value: the header of a section [SECNAME:...] (see prescan). */
		if ((value = iniparser_getstring(d, keys[i], NULL)) == NULL) {
			errf(err, errlen, "[%s]: ':' in a section name", keys[i]);
			free(keys);
			return -1;
		}
		entry_set(s, name, value, 0);
	}
	free(keys);

	for (j = 0; j < s->nentries; j++) {
		name = s->entries[j].key;
		/*
		 * A pattern key (encryption_key_old.*) must not swallow NAME_file
		 * or NAME_env: those are the secret forms of NAME.
		 */
		if ((k = find_key(schema->keys, name)) != NULL &&
		    (strcmp(k->name, name) == 0 ||
		    secret_source(schema->keys, name, &source) == NULL)) {
			if (k->type == CFG_SECRET)
				s->entries[j].secret = 1;
			continue;
		}
		if (secret_source(schema->keys, name, &source) != NULL) {
			char *stem = xstrndup(name, strlen(name) - strlen(source));
			int rc = resolve_secret(s, j, stem, source, err, errlen);
			free(stem);
			if (rc == -1)
				return -1;
			continue;
		}
		return errf(err, errlen, "[%s] %s: unknown key", secname, name);
	}
	return 0;
}

static void
list_section_names(const struct config_section_schema *schema, char *buf, size_t len)
{
	buf[0] = '\0';
	for (; schema->name != NULL; schema++) {
		if (buf[0] != '\0')
			strlcat(buf, ", ", len);
		strlcat(buf, schema->name, len);
	}
}

/*
 * iniparser merges a section given twice and lets a later key win silently:
 * a pre-scan of the text catches both, with line numbers.  It also joins
 * section and key with ':', so that [a:b] is no section of its own but a key
 * "b" of [a] without a value: ':' in a section name is refused here too
 * (and by load_section, for a name that a continuation line put together).
 */
struct seen {
	char	*name;
	int	 line;
};

static char *
trimmed_lower(const char *s, size_t len)
{
	char	*t;
	size_t	 i;

	while (len > 0 && isspace((unsigned char)*s)) {
		s++;
		len--;
	}
	while (len > 0 && isspace((unsigned char)s[len - 1]))
		len--;
	t = xstrndup(s, len);
	for (i = 0; t[i] != '\0'; i++)
		t[i] = (char)tolower((unsigned char)t[i]);
	return t;
}

static int
seen_add(struct seen **v, size_t *n, char *name, int line)
{
	size_t	i;

	for (i = 0; i < *n; i++)
		if (strcmp((*v)[i].name, name) == 0)
			return (*v)[i].line;
	*v = xreallocarray(*v, *n + 1, sizeof(**v));
	(*v)[*n].name = name;
	(*v)[*n].line = line;
	(*n)++;
	return 0;
}

static void
seen_free(struct seen *v, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		free(v[i].name);
	free(v);
}

static int
prescan(const char *text, char *err, size_t errlen)
{
	struct seen	*secs = NULL, *keys = NULL;
	size_t		 nsecs = 0, nkeys = 0, len;
	const char	*p = text, *eol, *eq, *close;
	char		*section = xstrdup(""), *name;
	int		 line = 0, prev, rc = 0;

	for (; *p != '\0' && rc == 0; p = *eol == '\0' ? eol : eol + 1) {
		eol = p + strcspn(p, "\n");
		line++;
		len = (size_t)(eol - p);
		while (len > 0 && isspace((unsigned char)*p)) {
			p++;
			len--;
		}
		if (len == 0 || *p == ';' || *p == '#')
			continue;
		if (*p == '[' && (close = memchr(p, ']', len)) != NULL) {
			free(section);
			section = trimmed_lower(p + 1, (size_t)(close - p - 1));
			if (strchr(section, ':') != NULL) {
				rc = errf(err, errlen, "[%s]: ':' in a section name (line %d)",
				    section, line);
				continue;
			}
			name = xstrdup(section);
			if ((prev = seen_add(&secs, &nsecs, name, line)) != 0) {
				rc = errf(err, errlen, "[%s]: section given twice (lines %d and %d)",
				    section, prev, line);
				free(name);
			}
			seen_free(keys, nkeys);
			keys = NULL;
			nkeys = 0;
			continue;
		}
		if ((eq = memchr(p, '=', len)) == NULL)
			continue;
		name = trimmed_lower(p, (size_t)(eq - p));
		if ((prev = seen_add(&keys, &nkeys, name, line)) != 0) {
			rc = errf(err, errlen, "[%s] %s: given twice (lines %d and %d)", section,
			    name, prev, line);
			free(name);
		}
	}
	free(section);
	seen_free(secs, nsecs);
	seen_free(keys, nkeys);
	return rc;
}

int
config_load(const char *path, const struct config_section_schema *schema,
    struct config **cfgp, char *err, size_t errlen)
{
	struct config	*cfg;
	dictionary	*d;
	struct stat	 st;
	char		*text;
	size_t		 len, skip;
	int		 i, n, rc;

	*cfgp = NULL;
	if (stat(path, &st) == -1)
		return errf(err, errlen, "%s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return errf(err, errlen, "%s: not a regular file", path);
	if (read_file(path, 1024 * 1024, &text, &len, err, errlen) == -1)
		return -1;
	rc = check_text(text, len, &skip, err, errlen);
	if (rc == 0)
		rc = prescan(text + skip, err, errlen);
	ini_error[0] = '\0';
	iniparser_set_error_callback(ini_error_cb);
	d = rc == 0 ? ini_load(path, text + skip, len - skip, skip == 0, err, errlen) : NULL;
	freezero(text, len);	/* it may hold inline secrets */
	if (rc == -1 || (d == NULL && ini_error[0] == '\0' && skip > 0))
		return errprefix(err, errlen, "%s", path);
	if (d == NULL || ini_error[0] != '\0') {
		if (d != NULL)
			iniparser_freedict(d);
		return errf(err, errlen, "%s: %s", path,
		    ini_error[0] != '\0' ? ini_error : "cannot be parsed");
	}

	cfg = config_new(path);
	n = iniparser_getnsec(d);
	for (i = 0; i < n; i++) {
		const char *secname = iniparser_getsecname(d, i);
		char *base = xstrndup(secname, strcspn(secname, "."));
		const struct config_section_schema *ss = find_section_schema(schema, base);
		free(base);
		if (ss == NULL) {
			char names[256];
			list_section_names(schema, names, sizeof(names));
			errf(err, errlen, "[%s]: unknown section (expected one of: %s)",
			    secname, names);
			goto fail;
		}
		if (load_section(cfg, d, secname, ss, err, errlen) == -1)
			goto fail;
	}
	iniparser_freedict(d);
	d = NULL;
	if (config_validate(cfg, schema, err, errlen) == -1)
		goto fail;
	*cfgp = cfg;
	return 0;
fail:
	if (d != NULL)
		iniparser_freedict(d);
	config_free(cfg);
	return errprefix(err, errlen, "%s", path);
}

static int
validate_section(struct config_section *s, const struct config_section_schema *ss,
    char *err, size_t errlen)
{
	const struct config_key	*k;
	size_t			 i;

	s->schema = ss;
	if (s->label != NULL && !(ss->flags & CFG_SEC_NAMED))
		return errf(err, errlen, "[%s]: unknown section ([%s] takes no .NAME)",
		    s->name, ss->name);
	if (s->label != NULL && !config_is_name(s->label))
		return errf(err, errlen, "[%s]: '%s' is not a name of lowercase letters, "
		    "digits and '-'", s->name, s->label);
	for (k = ss->keys; k->name != NULL; k++)
		if (k->required && entry_find(s, k->name) == NULL)
			return errf(err, errlen, "[%s] %s: missing (expected %s%s)", s->name,
			    k->name, k->expect, k->type == CFG_SECRET ?
			    ", given as KEY, KEY_file or KEY_env" : "");
	for (i = 0; i < s->nentries; i++) {
		if ((k = find_key(ss->keys, s->entries[i].key)) == NULL)
			return errf(err, errlen, "[%s] %s: unknown key", s->name,
			    s->entries[i].key);
		if (check_value(k, s->entries[i].value, err, errlen) == -1) {
			/* A secret's value never goes into a message. */
			if (k->type == CFG_SECRET)
				return errf(err, errlen, "[%s] %s: invalid value (expected %s)",
				    s->name, s->entries[i].key, k->expect);
			return errprefix(err, errlen, "[%s] %s", s->name, s->entries[i].key);
		}
	}
	if (ss->validate != NULL && ss->validate(ss, s, err, errlen) == -1) {
		char *msg = xstrdup(err);
		errf(err, errlen, "[%s] %s", s->name, msg);
		free(msg);
		return -1;
	}
	return 0;
}

int
config_validate(struct config *cfg, const struct config_section_schema *schema,
    char *err, size_t errlen)
{
	const struct config_section_schema	*ss;
	size_t					 i, j;

	for (i = 0; i < cfg->nsections; i++) {
		for (j = 0; j < i; j++)
			if (strcmp(cfg->sections[i].name, cfg->sections[j].name) == 0)
				return errf(err, errlen, "[%s]: section given twice",
				    cfg->sections[i].name);
		if ((ss = find_section_schema(schema, cfg->sections[i].base)) == NULL)
			return errf(err, errlen, "[%s]: unknown section",
			    cfg->sections[i].name);
		if (validate_section(&cfg->sections[i], ss, err, errlen) == -1)
			return -1;
	}
	for (ss = schema; ss->name != NULL; ss++)
		if ((ss->flags & CFG_SEC_REQUIRED) && config_section_nth(cfg, ss->name, 0) == NULL)
			return errf(err, errlen, "[%s]: missing section", ss->name);
	return 0;
}

void
config_free(struct config *cfg)
{
	size_t	i, j;

	if (cfg == NULL)
		return;
	for (i = 0; i < cfg->nsections; i++) {
		struct config_section *s = &cfg->sections[i];
		for (j = 0; j < s->nentries; j++) {
			entry_free_value(&s->entries[j]);
			free(s->entries[j].key);
		}
		free(s->entries);
		free(s->name);
		free(s->base);
		free(s->label);
	}
	free(cfg->sections);
	free(cfg->path);
	free(cfg);
}

/* Writing. */

struct config *
config_new(const char *path)
{
	struct config	*cfg = xcalloc(1, sizeof(*cfg));

	cfg->path = xstrdup(path == NULL ? "-" : path);
	return cfg;
}

static struct config_section *
section_get_or_add(struct config *cfg, const char *name)
{
	size_t	i;

	for (i = 0; i < cfg->nsections; i++)
		if (strcmp(cfg->sections[i].name, name) == 0)
			return &cfg->sections[i];
	return section_add(cfg, name);
}

void
config_set(struct config *cfg, const char *section, const char *key, const char *value)
{
	entry_set(section_get_or_add(cfg, section), key, value, 0);
}

void
config_set_secret(struct config *cfg, const char *section, const char *key,
    const char *value)
{
	entry_set(section_get_or_add(cfg, section), key, value, 1);
}

/*
 * iniparser 4.1 reads an unquoted value up to ';' or '#' and strips blanks;
 * a value in double quotes may hold anything but '"', in single quotes
 * anything but '\''.  Pick what keeps the value exact, or fail.
 */
static int
write_value(FILE *f, const char *v)
{
	size_t	len = strlen(v);
	int	plain;

	if (strpbrk(v, "\n\r") != NULL)
		return -1;
	plain = strpbrk(v, ";#\"'") == NULL && len > 0 && !isspace((unsigned char)v[0]) &&
	    !isspace((unsigned char)v[len - 1]);
	if (plain || len == 0)
		return fprintf(f, "%s\n", v) < 0 ? -1 : 0;
	if (strchr(v, '"') == NULL)
		return fprintf(f, "\"%s\"\n", v) < 0 ? -1 : 0;
	if (strchr(v, '\'') == NULL)
		return fprintf(f, "'%s'\n", v) < 0 ? -1 : 0;
	return -1;
}

int
config_write(const struct config *cfg, FILE *f)
{
	size_t	i, j;

	for (i = 0; i < cfg->nsections; i++) {
		const struct config_section *s = &cfg->sections[i];
		if (fprintf(f, "%s[%s]\n", i == 0 ? "" : "\n", s->name) < 0)
			return -1;
		for (j = 0; j < s->nentries; j++) {
			if (fprintf(f, "%s = ", s->entries[j].key) < 0 ||
			    write_value(f, s->entries[j].value) == -1)
				return -1;
		}
	}
	return fflush(f) == 0 ? 0 : -1;
}

char *
config_write_string(const struct config *cfg)
{
	char	*buf = NULL;
	size_t	 len = 0;
	FILE	*f;
	int	 rc;

	if ((f = open_memstream(&buf, &len)) == NULL)
		return NULL;
	rc = config_write(cfg, f);
	fclose(f);
	if (rc == -1) {
		freezero(buf, len);
		return NULL;
	}
	return buf;
}
