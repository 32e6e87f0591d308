/*
 * config: kbackup.conf(5), the one INI file per backup definition.
 *
 * The reader (iniparser underneath) checks every section and key against a
 * schema before anything runs: an unknown section or key, a missing required
 * key or a bad value is an error naming file, section, key and what was
 * expected.  Secrets (type CFG_SECRET) may be given as K = value,
 * K_file = path (relative to $CREDENTIALS_DIRECTORY when that is set) or
 * K_env = VARIABLE; the reader resolves them, and config_free() wipes them.
 *
 * The schema is assembled by the caller (runner/schema.c) from the core
 * sections here and the sections engines and storage backends declare, so
 * that adding an engine touches no file in common/.
 *
 * The writer renders the same format (the operator uses it to fill the
 * runner's Secret): build with config_new()/config_set(), then config_write().
 */
#ifndef KB_CONFIG_H
#define KB_CONFIG_H

#include <stdint.h>
#include <stdio.h>

struct config_section;

enum config_type {
	CFG_STRING,		/* any text */
	CFG_NAME,		/* [a-z0-9]([a-z0-9-]*[a-z0-9])?, at most 63 characters */
	CFG_BOOL,		/* true|false|yes|no|on|off|1|0 */
	CFG_UINT,		/* decimal integer in [min, max] */
	CFG_SIZE,		/* bytes with optional unit: 512, 16MiB, 1G */
	CFG_DURATION,		/* 30s, 15m, 1h, 7d, 2w, 1h30m */
	CFG_DURATION_OFF,	/* a duration, or "off" */
	CFG_ENUM,		/* one of the '|'-separated words in expect */
	CFG_SECRET,		/* K, K_file or K_env */
	CFG_PATH,		/* a file system path */
	CFG_URL,		/* http:// or https:// URL */
	CFG_LIST,		/* words separated by blanks */
	CFG_HOSTPORT		/* HOST:PORT or :PORT */
};

struct config_key {
	const char	*name;		/* "host"; "rule.*" accepts any rule.NAME */
	enum config_type type;
	int		 required;
	const char	*def;		/* default as written in the file, or NULL */
	const char	*expect;	/* CFG_ENUM words, or text for messages */
	int64_t		 min, max;	/* CFG_UINT bounds (both 0: unbounded) */
	/* Further checks of one value; fills err with what was expected. */
	int		(*check)(const char *value, char *err, size_t errlen);
};

#define CFG_SEC_REQUIRED	0x1	/* the section must be present */
#define CFG_SEC_NAMED		0x2	/* also accepted as "name.LABEL" */

struct config_section_schema {
	const char		*name;
	const struct config_key	*keys;		/* terminated by a NULL name */
	int			 flags;
	/* Checks across the keys of one section (e.g. s3 needs a bucket). */
	int			(*validate)(const struct config_section_schema *,
				    const struct config_section *, char *err, size_t errlen);
};

struct config_entry {
	char	*key;
	char	*value;
	int	 secret;	/* value came from K/K_file/K_env; wiped on free */
};

struct config_section {
	char			*name;		/* "storage.local" */
	char			*base;		/* "storage" */
	char			*label;		/* "local", or NULL */
	const struct config_section_schema *schema;
	struct config_entry	*entries;
	size_t			 nentries;
};

struct config {
	char			*path;
	struct config_section	*sections;
	size_t			 nsections;
};

/* Core sections: backup, notify, hooks, metrics (the runner adds [retention]). */
extern const struct config_section_schema config_core_sections[];

/*
 * Reads and validates path against schema (terminated by a NULL name).
 * On error returns -1 with "FILE: [SECTION] KEY: what was expected" in err.
 */
int	 config_load(const char *path, const struct config_section_schema *schema,
	    struct config **, char *err, size_t errlen);
/* Same checks, on an already-built config (the operator validates what it renders). */
int	 config_validate(struct config *, const struct config_section_schema *schema,
	    char *err, size_t errlen);
void	 config_free(struct config *);

const struct config_section *config_section(const struct config *, const char *name);
/* The n-th section whose base is name ("storage", "storage.x", ...), or NULL. */
const struct config_section *config_section_nth(const struct config *, const char *base,
	    size_t n);

/* Value as written, else the schema default, else NULL.  Secrets: the resolved secret. */
const char *config_get(const struct config_section *, const char *key);
/* Value as written, NULL when the section does not give key (whatever its default). */
const char *config_given(const struct config_section *, const char *key);
/* config_get, NULL for an empty value too ("key =" as if not given). */
const char *config_get_nonempty(const struct config_section *, const char *key);
int	 config_get_bool(const struct config_section *, const char *key);
uint64_t config_get_uint(const struct config_section *, const char *key);
uint64_t config_get_size(const struct config_section *, const char *key);
/* Seconds; -1 for "off" or when absent without default. */
int64_t	 config_get_duration(const struct config_section *, const char *key);

/* Parsers behind the types, for other modules (cron @every, CLI options). */
int	 config_parse_bool(const char *, int *);
int	 config_parse_size(const char *, uint64_t *);
int	 config_parse_duration(const char *, int64_t *);
int	 config_is_name(const char *);

/* Names of environment variables that hold secrets (K_env), NULL-terminated. */
const char *const *config_secret_env_names(const struct config *);

/* Writer. */
struct config *config_new(const char *path);
void	 config_set(struct config *, const char *section, const char *key, const char *value);
void	 config_set_secret(struct config *, const char *section, const char *key,
	    const char *value);
/* INI text: sections in insertion order, values quoted where iniparser needs it. */
int	 config_write(const struct config *, FILE *);
char	*config_write_string(const struct config *);

#endif
