// One-shot KurrentDB setup for the production compose file (service kurrentdb-setup), run with the admin's password.
// Idempotent: run it again after changing KURRENTDB_APP_PASSWORD.
// 1. The application's user `reglament` (not an admin), via the HTTP users API (served with AtomPub off).
// 2. Default ACLs ($settings): user streams are read and written by `reglament` and $admins only, and only $admins may
//    write stream metadata ($mw), so nobody but an administrator can set $maxAge / $tb / $maxCount on a case stream
//    (a scavenge would then delete acknowledged acts and break verification). System streams: $admins only.
// 3. Read access to $all for `reglament` ($$$all metadata): projections and verification read the whole log.
'use strict';
const { EventStoreDBClient, jsonEvent } = require('@eventstore/db-client');

const required = (name) => {
  const value = process.env[name];
  if (!value) {
    process.stderr.write(`${name} is not set\n`);
    process.exit(78);
  }
  return value;
};

const host = process.env.KURRENTDB_HOST || 'kurrentdb:2113';
const caFile = required('KURRENTDB_CA_FILE');
const admin = { username: 'admin', password: required('KURRENTDB_ADMIN_PASSWORD') };
const appPassword = required('KURRENTDB_APP_PASSWORD');
const APP_USER = 'reglament';

async function http(method, path, body) {
  // NODE_EXTRA_CA_CERTS (set by the compose file) makes fetch trust the node's CA.
  const response = await fetch(`https://${host}${path}`, {
    method,
    headers: {
      authorization: `Basic ${Buffer.from(`${admin.username}:${admin.password}`).toString('base64')}`,
      'content-type': 'application/json',
    },
    body: JSON.stringify(body),
  });
  return response.status;
}

async function main() {
  const created = await http('POST', '/users/', {
    loginName: APP_USER,
    fullName: 'reglament API and worker',
    groups: [],
    password: appPassword,
  });
  if (created === 409) {
    const reset = await http('POST', `/users/${APP_USER}/command/reset-password`, { newPassword: appPassword });
    if (reset >= 300) throw new Error(`resetting the password of ${APP_USER} answered ${reset}`);
  } else if (created >= 300) {
    throw new Error(`creating the user ${APP_USER} answered ${created}`);
  }

  const client = EventStoreDBClient.connectionString(`esdb://${host}?tls=true&tlsCAFile=${encodeURIComponent(caFile)}`);
  try {
    const appAndAdmins = [APP_USER, '$admins'];
    await client.appendToStream(
      '$settings',
      jsonEvent({
        type: 'update-default-acl',
        data: {
          $userStreamAcl: { $r: appAndAdmins, $w: appAndAdmins, $d: '$admins', $mr: appAndAdmins, $mw: '$admins' },
          $systemStreamAcl: { $r: '$admins', $w: '$admins', $d: '$admins', $mr: '$admins', $mw: '$admins' },
        },
      }),
      { credentials: admin },
    );
    await client.setStreamMetadata('$all', { acl: { readRoles: appAndAdmins } }, { credentials: admin });
  } finally {
    await client.dispose();
  }
  process.stdout.write(
    `KurrentDB: user ${APP_USER} ready; default ACLs set (stream metadata writable by $admins only)\n`,
  );
}

main().catch((error) => {
  process.stderr.write(`KurrentDB setup failed: ${error && error.message ? error.message : error}\n`);
  process.exit(1);
});
