/*
 * Fuzz target: Kubernetes objects as the API server (or a `render -f` file)
 * gives them, JSON → struct definition / struct location / struct run (a
 * BackupRun or BackupRestore), then the render of whatever parsed (secrets
 * answered by a stub, with an API key), the same bytes as a runner's status
 * document (runnerapi_backups()), and through the YAML reader.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/log.h"
#include "common/util.h"
#include "operator/render.h"
#include "operator/resources.h"
#include "operator/runnerapi.h"
#include "operator/yaml.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int
stub_secret(void *arg, const char *ns, const char *name, const char *key, char **value,
    char *err, size_t errlen)
{
	if (strcmp(key, "missing") == 0)
		return 1;
	*value = xstrdup(name);
	return 0;
}

static void
one(json_t *obj)
{
	struct definition	d;
	struct location		l;
	struct rendered		r;
	struct render_opts	o;
	struct run		run;
	const char		*reason;
	char			 err[KB_ERRLEN];
	int			 lok;

	lok = location_parse(obj, &l, err, sizeof(err)) == 0;
	if (!lok) {
		location_free(&l);
		memset(&l, 0, sizeof(l));
		l.namespace = xstrdup("kbackup");
		l.name = xstrdup("l");
		l.type = xstrdup("file");
		l.path = xstrdup("/backups");
		l.path_style = l.tls_verify = -1;
	}
	if (definition_parse(obj, &d, &reason, err, sizeof(err)) == 0) {
		memset(&o, 0, sizeof(o));
		o.namespace = "kbackup";
		o.version = "0";
		o.secret = stub_secret;
		o.api_key = (const unsigned char *)"fuzz-key-of-16-bytes";
		o.api_key_len = 20;
		if (render_definition(&d, &l, &o, &r, &reason, err, sizeof(err)) == 0)
			rendered_free(&r);
	}
	definition_free(&d);
	location_free(&l);
	run_parse(obj, RUN_BACKUP, &run, err, sizeof(err));
	run_free(&run);
	run_parse(obj, RUN_RESTORE, &run, err, sizeof(err));
	run_free(&run);
	json_decref(runnerapi_backups(obj));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t		*obj, *docs, *doc;
	json_error_t	 jerr;
	char		 err[KB_ERRLEN];
	size_t		 i;

	log_set_level(LOGL_ERROR);
	if ((obj = json_loadb((const char *)data, size, 0, &jerr)) != NULL) {
		one(obj);
		json_decref(obj);
	}
	if (kyaml_parse((const char *)data, size, &docs, err, sizeof(err)) == 0) {
		json_array_foreach(docs, i, doc)
			one(doc);
		json_decref(docs);
	}
	return 0;
}
