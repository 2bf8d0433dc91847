#pragma once
// MQTT source and sink (libmosquitto) with an external broker (MQTT 3.1.1).
//
// Source, 'connector' = 'mqtt-source':
//   'mqtt.host' (127.0.0.1), 'mqtt.port' (1883), 'mqtt.username', 'mqtt.password',
//   'mqtt.client.id' (sluice-<kafka.topic>), 'mqtt.topics' topic filters, comma-separated,
//   wildcards + and # allowed (required), 'mqtt.qos' (1), 'kafka.topic' (required)
//   Each message becomes a record of kafka.topic keyed by its MQTT topic, the payload as value,
//   with the header mqtt.qos (and mqtt.retain for a retained message). The session is
//   persistent (clean session off), so the broker keeps QoS 1 messages while sluice is down.
//   The network loop runs on libmosquitto's thread so the broker keeps sending while a round
//   is written; libmosquitto acknowledges a QoS 1 message as it arrives, before sluice has
//   written it, so a crash loses what was received and not yet written (at most 20,000
//   messages held between the network thread and the log, usually one round's worth).
//
// Sink, 'connector' = 'mqtt-sink':
//   the same connection settings, 'mqtt.topic' a template: {column} is a column of the row,
//   {key} the record key (e.g. 'devices/{device}/alerts'), 'mqtt.qos' (1), 'mqtt.retain'
//   (false). Each row is published as its JSON; with retain, a delete publishes an empty
//   retained message (which clears the topic's retained one), else deletes are skipped.
//   flush() waits until the broker acknowledged every QoS 1 message.

#include "connect/connector.h"

namespace sluice::connect {
kind mqtt_source_kind();
kind mqtt_sink_kind();
}  // namespace sluice::connect
