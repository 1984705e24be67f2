#!/bin/bash
# One-shot, after the broker is up: the SCRAM credentials of every principal and their ACLs.
# Idempotent (run at every `docker compose up`): credentials are (re)set, ACLs added with --force.
#
# Principals (passwords in /run/secrets/kafka_<principal>_password, written by
# `python -m gridcommons.stack keys deploy/secrets`):
#   admin       super user: the broker itself and this script; nothing else uses it
#   device      every device / machine-client process: may only produce to ingest.* (the bearer
#               token in each message says which machine client and company it is)
#   <service>   one per entry of deploy/services.toml (its API and worker containers share it),
#               given as arguments <name>=<topic prefix> (docker-compose.yml passes every entry)
#
# The authorizer refuses everything that no ACL allows (allow.everyone.if.no.acl.found=false):
# nobody but the services reads any topic, and devices cannot read at all.
set -euo pipefail

BOOTSTRAP=kafka:9092
BIN=/opt/kafka/bin
ADMIN_CONFIG=/tmp/gridcommons-kafka-setup.properties
umask 077
cat > "$ADMIN_CONFIG" <<PROPS
security.protocol=SASL_PLAINTEXT
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$(tr -d '\n' < /run/secrets/kafka_admin_password)";
PROPS

credential() {  # credential <principal>
  local password
  password="$(tr -d '\n' < "/run/secrets/kafka_$1_password")"
  "$BIN/kafka-configs.sh" --bootstrap-server "$BOOTSTRAP" --command-config "$ADMIN_CONFIG" --alter \
    --entity-type users --entity-name "$1" --add-config "SCRAM-SHA-512=[password=$password]"
}

allow() {  # allow <principal> <kafka-acls.sh resource and operation options...>
  local principal="$1"
  shift
  "$BIN/kafka-acls.sh" --bootstrap-server "$BOOTSTRAP" --command-config "$ADMIN_CONFIG" --add --force \
    --allow-principal "User:$principal" "$@"
}

device() {  # device <principal>: produce to ingest.* and nothing else
  credential "$1"
  allow "$1" --operation Write --operation Describe --resource-pattern-type prefixed --topic ingest.
  allow "$1" --operation IdempotentWrite --cluster
}

service() {  # service <principal = registry name> <prefix of the topics it publishes>
  local name="$1" prefix="$2"
  credential "$name"
  # its own events (the outbox relay), created on first use
  allow "$name" --operation Write --operation Create --operation Describe --resource-pattern-type prefixed --topic "$prefix"
  # every domain and ingestion topic (services consume each other's events)
  allow "$name" --operation Read --operation Describe --topic '*'
  # its ingestion input topics (created up front by its consumers) and their dead letters
  allow "$name" --operation Write --operation Create --resource-pattern-type prefixed --topic ingest.
  # the gateway and community registry topics its replicas consume (created up front) and their
  # dead letters
  for topic in gateway.token.v1 gateway.membership.v1 community.community.v1 community.cluster.v1 community.unit.v1; do
    allow "$name" --operation Create --topic "$topic"
    allow "$name" --operation Write --operation Create --topic "$topic.dlq"
  done
  # its consumer groups are named <service>.<consumer>
  allow "$name" --operation Read --operation Describe --resource-pattern-type prefixed --group "$name."
  allow "$name" --operation IdempotentWrite --cluster
}

if [ "$#" -eq 0 ]; then
  echo "usage: setup.sh <service>=<topic prefix>... (one per entry of deploy/services.toml)" >&2
  exit 2
fi
device device
for entry in "$@"; do
  service "${entry%%=*}" "${entry#*=}"
done
echo "Kafka principals and ACLs are in place."
