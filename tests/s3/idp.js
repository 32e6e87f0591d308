#!/usr/bin/env node
/*
 * Stand-ins for the AWS credential endpoints kbackup's S3 backend talks to,
 * where nothing real can run here, each following its AWS document:
 *
 *   STS AssumeRoleWithWebIdentity (AWS STS API Reference): POST / with a
 *   form (or GET /?Action=...) of Action, Version 2011-06-15, RoleArn,
 *   RoleSessionName, WebIdentityToken, DurationSeconds (900 to 43200),
 *   unsigned.  The token must be a JWT signed RS256 by this issuer, not
 *   expired, with the audience given; answers <AssumeRoleWithWebIdentityResponse>
 *   with <Credentials>, or an <ErrorResponse>: InvalidIdentityToken,
 *   ExpiredTokenException (400), AccessDenied (403: a role other than
 *   --role), ValidationError and MissingParameter (400).
 *
 *   Container credentials (SDK reference, "Container credential provider";
 *   the EKS Pod Identity agent's http://169.254.170.23/v1/credentials):
 *   GET /v1/credentials with Authorization: the token (--container-token);
 *   JSON AccessKeyId, SecretAccessKey, Token, AccountId, Expiration.
 *   No Authorization: 400; a wrong one: 403.
 *
 *   EC2 instance metadata, IMDSv2 only (EC2 User Guide, "Use IMDSv2"):
 *   PUT /latest/api/token with X-aws-ec2-metadata-token-ttl-seconds
 *   (1 to 21600; else 400) gives a token; a PUT with X-Forwarded-For is 403;
 *   GET /latest/meta-data/iam/security-credentials/ and .../ROLE need
 *   X-aws-ec2-metadata-token (missing, wrong or expired: 401); the role's
 *   JSON is Code "Success", LastUpdated, Type "AWS-HMAC", AccessKeyId,
 *   SecretAccessKey, Token, Expiration.
 *
 * Also the OpenID Connect issuer of the JWTs, for Ceph RGW's STS, which
 * fetches ISSUER/protocol/openid-connect/certs (a JWKS with x5c) to check a
 * token: issuer http://127.0.0.1:PORT/realms/kb.
 *
 * Where it departs from AWS, for tests: issued credentials expire after
 * --lifetime seconds (AWS: at least 900), so that a test sees them
 * refreshed; each is written to --sessions DIR as AKID.json (secret, token,
 * expiration) for proxy.js, which then accepts it until it expires.
 *
 * Usage: idp.js --port-file F --key KEY.pem --cert CERT.pem --sessions DIR
 *   [--lifetime S] [--role ARN] [--audience AUD] [--container-token T]
 *   [--imds-role NAME]
 * Test helpers: POST /__idp/mint?sub=S&aud=A&ttl=S answers a signed JWT;
 * POST /__idp/expire ends every credential issued so far at once (as a
 * revoked session: the proxy then answers ExpiredToken); GET /__idp/stats
 * answers counters (JSON).
 */
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const http = require('http');
const path = require('path');

function arg(name, def) {
	const i = process.argv.indexOf(name);
	return i >= 0 ? process.argv[i + 1] : def;
}

const portFile = arg('--port-file', null);
const keyPem = fs.readFileSync(arg('--key'), 'utf8');
const certPem = fs.readFileSync(arg('--cert'), 'utf8');
const sessions = arg('--sessions');
const lifetime = Number(arg('--lifetime', '900'));
const allowedRole = arg('--role', 'arn:aws:iam::123456789012:role/kbackup');
const audience = arg('--audience', 'sts.amazonaws.com');
const containerToken = arg('--container-token', 'pod-identity-token');
const imdsRole = arg('--imds-role', 'kbackup-instance-role');
const privateKey = crypto.createPrivateKey(keyPem);
const cert = new crypto.X509Certificate(certPem);
const stats = { sts: 0, container: 0, imdsToken: 0, imdsCreds: 0, issued: 0, refused: 0 };
const imdsTokens = new Map();	/* token -> expiry (ms) */
let issuer = null;

function b64url(buf) {
	return Buffer.from(buf).toString('base64').replace(/=+$/, '').replace(/\+/g, '-')
	    .replace(/\//g, '_');
}

function mint(sub, aud, ttl) {
	const now = Math.floor(Date.now() / 1000);
	const head = b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid: 'k1' }));
	const body = b64url(JSON.stringify({ iss: issuer, sub, aud, iat: now, nbf: now - 5,
	    exp: now + ttl, client_id: aud }));
	const sig = crypto.sign('sha256', Buffer.from(head + '.' + body), privateKey);
	return head + '.' + body + '.' + b64url(sig);
}

/* The claims of a token of ours, or [code, message]. */
function checkJwt(jwt) {
	const parts = String(jwt || '').split('.');
	if (parts.length !== 3)
		return ['InvalidIdentityToken', 'The web identity token is not a JWT.'];
	let head, claims;
	try {
		head = JSON.parse(Buffer.from(parts[0], 'base64url').toString());
		claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString());
	} catch (e) {
		return ['InvalidIdentityToken', 'The web identity token could not be parsed.'];
	}
	const ok = head.alg === 'RS256' && crypto.verify('sha256',
	    Buffer.from(parts[0] + '.' + parts[1]), cert.publicKey,
	    Buffer.from(parts[2], 'base64url'));
	if (!ok || claims.iss !== issuer)
		return ['InvalidIdentityToken', "Couldn't verify the signature of the web " +
		    'identity token with the keys of its issuer.'];
	if (claims.aud !== audience)
		return ['InvalidIdentityToken', 'Incorrect token audience'];
	if (claims.exp * 1000 < Date.now())
		return ['ExpiredTokenException', 'Token expired: current date/time ' +
		    new Date().toISOString() + ' must be before the expiration date/time.'];
	return claims;
}

function randomId(prefix, n) {
	const abc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
	let s = prefix;
	for (const b of crypto.randomBytes(n))
		s += abc[b % abc.length];
	return s;
}

/* New temporary credentials, registered with the proxy through --sessions. */
function issue() {
	const c = {
		AccessKeyId: randomId('ASIA', 16),
		SecretAccessKey: crypto.randomBytes(30).toString('base64'),
		Token: crypto.randomBytes(180).toString('base64'),
		Expiration: new Date(Math.floor(Date.now() / 1000 + lifetime) * 1000)
		    .toISOString().replace(/\.000Z$/, 'Z')
	};
	fs.writeFileSync(path.join(sessions, c.AccessKeyId + '.json'), JSON.stringify({
		secret: c.SecretAccessKey, token: c.Token,
		expiration: Date.parse(c.Expiration)
	}));
	stats.issued++;
	return c;
}

function send(res, status, type, body) {
	res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body),
	    'Date': new Date().toUTCString() });
	res.end(body);
}

function stsError(res, status, code, message) {
	stats.refused++;
	send(res, status, 'text/xml', '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/' +
	    '2011-06-15/">\n  <Error>\n    <Type>Sender</Type>\n    <Code>' + code +
	    '</Code>\n    <Message>' + message + '</Message>\n  </Error>\n  <RequestId>' +
	    crypto.randomUUID() + '</RequestId>\n</ErrorResponse>\n');
}

function sts(res, q) {
	stats.sts++;
	if (q.get('Action') !== 'AssumeRoleWithWebIdentity')
		return stsError(res, 400, 'InvalidAction', 'Could not find operation ' +
		    q.get('Action') + ' for version ' + q.get('Version'));
	if (q.get('Version') !== '2011-06-15')
		return stsError(res, 400, 'InvalidAction', 'Could not find operation ' +
		    'AssumeRoleWithWebIdentity for version ' + q.get('Version'));
	for (const p of ['RoleArn', 'RoleSessionName', 'WebIdentityToken'])
		if (!q.get(p))
			return stsError(res, 400, 'MissingParameter', 'The request must contain ' +
			    'the parameter ' + p);
	const d = q.get('DurationSeconds');
	if (d !== null && (!/^\d+$/.test(d) || Number(d) < 900 || Number(d) > 43200))
		return stsError(res, 400, 'ValidationError', "1 validation error detected: Value '" +
		    d + "' at 'durationSeconds' failed to satisfy constraint: Member must have " +
		    'value greater than or equal to 900');
	if (!/^[\w+=,.@-]{2,64}$/.test(q.get('RoleSessionName')))
		return stsError(res, 400, 'ValidationError', "1 validation error detected: Value " +
		    "at 'roleSessionName' failed to satisfy constraint: Member must satisfy " +
		    'regular expression pattern: [\\w+=,.@-]*');
	const claims = checkJwt(q.get('WebIdentityToken'));
	if (Array.isArray(claims))
		return stsError(res, 400, claims[0], claims[1]);
	if (q.get('RoleArn') !== allowedRole)
		return stsError(res, 403, 'AccessDenied', 'Not authorized to perform ' +
		    'sts:AssumeRoleWithWebIdentity');
	const c = issue();
	const role = q.get('RoleArn').replace(/^.*:role\//, '');
	send(res, 200, 'text/xml', '<AssumeRoleWithWebIdentityResponse xmlns="https://sts.' +
	    'amazonaws.com/doc/2011-06-15/">\n  <AssumeRoleWithWebIdentityResult>\n' +
	    '    <SubjectFromWebIdentityToken>' + claims.sub + '</SubjectFromWebIdentityToken>\n' +
	    '    <Audience>' + claims.aud + '</Audience>\n    <AssumedRoleUser>\n' +
	    '      <Arn>arn:aws:sts::123456789012:assumed-role/' + role + '/' +
	    q.get('RoleSessionName') + '</Arn>\n      <AssumedRoleId>AROACLKWSDQRAOEXAMPLE:' +
	    q.get('RoleSessionName') + '</AssumedRoleId>\n    </AssumedRoleUser>\n' +
	    '    <Credentials>\n      <SessionToken>' + c.Token + '</SessionToken>\n' +
	    '      <SecretAccessKey>' + c.SecretAccessKey + '</SecretAccessKey>\n' +
	    '      <Expiration>' + c.Expiration + '</Expiration>\n' +
	    '      <AccessKeyId>' + c.AccessKeyId + '</AccessKeyId>\n    </Credentials>\n' +
	    '    <Provider>' + issuer + '</Provider>\n  </AssumeRoleWithWebIdentityResult>\n' +
	    '  <ResponseMetadata>\n    <RequestId>' + crypto.randomUUID() + '</RequestId>\n' +
	    '  </ResponseMetadata>\n</AssumeRoleWithWebIdentityResponse>\n');
}

function container(req, res) {
	stats.container++;
	const auth = req.headers.authorization;
	if (!auth) {
		stats.refused++;
		return send(res, 400, 'application/json', JSON.stringify({ code: 'InvalidToken',
		    message: 'Service account token cannot be empty' }));
	}
	if (auth !== containerToken) {
		stats.refused++;
		return send(res, 403, 'application/json', JSON.stringify({ code: 'AccessDenied',
		    message: 'Service account token is not valid' }));
	}
	const c = issue();
	send(res, 200, 'application/json', JSON.stringify({ AccessKeyId: c.AccessKeyId,
	    SecretAccessKey: c.SecretAccessKey, Token: c.Token, AccountId: '123456789012',
	    Expiration: c.Expiration }));
}

function imdsAuthorized(req) {
	const t = req.headers['x-aws-ec2-metadata-token'];
	const exp = t && imdsTokens.get(t);
	return exp && exp > Date.now();
}

function imds(req, res, p) {
	if (p === '/latest/api/token') {
		if (req.method !== 'PUT')
			return send(res, 405, 'text/plain', '');
		stats.imdsToken++;
		if (req.headers['x-forwarded-for'] !== undefined)
			return send(res, 403, 'text/plain', '');
		const ttl = Number(req.headers['x-aws-ec2-metadata-token-ttl-seconds']);
		if (!Number.isInteger(ttl) || ttl < 1 || ttl > 21600)
			return send(res, 400, 'text/plain', '');
		const t = crypto.randomBytes(42).toString('base64');
		imdsTokens.set(t, Date.now() + ttl * 1000);
		res.setHeader('X-Aws-Ec2-Metadata-Token-Ttl-Seconds', String(ttl));
		return send(res, 200, 'text/plain', t);
	}
	if (!imdsAuthorized(req)) {
		stats.refused++;
		return send(res, 401, 'text/plain', '');
	}
	const base = '/latest/meta-data/iam/security-credentials/';
	if (p === base)
		return send(res, 200, 'text/plain', imdsRole);
	if (p !== base + imdsRole)
		return send(res, 404, 'text/plain', '');
	stats.imdsCreds++;
	const c = issue();
	send(res, 200, 'text/plain', JSON.stringify({ Code: 'Success',
	    LastUpdated: new Date().toISOString().replace(/\.\d+Z$/, 'Z'), Type: 'AWS-HMAC',
	    AccessKeyId: c.AccessKeyId, SecretAccessKey: c.SecretAccessKey, Token: c.Token,
	    Expiration: c.Expiration }, null, 2));
}

function jwks(res) {
	const k = cert.publicKey.export({ format: 'jwk' });
	const der = cert.raw.toString('base64');
	send(res, 200, 'application/json', JSON.stringify({ keys: [{ kid: 'k1', kty: 'RSA',
	    alg: 'RS256', use: 'sig', n: k.n, e: k.e, x5c: [der] }] }));
}

const server = http.createServer((req, res) => {
	const chunks = [];
	req.on('data', (c) => chunks.push(c));
	req.on('end', () => {
		const u = new URL(req.url, 'http://127.0.0.1');
		const p = u.pathname;
		if (p === '/__idp/stats')
			return send(res, 200, 'application/json', JSON.stringify(stats));
		if (p === '/__idp/expire') {
			for (const f of fs.readdirSync(sessions)) {
				const file = path.join(sessions, f);
				const c = JSON.parse(fs.readFileSync(file, 'utf8'));
				c.expiration = Date.now() - 1000;
				fs.writeFileSync(file, JSON.stringify(c));
			}
			return send(res, 204, 'text/plain', '');
		}
		if (p === '/__idp/mint')
			return send(res, 200, 'text/plain', mint(u.searchParams.get('sub') ||
			    'system:serviceaccount:db:kbackup', u.searchParams.get('aud') || audience,
			    Number(u.searchParams.get('ttl') || 3600)));
		if (p === '/realms/kb/protocol/openid-connect/certs')
			return jwks(res);
		if (p === '/realms/kb/.well-known/openid-configuration')
			return send(res, 200, 'application/json', JSON.stringify({ issuer,
			    jwks_uri: issuer + '/protocol/openid-connect/certs' }));
		if (p === '/v1/credentials')
			return container(req, res);
		if (p.startsWith('/latest/'))
			return imds(req, res, p);
		if (p === '/') {
			const form = req.method === 'POST' ? Buffer.concat(chunks).toString() :
			    u.search.slice(1);
			return sts(res, new URLSearchParams(form));
		}
		send(res, 404, 'text/plain', 'not found\n');
	});
});

server.listen(0, '127.0.0.1', () => {
	const port = server.address().port;
	issuer = 'http://127.0.0.1:' + port + '/realms/kb';
	if (portFile)
		fs.writeFileSync(portFile, String(port));
	console.error('idp.js: listening on 127.0.0.1:' + port);
});
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
