// Every balancer type APISIX ships, registered by name. Importing this module
// is enough to make them available to pick_server.
import { registerBalancer } from "./index";
import { RoundRobinFactory } from "./roundrobin";

registerBalancer("roundrobin", new RoundRobinFactory());
