#!/bin/bash
# Apache Kafka (KRaft, one node) with SASL/SCRAM-SHA-512 authentication and ACLs.
#
# Every KAFKA_<NAME> variable of the container becomes the broker property <name> (lower case,
# "_" -> ".", "__" -> "_", "___" -> "-", as the apache/kafka image does), except the variables of
# the JVM and the scripts (KAFKA_HEAP_OPTS, KAFKA_OPTS, ...). The script adds the broker's own
# SCRAM login (principal "admin", password from /run/secrets/kafka_admin_password), formats the
# storage on first start with that SCRAM credential (so the admin can create the others: setup.sh)
# and runs the broker in the foreground.
set -euo pipefail

CONFIG_DIR=/tmp/gridcommons-kafka
CONFIG="$CONFIG_DIR/server.properties"
ADMIN_PASSWORD="$(tr -d '\n' < /run/secrets/kafka_admin_password)"
mkdir -p "$CONFIG_DIR"
chmod 0700 "$CONFIG_DIR"
: > "$CONFIG"

while IFS='=' read -r name value; do
  case "$name" in
    KAFKA_HEAP_OPTS|KAFKA_OPTS|KAFKA_JVM_PERFORMANCE_OPTS|KAFKA_LOG4J_OPTS|KAFKA_JMX_OPTS|KAFKA_GC_LOG_OPTS|KAFKA_DEBUG) continue ;;
    KAFKA_*)
      property="$(printf '%s' "${name#KAFKA_}" | tr '[:upper:]' '[:lower:]' | sed -e 's/___/-/g' -e 's/__/@/g' -e 's/_/./g' -e 's/@/_/g')"
      printf '%s=%s\n' "$property" "$value" >> "$CONFIG"
      ;;
  esac
done < <(env)

# The broker authenticates to itself (inter-broker listener) as the super user "admin".
printf 'listener.name.internal.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="%s";\n' \
  "$ADMIN_PASSWORD" >> "$CONFIG"

# The client configuration of the admin, for the health check and setup.sh.
cat > "$CONFIG_DIR/admin.properties" <<PROPS
security.protocol=SASL_PLAINTEXT
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$ADMIN_PASSWORD";
PROPS

if [ ! -f "${KAFKA_LOG_DIRS}/meta.properties" ]; then
  /opt/kafka/bin/kafka-storage.sh format --cluster-id "$CLUSTER_ID" --config "$CONFIG" \
    --add-scram "SCRAM-SHA-512=[name=admin,password=$ADMIN_PASSWORD]"
fi
exec /opt/kafka/bin/kafka-server-start.sh "$CONFIG"
