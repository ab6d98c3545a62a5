// The healthcheck of compose's `mongodb`: initiates the single-member replica set the first time
// (idempotent), then reports healthy once this member is primary. Run by mongosh as root over TLS.
try {
  rs.status();
} catch (e) {
  rs.initiate({ _id: "rs0", members: [{ _id: 0, host: "mongodb:27017" }] });
}
if (!db.hello().isWritablePrimary) {
  throw new Error("not primary yet");
}
