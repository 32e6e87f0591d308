/*
 * render: what the operator wants to exist for one BackupDefinition — the
 * runner's config text (kbackup.conf(5), secrets filled in, written with
 * common/config's writer, the control API's token among them) and the
 * Secret, StatefulSet and Service around it, as jansson objects, with the
 * pod settings of the definition (spec.runner) and of its location (the
 * ServiceAccount).  The same code serves the reconcile loop and the
 * offline `render` command, so both produce the same objects.
 */
#ifndef KB_OPERATOR_RENDER_H
#define KB_OPERATOR_RENDER_H

#include <jansson.h>

#include "operator/names.h"
#include "operator/resources.h"

#define RENDER_METRICS_PORT	9187
#define RENDER_MANAGED_BY	"kbackup-operator"
#define RENDER_CONFIG_KEY	"kbackup.conf"
#define RENDER_CONFIG_DIR	"/etc/kbackup"
#define RENDER_WORKDIR		"/var/lib/kbackup"

#define LABEL_MANAGED_BY	"app.kubernetes.io/managed-by"
#define LABEL_DEF_NAMESPACE	"kbackup.io/definition-namespace"
#define LABEL_DEF_NAME		"kbackup.io/definition-name"
#define ANN_DEFINITION		"kbackup.io/definition"
#define ANN_CONFIG_HASH		"kbackup.io/config-hash"
#define ANN_SPEC_HASH		"kbackup.io/spec-hash"

/*
 * Looks up one key of a Secret.  Returns 0 with a new string in *value,
 * 1 when the Secret or the key does not exist, -1 on any other error.
 */
typedef int (*render_secret_fn)(void *arg, const char *ns, const char *name,
    const char *key, char **value, char *err, size_t errlen);

struct render_opts {
	const char	*namespace;		/* the operator's namespace */
	json_t		*image_pull_secrets;	/* [{name}], or NULL */
	const char	*version;		/* image tag when the engine gives none */
	render_secret_fn secret;
	void		*secret_arg;
	/* the key of the runners' API tokens (names_api_token()); NULL: no API */
	const unsigned char *api_key;
	size_t		 api_key_len;
};

struct rendered {
	char	*name;				/* runner-NS-NAME, shortened */
	char	*config;			/* kbackup.conf text (holds secrets) */
	char	 config_hash[NAMES_HASH_HEX];
	json_t	*secret;
	json_t	*statefulset;
	json_t	*service;
};

/*
 * Renders everything for d with location l (NULL: not found).  On failure
 * returns -1 with a condition reason (SecretNotFound, LocationNotFound,
 * InvalidSpec, or NULL for an API error worth retrying) and a message.
 */
int	 render_definition(const struct definition *d, const struct location *l,
	    const struct render_opts *, struct rendered *, const char **reason,
	    char *err, size_t errlen);
void	 rendered_free(struct rendered *);

/* Base64 of s, and back (NULL when in is not base64); new strings. */
char	*render_base64(const char *s);
char	*render_base64_decode(const char *in, size_t *outlen);
/* Wipes the values of a Secret object's data and stringData (before freeing it). */
void	 render_wipe_secret(json_t *secret);
/* The labels every object of d carries (a new object). */
json_t	*render_labels(const char *ns, const char *name);
/* Sets kbackup.io/spec-hash from the rest of the object. */
void	 render_set_spec_hash(json_t *obj);

#endif
