#!/bin/sh
# One-shot `kafka-topics` step of docker-compose.yml: creates the PMO topics if they are missing.
# Every topic is kept forever (retention.ms=-1) and not compacted, so read models can be rebuilt
# by replay from offset 0. Same list as deploy/k8s/components/strimzi-topics.
set -eu

BOOTSTRAP=${BOOTSTRAP:-kafka:9092}
PARTITIONS=${PARTITIONS:-3}
REPLICATION_FACTOR=${REPLICATION_FACTOR:-1}
TOPICS_CLI=/opt/kafka/bin/kafka-topics.sh

create_topic() {
    "$TOPICS_CLI" --bootstrap-server "$BOOTSTRAP" --create --if-not-exists \
        --topic "$1" --partitions "$2" --replication-factor "$REPLICATION_FACTOR" \
        --config retention.ms=-1 --config cleanup.policy=delete
}

for topic in \
    pmo.intake.events \
    pmo.portfolio.events \
    pmo.resourcing.events \
    pmo.intake.deadletter \
    pmo.portfolio.deadletter \
    pmo.resourcing.deadletter \
    pmo.reporting.deadletter; do
    create_topic "$topic" "$PARTITIONS"
done
# The broker epoch marker is a single ordered log.
create_topic pmo.broker.epoch 1

"$TOPICS_CLI" --bootstrap-server "$BOOTSTRAP" --list
