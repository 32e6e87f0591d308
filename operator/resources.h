/*
 * resources: BackupStorageLocation, BackupDefinition, BackupRun and
 * BackupRestore objects (JSON, as
 * the API server or `render -f` gives them) parsed into C structures, with
 * the checks the CRD's OpenAPI schema makes repeated here: an object that
 * reached us through `render` never passed the API server's validation, and
 * a definition that passes the schema can still be wrong across fields.
 */
#ifndef KB_OPERATOR_RESOURCES_H
#define KB_OPERATOR_RESOURCES_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define KB_GROUP	"kbackup.io"
#define KB_VERSION	"v1alpha1"
#define KB_API_VERSION	"kbackup.io/v1alpha1"
#define KB_CRD_PATH	"/apis/" KB_GROUP "/" KB_VERSION	/* before /namespaces/NS/... */
#define KB_FINALIZER	"kbackup.io/cleanup"

/* A key of a Secret in a known namespace. */
struct secret_ref {
	char	*name;
	char	*key;
};

struct location {
	char			*namespace;
	char			*name;
	char			*resource_version;
	int64_t			 generation;
	char			*type;		/* s3 | file */
	char			*endpoint;
	char			*region;
	char			*bucket;
	char			*prefix;
	char			*path;
	char			*ca_file;
	int			 path_style;	/* -1 unset */
	int			 tls_verify;	/* -1 unset */
	struct secret_ref	 access_key;	/* name NULL when unset */
	struct secret_ref	 secret_key;
	struct secret_ref	 encryption_key;
	char			*service_account;	/* runners' ServiceAccount, or NULL */
};

/* An engine setting: config key and value as text, or a Secret's key. */
struct setting {
	char			*key;
	char			*value;		/* NULL when ref is used */
	struct secret_ref	 ref;
};

struct definition {
	char		*namespace;
	char		*name;
	char		*uid;
	char		*resource_version;
	int64_t		 generation;
	int		 deleting;		/* deletionTimestamp set */
	int		 has_finalizer;
	char		*engine;
	struct setting	*settings;		/* [ENGINE] section, in order */
	size_t		 nsettings;
	char		*storage_location;
	char		*schedule;
	char		*timezone;
	char		*mode;
	char		*compression;
	struct setting	*retention;		/* all, hourly, ..., rule.NAME */
	size_t		 nretention;
	json_t		*affinity_labels;	/* matchLabels object, or NULL */
	int		 affinity_weight;
	int		 suspend;
	/* spec.runner: the pod's settings, checked; NULL (or {}) when not given */
	json_t		*resources;		/* {requests, limits} */
	json_t		*node_selector;
	json_t		*tolerations;
	char		*priority_class;
	json_t		*pod_labels;
	json_t		*pod_annotations;
	/*
	 * spec.pitr (postgres): physical base backups and WAL streamed by the
	 * runner ([postgres] method = physical, wal_method = stream).
	 */
	int		 pitr;
	char		*pitr_slot;		/* or NULL: the runner's default */
	char		*pitr_checkpoint;	/* fast | spread, or NULL */
	json_t		*obj;			/* the object itself (a reference) */
};

/* A BackupRun (one backup now) or a BackupRestore, in a definition's namespace. */
enum run_kind { RUN_BACKUP, RUN_RESTORE };

struct run {
	enum run_kind	 kind;
	char		*namespace;
	char		*name;
	char		*uid;
	char		*resource_version;
	int64_t		 generation;
	char		*definition;		/* a BackupDefinition's name */
	char		*backup;		/* restore: "latest", an ID, or NULL */
	char		*at;			/* restore: a time, or NULL */
	char		*database;		/* restore: the target, or NULL */
	int		 into_source;		/* restore: into the definition's own */
	json_t		*obj;
};

/* Parses; on error the reason (InvalidSpec, InvalidSchedule) goes to reason. */
int	 definition_parse(json_t *obj, struct definition *, const char **reason,
	    char *err, size_t errlen);
void	 definition_free(struct definition *);
int	 location_parse(json_t *obj, struct location *, char *err, size_t errlen);
void	 location_free(struct location *);

/* A BackupRun or BackupRestore; the checks its CRD makes (CEL ones too). */
int	 run_parse(json_t *obj, enum run_kind, struct run *, char *err, size_t errlen);
void	 run_free(struct run *);

/* Schedules the runner accepts: 5-field cron, @hourly..@yearly, @every DURATION. */
int	 schedule_valid(const char *);

#endif
