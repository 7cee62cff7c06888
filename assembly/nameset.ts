// A set of names as a Map from the name to 0 (add is set(name, 0), values()
// is keys()). The filter keeps Map<string, i32> anyway (router, JSON,
// balancers), so this costs no code, where a Set<string> of its own would
// add its add, find and rehash (about 430 B; docs/size.md).
export type NameSet = Map<string, i32>;
