import { DatabaseEngine } from '../../core/database';

/**
 * The programs of the backup and restore pods, bash (every image involved ships it: Oracle Linux for mysql, Alpine
 * with bash for postgres, Amazon Linux 2 for the AWS CLI). Inputs come from the environment only; every script runs
 * with `set -euo pipefail`, so a failing client anywhere in a pipeline fails the container.
 *
 * The pods pass files through an emptyDir (`$BACKUP_DIR`): the database client writes `dump.sql.gz.part`, checks it
 * (gzip integrity, the dump tool's completion marker), then renames it to `dump.sql.gz` and writes `timestamp`. Only
 * then does the upload container start (it is the main container after the dump init container), and it refuses
 * to upload unless both files exist.
 */

/** mysql: client options (password included) through a pipe, never a file or the command line; helpers. */
const MYSQL_PRELUDE = `
set -euo pipefail
# DB_NAMES holds validated identifiers separated by spaces: word splitting below is intended, globbing is not.
set -f
umask 077
client_options() {
  printf '[client]\\nhost=%s\\nport=%s\\nuser=%s\\n' "$DB_HOST" "$DB_PORT" "$DB_USER"
  printf 'password="%s"\\n' "\${DB_PASSWORD//\\\\/\\\\\\\\}"
  if [ -n "\${DB_SSL_MODE:-}" ]; then printf 'ssl-mode=%s\\n' "$DB_SSL_MODE"; fi
  if [ -n "\${DB_SSL_CA:-}" ]; then printf 'ssl-ca=%s\\n' "$DB_SSL_CA"; fi
}
sql() {
  mysql --defaults-extra-file=<(client_options) --batch --skip-column-names -e "$1"
}
name_list() {
  local list='' name
  for name in $DB_NAMES; do list="\${list:+$list,}'$name'"; done
  printf '%s' "$list"
}
`;

/** postgresql: libpq reads PGHOST, PGPORT, PGUSER, PGPASSWORD (PGSSLMODE, PGSSLROOTCERT) from the environment. */
const POSTGRES_PRELUDE = `
set -euo pipefail
# DB_NAMES holds validated identifiers separated by spaces: word splitting below is intended, globbing is not.
set -f
umask 077
sql() {
  psql -X -q -A -t -v ON_ERROR_STOP=1 -d postgres -c "$1"
}
name_list() {
  local list='' name
  for name in $DB_NAMES; do list="\${list:+$list,}'$name'"; done
  printf '%s' "$list"
}
`;

const DUMP_BEGIN = `
dump="$BACKUP_DIR/dump.sql.gz"
rm -f -- "$dump" "$dump.part" "$BACKUP_DIR/timestamp" "$BACKUP_DIR/empty"
timestamp="$(date -u +%Y%m%dT%H%M%SZ)"
`;

const MYSQL_DUMP = `
databases="$(sql "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME IN ($(name_list)) ORDER BY SCHEMA_NAME")"
if [ -z "$databases" ]; then
  echo "none of the databases ($DB_NAMES) exists yet: nothing to back up"
  : > "$BACKUP_DIR/empty"
  exit 0
fi
mapfile -t dbs <<< "$databases"
echo "dumping \${dbs[*]} at $timestamp (one transaction)"
# --single-transaction: one consistent InnoDB snapshot of every database, without locking the clients out.
mysqldump --defaults-extra-file=<(client_options) --single-transaction --quick --routines --events --triggers \\
  --hex-blob --no-tablespaces --set-gtid-purged=OFF --add-drop-database --databases "\${dbs[@]}" \\
  | gzip -c > "$dump.part"
gzip -dc "$dump.part" > /dev/null
last="$(gzip -dc "$dump.part" | tail -n 1)"
case "$last" in
  '-- Dump completed'*) ;;
  *) echo "the dump does not end with mysqldump's completion line: it is incomplete; nothing uploaded" >&2; exit 1 ;;
esac
`;

const POSTGRES_DUMP = `
databases="$(sql "SELECT datname FROM pg_database WHERE datname IN ($(name_list)) ORDER BY datname")"
if [ -z "$databases" ]; then
  echo "none of the databases ($DB_NAMES) exists yet: nothing to back up"
  : > "$BACKUP_DIR/empty"
  exit 0
fi
mapfile -t dbs <<< "$databases"
count=0
for db in "\${dbs[@]}"; do
  echo "dumping $db at $timestamp (one snapshot per database)"
  # Concatenated gzip members form one valid gzip stream.
  pg_dump --create --clean --if-exists --dbname="$db" | gzip -c >> "$dump.part"
  count=$((count + 1))
done
gzip -dc "$dump.part" > /dev/null
complete="$(gzip -dc "$dump.part" | grep -c -x -e '-- PostgreSQL database dump complete' || true)"
if [ "$complete" != "$count" ]; then
  echo "$complete of $count database dumps end with pg_dump's completion line: the dump is incomplete; nothing uploaded" >&2
  exit 1
fi
`;

const DUMP_END = `
mv -- "$dump.part" "$dump"
printf '%s\\n' "$timestamp" > "$BACKUP_DIR/timestamp"
echo "dump complete: $(wc -c < "$dump" | tr -d ' ') bytes compressed"
`;

const WRITE_AWS_CONFIG = `
printf '[default]\\ns3 =\\n    addressing_style = %s\\n' "$S3_ADDRESSING_STYLE" > "$AWS_CONFIG_FILE"
`;

/**
 * Upload and retention (AWS CLI image). Uploads `<prefix>/<timestamp>.sql.gz`, verifies the stored size, then
 * deletes backups older than RETENTION_DAYS — only objects named exactly `<prefix>/<timestamp>.sql.gz`, never the
 * one just written, never the newest, and not at all unless the listing shows the new backup and this pod's clock
 * agrees with the store's to within an hour (a pod clock far ahead must not age out every real backup).
 */
const UPLOAD = `
set -euo pipefail
dump="$BACKUP_DIR/dump.sql.gz"
if [ -e "$BACKUP_DIR/empty" ]; then
  echo "the dump step found no database to back up: nothing uploaded, nothing deleted"
  exit 0
fi
if [ ! -s "$dump" ] || [ ! -s "$BACKUP_DIR/timestamp" ]; then
  echo "no complete dump in $BACKUP_DIR: the dump step did not finish; nothing uploaded, nothing deleted" >&2
  exit 1
fi
timestamp="$(cat "$BACKUP_DIR/timestamp")"
if ! [[ $timestamp =~ ^[0-9]{8}T[0-9]{6}Z$ ]]; then
  echo "unexpected dump timestamp '$timestamp'; nothing uploaded" >&2
  exit 1
fi
key="$BACKUP_PREFIX/$timestamp.sql.gz"
${WRITE_AWS_CONFIG.trim()}
aws s3 cp "$dump" "s3://$S3_BUCKET/$key" --only-show-errors --content-type application/gzip
size="$(wc -c < "$dump" | tr -d ' ')"
head="$(aws s3api head-object --bucket "$S3_BUCKET" --key "$key" --query '[ContentLength, LastModified]' --output text)"
read -r stored modified <<< "$head"
if [ "$stored" != "$size" ]; then
  echo "s3://$S3_BUCKET/$key has $stored bytes, the dump $size: the upload is incomplete; nothing deleted" >&2
  exit 1
fi
echo "uploaded s3://$S3_BUCKET/$key ($size bytes)"

# Ages are judged by this pod's clock: check it against the store's before deleting anything.
now="$(date -u +%s)"
if ! stored_at="$(date -u -d "$modified" +%s 2>/dev/null)"; then
  echo "cannot read the store's time of the upload ('$modified'): retention skipped this run, nothing deleted" >&2
  exit 0
fi
skew=$((now - stored_at))
if [ "\${skew#-}" -gt 3600 ]; then
  echo "this pod's clock is \${skew}s off the store's: retention skipped this run, nothing deleted" >&2
  exit 0
fi
cutoff="$(date -u -d "@$((now - RETENTION_DAYS * 86400))" +%Y%m%dT%H%M%SZ)"
listing="$(aws s3api list-objects-v2 --bucket "$S3_BUCKET" --prefix "$BACKUP_PREFIX/" --query 'Contents[].[Key]' --output text)"
backups="$(grep -E "^$BACKUP_PREFIX/[0-9]{8}T[0-9]{6}Z\\.sql\\.gz$" <<< "$listing" | LC_ALL=C sort || true)"
if ! grep -qxF -e "$key" <<< "$backups"; then
  echo "the listing of s3://$S3_BUCKET/$BACKUP_PREFIX/ does not show $key yet: retention skipped this run" >&2
  exit 0
fi
newest="$(tail -n 1 <<< "$backups")"
deleted=0
while IFS= read -r old; do
  stamp="\${old#"$BACKUP_PREFIX/"}"
  stamp="\${stamp%.sql.gz}"
  if [ "$old" = "$key" ] || [ "$old" = "$newest" ]; then continue; fi
  if [[ $stamp < $cutoff ]]; then
    aws s3 rm "s3://$S3_BUCKET/$old" --only-show-errors < /dev/null
    echo "deleted $old (older than $RETENTION_DAYS days)"
    deleted=$((deleted + 1))
  fi
done <<< "$backups"
echo "retention: backups since $cutoff kept, $deleted deleted"
`;

/** Download of exactly BACKUP_OBJECT_KEY (AWS CLI image), size-checked, to `$BACKUP_DIR/restore.sql.gz`. */
const DOWNLOAD = `
set -euo pipefail
file="$BACKUP_DIR/restore.sql.gz"
source_url="s3://$S3_BUCKET/$BACKUP_OBJECT_KEY"
rm -f -- "$file" "$file.part"
${WRITE_AWS_CONFIG.trim()}
if ! size="$(aws s3api head-object --bucket "$S3_BUCKET" --key "$BACKUP_OBJECT_KEY" --query ContentLength --output text)"; then
  echo "backup $source_url not found or not readable; list the backups with: aws s3 ls s3://$S3_BUCKET/\${BACKUP_OBJECT_KEY%/*}/" >&2
  exit 1
fi
aws s3 cp "$source_url" "$file.part" --only-show-errors
got="$(wc -c < "$file.part" | tr -d ' ')"
if [ "$got" != "$size" ]; then
  echo "downloaded $got of $size bytes of $source_url; nothing restored" >&2
  exit 1
fi
mv -- "$file.part" "$file"
echo "downloaded $source_url ($size bytes)"
`;

const LOAD_BEGIN = `
file="$BACKUP_DIR/restore.sql.gz"
if [ ! -s "$file" ]; then
  echo "no downloaded backup at $file; nothing restored" >&2
  exit 1
fi
gzip -dc "$file" > /dev/null
`;

const BUSY_MESSAGE = 'client connection(s) use the databases ($DB_NAMES): stop their clients (scale Kubeflow Pipelines, ' +
  'ML Metadata and Katib to 0 replicas), then run the restore again; nothing restored';

const MYSQL_LOAD = `
busy="$(sql "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE DB IN ($(name_list)) AND ID <> CONNECTION_ID()")"
if [ "$busy" != 0 ]; then
  echo "$busy ${BUSY_MESSAGE}" >&2
  exit 1
fi
echo "restoring $BACKUP_OBJECT_KEY: replaces every database the backup contains"
gzip -dc "$file" | mysql --defaults-extra-file=<(client_options) --batch
echo "restored $BACKUP_OBJECT_KEY"
`;

const POSTGRES_LOAD = `
busy="$(sql "SELECT count(*) FROM pg_stat_activity WHERE datname IN ($(name_list)) AND pid <> pg_backend_pid()")"
if [ "$busy" != 0 ]; then
  echo "$busy ${BUSY_MESSAGE}" >&2
  exit 1
fi
echo "restoring $BACKUP_OBJECT_KEY: replaces every database the backup contains"
gzip -dc "$file" | psql -X -q -v ON_ERROR_STOP=1 -d postgres
echo "restored $BACKUP_OBJECT_KEY"
`;

function join(...parts: string[]): string {
  return parts.map((p) => p.trim()).join('\n');
}

/** The dump script of `engine` (database image). */
export function dumpScript(engine: DatabaseEngine): string {
  return engine === 'mysql'
    ? join(MYSQL_PRELUDE, DUMP_BEGIN, MYSQL_DUMP, DUMP_END)
    : join(POSTGRES_PRELUDE, DUMP_BEGIN, POSTGRES_DUMP, DUMP_END);
}

/** The load script of `engine` (database image). */
export function loadScript(engine: DatabaseEngine): string {
  return engine === 'mysql' ? join(MYSQL_PRELUDE, LOAD_BEGIN, MYSQL_LOAD) : join(POSTGRES_PRELUDE, LOAD_BEGIN, POSTGRES_LOAD);
}

/** The upload-and-retention script (AWS CLI image). */
export const UPLOAD_SCRIPT = UPLOAD.trim();

/** The download script (AWS CLI image). */
export const DOWNLOAD_SCRIPT = DOWNLOAD.trim();
