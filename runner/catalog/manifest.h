/*
 * manifest: manifest.json, written last beside a backup's data: the backup
 * exists once its manifest does.  It records what a restore and a reader
 * months later need: format, engine and tool version, times, sizes, the
 * SHA-256 of the stored object, compression, encryption parameters (never a
 * key), the retention labels given, and who wrote it.
 *
 * Manifests are read back from storage someone else runs: the parser checks
 * every field and bounds every length.
 */
#ifndef KB_MANIFEST_H
#define KB_MANIFEST_H

#include <stdint.h>
#include <time.h>

#include "runner/stream/container.h"

#define MANIFEST_FORMAT	1
#define MANIFEST_MAX	(1024 * 1024)

struct manifest_label {
	char	*name;		/* "daily:2026-11-24" */
	time_t	 expires;
};

struct manifest {
	int			 format;
	char			 id[17];
	char			*name;
	char			*namespace_;
	char			*engine;
	char			*tool_version;
	char			*mode;		/* retained | single */
	char			*data_key;	/* relative to the location's root */
	time_t			 started;
	time_t			 finished;
	uint64_t		 raw_bytes;
	uint64_t		 stored_bytes;
	char			 sha256[65];
	char			*compression;	/* "zstd:3" or "none" */
	struct container_info	 container;
	struct manifest_label	*labels;
	size_t			 nlabels;
	char			*runner_version;
	char			*host;
};

char	*manifest_to_json(const struct manifest *);
int	 manifest_from_json(const char *buf, size_t len, struct manifest *, char *err,
	    size_t errlen);
void	 manifest_add_label(struct manifest *, const char *name, time_t expires);
void	 manifest_free(struct manifest *);

#endif
