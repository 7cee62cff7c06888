// When garbage is collected. The filter is built with AssemblyScript's
// minimal runtime (asconfig.json): TLSF allocation and a stop-the-world
// mark & sweep that runs only when asked, here, at points where no object is
// held only by a wasm local (the end of a stream and of a configuration).
//
// Why not the incremental collector: it does marking work on every
// allocation and re-scans a large array each time an element is pushed
// while marking is under way, which made a configuration with tens of
// thousands of nodes quadratic and cost about half of every request.
//
// Policy: a collection costs about the live heap, so the number of requests
// between collections grows with the heap a configuration leaves (the share
// per request stays constant); a memory growth since the last collection
// (TLSF found no free block) triggers one at the next safe point, which
// bounds memory to a small multiple of what is live.
//
// The budget is set when a configuration is applied, from the heap it
// leaves, and request-time collections keep it: a heap grown by garbage must
// not raise the budget, or the next round's garbage would grow it again,
// round after round. When garbage outgrows the free space before the budget
// runs out (requests allocating more than REQUEST_BYTES), the budget drops
// to the number of requests that filled it, until the next configuration.

// A proxied request leaves its $host and $uri strings as garbage: 38 to 120
// bytes of payload in the bench's mixes (bench/results.json, allocations.gc),
// about 330 for a 404; vars, query args, cookies and chash keys add more.
// REQUEST_BYTES is a high estimate of the typical request (with object
// headers), so that its garbage between collections stays below about a
// quarter of the configuration's heap. Even with no garbage at all a
// collection marks the whole configuration: with 10,000 routes one costs
// about 21M instructions, which at 1024 bytes per request added ~2.9k
// instructions to every request (1.20x a 10-route config's, where a
// collection is nearly free); at 256, ~0.6k (1.08x; bench/README.md).
const REQUEST_BYTES: i32 = 256;
const MIN_BUDGET: i32 = 4096;

let since: i32 = 0;
let budget: i32 = MIN_BUDGET;
let pagesAtCollect: i32 = 0;

// End of a stream (proxy_on_delete): the stream's own objects are garbage.
export function streamDone(): void {
  since++;
  if (memory.size() > pagesAtCollect) {
    if (since < budget) budget = max(since, MIN_BUDGET);
    collect();
  } else if (since >= budget) collect();
}

// A full collection; only where no managed object lives only on the stack.
function collect(): void {
  __collect();
  since = 0;
  pagesAtCollect = memory.size();
}

// The end of a configuration (accepted or not): collect, and size the
// budget from the heap that is left.
export function collectNow(): void {
  collect();
  const b = (<i64>pagesAtCollect << 16) / (<i64>REQUEST_BYTES * 4);
  budget = b > <i64>MIN_BUDGET ? <i32>min<i64>(b, 1 << 20) : MIN_BUDGET;
}
