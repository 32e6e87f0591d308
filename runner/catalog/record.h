/*
 * record: what kbackup knows of one backup, and its one JSON form.
 *
 * The backup's manifest (manifest.json, written once, last, beside its
 * data: the backup exists once it does) is a record in JSON; the label
 * index caches the same records in the same form.  A record says what a
 * restore and a reader months later need: the definition it belongs to, its
 * times, its parts (each a stored object: key, sizes, SHA-256, compression
 * and encryption parameters, never a key), the retention labels it was
 * given, the engine's own details (e.g. WAL positions), and who wrote it.
 *
 * Records are read back from storage someone else runs: the parser checks
 * every field, bounds every length and refuses unknown keys.  Format 2 is
 * written; format 1 (one part, "data" at the top level) is still read.
 */
#ifndef KB_RECORD_H
#define KB_RECORD_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "runner/catalog/backup_id.h"
#include "runner/stream/container.h"

#define RECORD_FORMAT		2
#define RECORD_JSON_MAX		(1024 * 1024)
#define RECORD_PARTS_MAX	4096
#define RECORD_LABELS_MAX	64	/* per backup */
#define RECORD_LABEL_MAX	128	/* "RULE:VALUE" */
#define RECORD_KEY_MAX		1024

struct record_part {
	char			*name;		/* "data", or the part's own name */
	char			*key;		/* relative to the location's root */
	uint64_t		 raw_bytes;
	uint64_t		 stored_bytes;
	char			 sha256[65];
	struct container_info	 container;	/* cipher, kdf, scrypt, salt, frames */
};

/* A retention label a backup holds: in its record, and in the view of labels.h. */
struct label {
	char	*name;		/* "daily:2026-11-24" */
	time_t	 expires;
};

struct backup_record {
	int			 format;
	char			 id[BACKUP_ID_MAX];
	char			*name;
	char			*namespace_;
	char			*engine;
	char			*tool_version;
	char			*mode;		/* retained | single */
	time_t			 started;
	time_t			 finished;
	uint64_t		 raw_bytes;	/* all parts */
	uint64_t		 stored_bytes;
	char			*compression;	/* "zstd:3" or "none" */
	struct record_part	*parts;
	size_t			 nparts;
	struct label		*labels;
	size_t			 nlabels;
	char			*runner_version;
	char			*host;
	char			*runner_id;	/* may be NULL (format 1) */
	json_t			*details;	/* the engine's, an object, or NULL */
};

/* JSON object of the record (a new reference). */
json_t	*record_to_json(const struct backup_record *);
/* The manifest's text (free it). */
char	*record_to_text(const struct backup_record *);
/* Fills *rec (free with record_free) from a JSON object; -1 with what is wrong. */
int	 record_from_json(const json_t *, struct backup_record *, char *err, size_t errlen);
/* The same from a manifest's text. */
int	 record_parse(const char *buf, size_t len, struct backup_record *, char *err,
	    size_t errlen);
void	 record_free(struct backup_record *);
/* A deep copy. */
void	 record_copy(struct backup_record *dst, const struct backup_record *src);

void	 record_add_label(struct backup_record *, const char *name, time_t expires);
/* The n labels at v: one more (name copied), or freed with the array. */
void	 record_labels_add(struct label **v, size_t *n, const char *name, time_t expires);
void	 record_labels_free(struct label *v, size_t n);
/* Adds a part (copied) and its sizes to the totals. */
void	 record_add_part(struct backup_record *, const struct record_part *);
/* Latest expiry of its labels (0: none): how long the labels keep the backup. */
time_t	 record_kept_until(const struct backup_record *);

/* "RULE:VALUE": RULE a name, VALUE non-empty, no control characters. */
int	 record_label_valid(const char *);

#endif
