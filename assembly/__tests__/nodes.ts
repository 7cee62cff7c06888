// Node fixtures shared by the balancer specs.
import { Node } from "../config/model";

export function node(host: string, port: i32, weight: i64, index: i32, priority: i32 = 0): Node {
  const n = new Node();
  n.host = host; n.port = port; n.weight = weight; n.index = index; n.priority = priority;
  n.address = host + ":" + port.toString();
  return n;
}
