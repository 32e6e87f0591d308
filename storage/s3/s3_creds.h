/*
 * s3_creds: where the S3 backend's credentials come from, and their refresh.
 *
 * Sources, tried in this order by "credentials = auto" (the order of the
 * AWS SDKs), each also selectable alone:
 *   static        access_key, secret_key and session_token of the config;
 *   env           AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN;
 *   web-identity  role_arn and web_identity_token_file (or AWS_ROLE_ARN and
 *                 AWS_WEB_IDENTITY_TOKEN_FILE: IRSA on EKS) exchanged at STS
 *                 AssumeRoleWithWebIdentity for temporary credentials;
 *   pod-identity  the container credentials endpoint,
 *                 AWS_CONTAINER_CREDENTIALS_FULL_URI (EKS Pod Identity) or
 *                 _RELATIVE_URI (ECS) with AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE
 *                 or _TOKEN;
 *   imds          the EC2 instance metadata service, IMDSv2 (a session token
 *                 first), with 1-second timeouts so that it costs nothing
 *                 off EC2 (AWS_EC2_METADATA_DISABLED=true skips it).
 * Temporary credentials are fetched again before they expire: at the first
 * request after 3/4 of their lifetime, at most 5 minutes before the end
 * (lifetimes are measured on the issuer's clock, its Date header), and when
 * the store answers ExpiredToken.  Every request asks s3_creds_get(), so a
 * long multipart upload and a daemon between jobs both see fresh ones.
 * Secrets are never logged nor put in error text, and are wiped when
 * replaced and at s3_creds_free().
 */
#ifndef KB_S3_CREDS_H
#define KB_S3_CREDS_H

#include <stddef.h>
#include <time.h>

#include "common/config.h"

struct s3_creds;

struct s3_cred {
	const char	*access_key;
	const char	*secret_key;
	const char	*token;		/* session token, NULL when none */
};

/* Credentials as the container endpoint and IMDS answer them (JSON). */
struct s3_cred_answer {
	char	*access_key;
	char	*secret_key;
	char	*token;
	time_t	 expiration;	/* 0: none given */
};

/*
 * Checks of single values, for the keys of the credential sources in s3's
 * schema: credentials, access_key, secret_key, session_token, role_arn,
 * web_identity_token_file, role_session_name, role_session_duration,
 * sts_endpoint.
 */
int	 s3_creds_check_arn(const char *, char *err, size_t errlen);
int	 s3_creds_check_session_name(const char *, char *err, size_t errlen);
int	 s3_creds_check_duration(const char *, char *err, size_t errlen);

/* Cross-key checks at config time (credentials = static needs both keys, ...). */
int	 s3_creds_validate(const struct config_section *, char *err, size_t errlen);

/* Nothing is fetched yet: the first s3_creds_get() does. */
int	 s3_creds_open(const struct config_section *, const char *region, const char *ca_file,
	    struct s3_creds **, char *err, size_t errlen);
void	 s3_creds_free(struct s3_creds *);

/* Valid credentials (fetched or refreshed if need be) until the next call. */
int	 s3_creds_get(struct s3_creds *, const struct s3_cred **, char *err, size_t errlen);
/* The store refused the token as expired: 1 when a refresh will be tried, else 0. */
int	 s3_creds_expired(struct s3_creds *);
/* "static", "env", "web-identity", "pod-identity", "imds"; "auto" before the first get. */
const char *s3_creds_source(const struct s3_creds *);

/* Pure parsers, for tests and fuzzing; the answer's strings are new (s3_cred_answer_free). */
int	 s3_creds_parse_json(const char *body, size_t len, struct s3_cred_answer *, char *err,
	    size_t errlen);
void	 s3_cred_answer_free(struct s3_cred_answer *);

#endif
