// The floor under every filter: the proxy-wasm exports Envoy calls for a
// stream, each doing nothing, with no SDK and the stub runtime. What a
// filter costs above this is the price of its SDK and its own work.
export function malloc(size: usize): usize { return heap.alloc(size); }
export function free(ptr: usize): void { heap.free(ptr); }
export function proxy_abi_version_0_2_1(): void {}
export function proxy_on_vm_start(_root: u32, _size: u32): u32 { return 1; }
export function proxy_on_configure(_root: u32, _size: u32): u32 { return 1; }
export function proxy_on_context_create(_id: u32, _root: u32): void {}
export function proxy_on_request_headers(_id: u32, _n: u32, _eos: u32): u32 { return 0; }
export function proxy_on_response_headers(_id: u32, _n: u32, _eos: u32): u32 { return 0; }
export function proxy_on_log(_id: u32): void {}
export function proxy_on_done(_id: u32): u32 { return 1; }
export function proxy_on_delete(_id: u32): void {}
// asconfig.json routes `abort` to the proxy-runtime's handler; this module has none.
// @ts-ignore: decorator
@global function abort_proc_exit(_m: usize, _f: usize, _l: u32, _c: u32): void { unreachable(); }
