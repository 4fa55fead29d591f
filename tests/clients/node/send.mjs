// Sends one historical track event with each real Node tracking library to the server at
// JUNCTURE_URL with JUNCTURE_WRITE_KEY, as tests/e2e/test_node_clients_http.py asks: the
// caller's `timestamp` is HISTORICAL (ISO 8601); userId names the library.
import Rudder from "@rudderstack/rudder-sdk-node";
import { Analytics } from "@segment/analytics-node";

const url = process.env.JUNCTURE_URL;
const key = process.env.JUNCTURE_WRITE_KEY;
const when = new Date(process.env.HISTORICAL);
const order = (id) => ({ order_id: id, total: 42.5 });

const rudder = new Rudder(key, { dataPlaneUrl: url, flushAt: 1, retryCount: 0 });
rudder.track({ userId: "node-rudder", event: "Order Completed", properties: order("R-1"), timestamp: when });
await rudder.flush();

const segment = new Analytics({ writeKey: key, host: url, maxEventsInBatch: 1, maxRetries: 0 });
segment.track({ userId: "node-segment", event: "Order Completed", properties: order("S-1"), timestamp: when });
await segment.closeAndFlush({ timeout: 10000 });
