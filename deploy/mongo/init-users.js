// compose's `mongo-init` job: one user per service database, with readWrite on that database only,
// so no service can read another's (DESIGN §5). Idempotent: an existing user gets its password and
// roles set again (a rotated secret is applied by running the job again). Passwords come from the
// environment (MONGO_<SERVICE>_PASSWORD), never from this file.
const services = ["registry", "awards", "notifications", "reporting"];
for (const service of services) {
  const password = process.env[`MONGO_${service.toUpperCase()}_PASSWORD`];
  if (!password) {
    throw new Error(`MONGO_${service.toUpperCase()}_PASSWORD is not set`);
  }
  const target = db.getSiblingDB(`antq_${service}`);
  const roles = [{ role: "readWrite", db: `antq_${service}` }];
  if (target.getUser(service) === null) {
    target.createUser({ user: service, pwd: password, roles: roles });
  } else {
    target.updateUser(service, { pwd: password, roles: roles });
  }
  print(`user ${service}: readWrite on antq_${service} only`);
}
