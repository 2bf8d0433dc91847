#pragma once
// The HTTP webhook sink: batches of records POSTed as JSON to a URL.
//
//   'connector' = 'webhook', 'url' = 'http://host:port/path'
//   'batch.size'        records per request (default 500)
//   'max.in.flight'     requests at once, each on its own kept-alive connection (default 4)
//   'request.timeout.ms' (default 10000), 'retries' per request on 5xx, 408, 429, timeouts and
//                       broken connections (default 3; backoff 100 ms doubling)
//   'secret'            when set, `X-Sluice-Signature: sha256=<hex HMAC-SHA256 of the body>`
//   'headers'           extra request headers, 'Name: value' separated by '\n'
//
// A request's body is a JSON array of {"topic","partition","offset","timestamp","key","value"}
// with the value as JSON when it is JSON (else a string), null for a delete. Any other 4xx
// fails the batch at once (the runtime then retries it, and with errors.tolerance = all sends
// what keeps failing to the dead-letter topic).

#include "connect/connector.h"

namespace sluice::connect {
kind webhook_sink_kind();
}
