/*
 * kbackup-operator: keeps one runner (Secret, StatefulSet, Service) per
 * BackupDefinition; `render` prints the same objects without a cluster.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "common/config.h"
#include "common/log.h"
#include "common/util.h"
#include "operator/kube.h"
#include "operator/lease.h"
#include "operator/reconcile.h"
#include "operator/render.h"
#include "operator/resources.h"
#include "operator/runnerapi.h"
#include "operator/yaml.h"

#ifndef KBACKUP_VERSION
#define KBACKUP_VERSION	"0.1.0"
#endif

#define INPUT_MAX	(64 * 1024 * 1024)

static void
usage(void)
{
	fprintf(stderr,
	    "usage: kbackup-operator [--once] [--server URL] [--token-file FILE]\n"
	    "           [--ca-file FILE] [--namespace NS] [--resync DURATION]\n"
	    "           [--image-pull-secrets NAME,...] [--image-tag TAG]\n"
	    "           [--retries N] [--backoff MS] [--log-level LEVEL] [--log-format FMT]\n"
	    "           [--leader-elect] [--lease-duration DURATION]\n"
	    "           [--poll-interval DURATION] [--runner-timeout DURATION]\n"
	    "           [--runner-address NS/NAME=HOST:PORT ...]\n"
	    "       kbackup-operator render -f FILE [--namespace NS] [-o yaml|json]\n"
	    "           [--image-pull-secrets NAME,...] [--image-tag TAG]\n"
	    "           [--api-key-file FILE]\n");
	exit(2);
}

static json_t *
pull_secrets(const char *list)
{
	json_t	*arr = json_array();
	char	*copy = xstrdup(list), *p = copy, *name;

	while ((name = strsep(&p, ",")) != NULL)
		if (*name != '\0')
			json_array_append_new(arr, json_pack("{s:s}", "name", name));
	free(copy);
	return arr;
}

/* Render: objects from a file, Secrets looked up among them. */

struct input {
	json_t	*locations;	/* name -> object (operator's namespace) */
	json_t	*definitions;	/* array */
	json_t	*secrets;	/* "ns/name" -> object */
};

static void
input_add(struct input *in, json_t *obj, const char *opns)
{
	const char	*kind = json_string_value(json_object_get(obj, "kind"));
	json_t		*md = json_object_get(obj, "metadata"), *item;
	const char	*ns = json_string_value(json_object_get(md, "namespace"));
	const char	*name = json_string_value(json_object_get(md, "name"));
	char		*id;
	size_t		 i;

	if (kind == NULL)
		return;
	if (strcmp(kind, "List") == 0 || (strlen(kind) > 4 &&
	    strcmp(kind + strlen(kind) - 4, "List") == 0)) {
		json_array_foreach(json_object_get(obj, "items"), i, item)
			input_add(in, item, opns);
		return;
	}
	if (name == NULL)
		return;
	if (strcmp(kind, "BackupStorageLocation") == 0) {
		if (ns != NULL && strcmp(ns, opns) != 0)
			return;	/* the operator reads only its own namespace's */
		if (ns == NULL)
			json_object_set_new(md, "namespace", json_string(opns));
		json_object_set(in->locations, name, obj);
	} else if (strcmp(kind, "BackupDefinition") == 0) {
		if (ns == NULL)
			json_object_set_new(md, "namespace", json_string("default"));
		json_array_append(in->definitions, obj);
	} else if (strcmp(kind, "Secret") == 0) {
		id = xasprintf("%s/%s", ns != NULL ? ns : "default", name);
		json_object_set(in->secrets, id, obj);
		free(id);
	}
}

static int
input_secret(void *arg, const char *ns, const char *name, const char *key,
    char **value, char *err, size_t errlen)
{
	struct input	*in = arg;
	char		*id = xasprintf("%s/%s", ns, name);
	json_t		*obj = json_object_get(in->secrets, id), *v;
	const char	*b64;
	size_t		 len;

	free(id);
	if ((v = json_object_get(json_object_get(obj, "stringData"), key)) != NULL &&
	    json_is_string(v)) {
		*value = xstrdup(json_string_value(v));
		return 0;
	}
	if ((b64 = json_string_value(json_object_get(json_object_get(obj, "data"),
	    key))) == NULL)
		return 1;
	if ((*value = render_base64_decode(b64, &len)) == NULL)
		return errf(err, errlen, "Secret %s/%s key %s: bad base64", ns, name, key);
	return 0;
}

static int
read_stdin(char **buf, size_t *len, char *err, size_t errlen)
{
	size_t	cap = 65536;
	ssize_t	n;

	*buf = xmalloc(cap);
	*len = 0;
	for (;;) {
		if (*len + 1 >= cap) {
			if (cap >= INPUT_MAX) {
				freezero(*buf, cap);
				return errf(err, errlen, "stdin: too large");
			}
			*buf = xreallocarray(*buf, 2, cap);
			cap *= 2;
		}
		if ((n = read_full(STDIN_FILENO, *buf + *len, cap - *len - 1)) == -1) {
			freezero(*buf, cap);
			return errf(err, errlen, "stdin: read error");
		}
		if (n == 0)
			break;
		*len += (size_t)n;
	}
	(*buf)[*len] = '\0';
	return 0;
}

/* render --api-key-file: the key the operator keeps in its Secret's "key". */
static int
read_key(const char *path, char **key, size_t *len)
{
	char	err[KB_ERRLEN];

	if (read_file(path, RUNNERAPI_KEY_MAX + 2, key, len, err, sizeof(err)) == -1) {
		fprintf(stderr, "kbackup-operator: %s\n", err);
		return -1;
	}
	while (*len > 0 && ((*key)[*len - 1] == '\n' || (*key)[*len - 1] == '\r'))
		(*key)[--*len] = '\0';
	if (*len < 16 || *len > RUNNERAPI_KEY_MAX) {
		fprintf(stderr, "kbackup-operator: %s: expected a key of 16 to %d bytes\n",
		    path, RUNNERAPI_KEY_MAX);
		freezero(*key, *len);
		*key = NULL;
		return -1;
	}
	return 0;
}

static int
cmd_render(int argc, char **argv)
{
	enum { O_NS = 256, O_PULL, O_TAG, O_KEY };
	static const struct option opts[] = {
		{ "file", required_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'o' },
		{ "namespace", required_argument, NULL, O_NS },
		{ "image-pull-secrets", required_argument, NULL, O_PULL },
		{ "image-tag", required_argument, NULL, O_TAG },
		{ "api-key-file", required_argument, NULL, O_KEY },
		{ NULL, 0, NULL, 0 }
	};
	const char		*opns = "kbackup", *tag = KBACKUP_VERSION, *keyfile = NULL;
	json_t			*pull = NULL;
	struct input		 in;
	struct render_opts	 ro;
	struct definition	 d;
	struct location		 l;
	struct rendered		 r;
	const char		*files[64], *output = "yaml", *reason;
	size_t			 nfiles = 0;
	char			 err[KB_ERRLEN], *buf, *key = NULL;
	size_t			 len, i, keylen = 0;
	json_t			*docs, *doc, *out, *lobj;
	int			 c, rc = 0, lok;

	optind = 1;
	while ((c = getopt_long(argc, argv, "f:o:", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (nfiles < sizeof(files) / sizeof(files[0]))
				files[nfiles++] = optarg;
			else
				usage();
			break;
		case 'o':
			output = optarg;
			break;
		case O_NS:
			opns = optarg;
			break;
		case O_PULL:
			json_decref(pull);
			pull = pull_secrets(optarg);
			break;
		case O_TAG:
			tag = optarg;
			break;
		case O_KEY:
			keyfile = optarg;
			break;
		default:
			usage();
		}
	}
	if (nfiles == 0 || optind != argc ||
	    (strcmp(output, "yaml") != 0 && strcmp(output, "json") != 0))
		usage();
	docs = json_array();
	for (i = 0; i < nfiles; i++) {
		json_t *more;

		if (strcmp(files[i], "-") == 0 ? read_stdin(&buf, &len, err,
		    sizeof(err)) == -1 : read_file(files[i], INPUT_MAX, &buf, &len, err,
		    sizeof(err)) == -1) {
			fprintf(stderr, "kbackup-operator: %s\n", err);
			json_decref(docs);
			return 2;
		}
		if (kyaml_parse(buf, len, &more, err, sizeof(err)) == -1) {
			freezero(buf, len);
			fprintf(stderr, "kbackup-operator: %s: %s\n", files[i], err);
			json_decref(docs);
			return 2;
		}
		freezero(buf, len);
		json_array_extend(docs, more);
		json_decref(more);
	}
	in.locations = json_object();
	in.definitions = json_array();
	in.secrets = json_object();
	json_array_foreach(docs, i, doc)
		input_add(&in, doc, opns);
	memset(&ro, 0, sizeof(ro));
	ro.namespace = opns;
	ro.image_pull_secrets = pull;
	ro.version = tag;
	ro.secret = input_secret;
	ro.secret_arg = &in;
	if (keyfile != NULL && read_key(keyfile, &key, &keylen) == -1) {
		json_decref(docs);
		return 2;
	}
	ro.api_key = (const unsigned char *)key;
	ro.api_key_len = keylen;
	out = json_array();
	json_array_foreach(in.definitions, i, doc) {
		lok = 0;
		if (definition_parse(doc, &d, &reason, err, sizeof(err)) == -1)
			goto bad;
		lobj = json_object_get(in.locations, d.storage_location);
		if (lobj != NULL) {
			if (location_parse(lobj, &l, err, sizeof(err)) == -1) {
				reason = "InvalidSpec";
				location_free(&l);
				goto bad;
			}
			lok = 1;
		}
		if (render_definition(&d, lok ? &l : NULL, &ro, &r, &reason, err,
		    sizeof(err)) == -1)
			goto bad;
		json_array_append(out, r.secret);
		json_array_append(out, r.statefulset);
		json_array_append(out, r.service);
		rendered_free(&r);
		goto next;
bad:
		fprintf(stderr, "kbackup-operator: BackupDefinition %s/%s: %s: %s\n",
		    d.namespace != NULL ? d.namespace : "?", d.name != NULL ? d.name : "?",
		    reason != NULL ? reason : "Error", err);
		rc = 1;
next:
		if (lok)
			location_free(&l);
		definition_free(&d);
	}
	if (rc == 0) {
		if (strcmp(output, "json") == 0) {
			json_t *list = json_pack("{s:s, s:s, s:O}", "apiVersion", "v1",
			    "kind", "List", "items", out);

			json_dumpf(list, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
			fputc('\n', stdout);
			json_decref(list);
		} else if (kyaml_emit(out, stdout, err, sizeof(err)) == -1) {
			fprintf(stderr, "kbackup-operator: %s\n", err);
			rc = 1;
		}
	}
	json_array_foreach(out, i, doc)
		render_wipe_secret(doc);
	json_array_foreach(docs, i, doc)
		render_wipe_secret(doc);
	json_decref(out);
	json_decref(docs);
	json_decref(in.locations);
	json_decref(in.definitions);
	json_decref(in.secrets);
	json_decref(pull);
	if (key != NULL)
		freezero(key, keylen);
	return rc;
}

/* The operator's own pod's imagePullSecrets, in cluster. */
static json_t *
own_pull_secrets(struct kube *k, const char *ns)
{
	const char	*pod = getenv("POD_NAME");
	char		 err[KB_ERRLEN], *path;
	json_t		*obj, *arr = NULL;
	long		 status;

	if (pod == NULL)
		pod = getenv("HOSTNAME");
	if (pod == NULL)
		return NULL;
	path = xasprintf("/api/v1/namespaces/%s/pods/%s", ns, pod);
	if (kube_request(k, "GET", path, NULL, &status, &obj, err, sizeof(err)) == 0 &&
	    status == 200)
		arr = json_incref(json_object_get(json_object_get(obj, "spec"),
		    "imagePullSecrets"));
	else
		log_kv(LOGL_WARN, "cannot read own pod for imagePullSecrets", "error", err,
		    NULL);
	json_decref(obj);
	free(path);
	return arr;
}

static int
run_once(struct reconciler *r)
{
	char	w[32], e[32];
	int	rc;

	rc = reconcile_all(r) == 0 ? 0 : 1;
	snprintf(w, sizeof(w), "%lu", r->writes);
	snprintf(e, sizeof(e), "%lu", r->events.posted);
	log_kv(LOGL_INFO, "once done", "writes", w, "events", e, NULL);
	return rc;
}

/* Who this replica is, in the Lease and the User-Agent: the pod and a random part. */
static char *
make_identity(void)
{
	const char	*pod = getenv("POD_NAME");
	char		 host[256];

	if (pod == NULL || *pod == '\0') {
		host_name(host, sizeof(host), "kbackup-operator");
		pod = host;
	}
	return xasprintf("%.200s_%08x", pod, arc4random());
}

static volatile sig_atomic_t	waiting_stop;

static void
on_wait_signal(int sig)
{
	waiting_stop = 1;
}

/*
 * With --leader-elect: wait for the lease (SIGTERM ends the wait), then
 * reconcile while it is held; every write of kube is refused once it is not.
 */
static int
lead(struct lease *l, struct kube *k, struct reconciler *r, int once)
{
	struct sigaction	sa, old_term, old_int;
	int			rc;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_wait_signal;
	sigaction(SIGTERM, &sa, &old_term);
	sigaction(SIGINT, &sa, &old_int);
	rc = lease_acquire(l, &waiting_stop);
	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGINT, &old_int, NULL);
	if (rc == -1)
		return 0;	/* stopped while waiting */
	k->write_gate = &l->held;
	r->leading = &l->held;
	if (lease_keep(l) == -1) {
		log_error("cannot start the lease thread");
		return 1;
	}
	return once ? run_once(r) : reconcile_run(r);
}

int
main(int argc, char **argv)
{
	enum { O_SERVER = 256, O_TOKEN, O_CA, O_NS, O_RESYNC, O_PULL, O_TAG, O_ONCE,
	    O_LEVEL, O_FORMAT, O_RETRIES, O_BACKOFF, O_ELECT, O_LEASE, O_POLL, O_RTIMEOUT,
	    O_RADDR };
	static const struct option opts[] = {
		{ "server", required_argument, NULL, O_SERVER },
		{ "token-file", required_argument, NULL, O_TOKEN },
		{ "ca-file", required_argument, NULL, O_CA },
		{ "namespace", required_argument, NULL, O_NS },
		{ "resync", required_argument, NULL, O_RESYNC },
		{ "image-pull-secrets", required_argument, NULL, O_PULL },
		{ "image-tag", required_argument, NULL, O_TAG },
		{ "once", no_argument, NULL, O_ONCE },
		{ "log-level", required_argument, NULL, O_LEVEL },
		{ "log-format", required_argument, NULL, O_FORMAT },
		{ "retries", required_argument, NULL, O_RETRIES },
		{ "backoff", required_argument, NULL, O_BACKOFF },
		{ "leader-elect", no_argument, NULL, O_ELECT },
		{ "lease-duration", required_argument, NULL, O_LEASE },
		{ "poll-interval", required_argument, NULL, O_POLL },
		{ "runner-timeout", required_argument, NULL, O_RTIMEOUT },
		{ "runner-address", required_argument, NULL, O_RADDR },
		{ "file", required_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct kube		 kube;
	struct reconciler	 r;
	struct lease		 lease;
	enum log_format		 fmt;
	const char		*server = NULL, *token = NULL, *ca = NULL, *errstr;
	const char		*tag = KBACKUP_VERSION;
	char			*ns = NULL, *identity, err[KB_ERRLEN];
	json_t			*pull = NULL, *addresses = json_array();
	int64_t			 resync = 300, lease_s = 15, poll = 10, rtimeout = 5;
	long			 retries = -1, backoff = -1;
	int			 c, once = 0, render = 0, elect = 0, rc;

	/* `render` comes first; everything after it is render's */
	if (argc > 1 && strcmp(argv[1], "render") == 0) {
		render = 1;
		argc--;
		argv++;
	}
	while (!render && (c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case O_SERVER: server = optarg; break;
		case O_TOKEN: token = optarg; break;
		case O_CA: ca = optarg; break;
		case O_NS: free(ns); ns = xstrdup(optarg); break;
		case O_RESYNC:
			if (config_parse_duration(optarg, &resync) == -1 || resync < 1)
				usage();
			break;
		case O_PULL: json_decref(pull); pull = pull_secrets(optarg); break;
		case O_TAG: tag = optarg; break;
		case O_ONCE: once = 1; break;
		case O_LEVEL:
			if (strcmp(optarg, "debug") == 0)
				log_set_level(LOGL_DEBUG);
			else if (strcmp(optarg, "warn") == 0)
				log_set_level(LOGL_WARN);
			else if (strcmp(optarg, "error") == 0)
				log_set_level(LOGL_ERROR);
			else if (strcmp(optarg, "info") != 0)
				usage();
			break;
		case O_FORMAT:
			if (log_parse_format(optarg, &fmt) == -1)
				usage();
			log_set_format(fmt);
			break;
		case O_RETRIES:
			retries = strtonum(optarg, 0, 100, &errstr);
			if (errstr != NULL)
				usage();
			break;
		case O_BACKOFF:
			backoff = strtonum(optarg, 1, 600000, &errstr);
			if (errstr != NULL)
				usage();
			break;
		case O_ELECT: elect = 1; break;
		case O_LEASE:
			if (config_parse_duration(optarg, &lease_s) == -1 || lease_s < 2)
				usage();
			break;
		case O_POLL:
			if (config_parse_duration(optarg, &poll) == -1 || poll < 1)
				usage();
			break;
		case O_RTIMEOUT:
			if (config_parse_duration(optarg, &rtimeout) == -1 || rtimeout < 1)
				usage();
			break;
		case O_RADDR:
			json_array_append_new(addresses, json_string(optarg));
			break;
		default:
			usage();
		}
	}
	if (render) {
		rc = cmd_render(argc, argv);
		free(ns);
		json_decref(pull);
		json_decref(addresses);
		return rc;
	}
	if (optind != argc)
		usage();
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (kube_init(&kube, server, token, ca, err, sizeof(err)) == -1) {
		log_error("%s", err);
		return 2;
	}
	if (retries >= 0)
		kube.retries = (int)retries;
	if (backoff > 0)
		kube.backoff_ms = backoff;
	if (ns == NULL && (ns = kube_sa_namespace()) == NULL)
		ns = xstrdup("kbackup");
	if (pull == NULL && server == NULL)
		pull = own_pull_secrets(&kube, ns);
	identity = make_identity();
	kube.user_agent = xasprintf("kbackup-operator/%s (%s)", KBACKUP_VERSION, identity);
	reconciler_init(&r, &kube, ns, pull, tag, (long)resync);
	r.poll_s = (long)poll;
	r.runners.timeout_s = (long)rtimeout;
	{
		size_t	 i;
		json_t	*a;

		json_array_foreach(addresses, i, a)
			if (runnerapi_add_address(&r.runners, json_string_value(a)) == -1) {
				log_error("--runner-address %s: expected NAMESPACE/NAME=HOST:PORT",
				    json_string_value(a));
				return 2;
			}
	}
	log_kv(LOGL_INFO, "starting", "version", KBACKUP_VERSION, "namespace", ns,
	    "server", kube.server, "identity", identity, NULL);
	if (elect) {
		if (lease_init(&lease, &kube, ns, identity, (long)lease_s * 1000, err,
		    sizeof(err)) == -1) {
			log_error("%s", err);
			return 2;
		}
		rc = lead(&lease, &kube, &r, once);
		lease_release(&lease);
		lease_free(&lease);
	} else
		rc = once ? run_once(&r) : reconcile_run(&r);
	reconciler_free(&r);
	kube_free(&kube);
	json_decref(pull);
	json_decref(addresses);
	free(identity);
	free(ns);
	curl_global_cleanup();
	return rc;
}
