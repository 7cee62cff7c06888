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
// between collections grows with the heap (the share per request stays
// constant); a memory growth since the last collection (TLSF found no free
// block) triggers one at the next safe point, which bounds memory to a
// small multiple of what is live.

// A proxied request leaves two short strings ($host, $uri) as garbage; vars,
// query args, cookies and chash keys add a few hundred bytes more.
// REQUEST_BYTES is a deliberately high estimate of that, so that the garbage
// between collections stays below about a quarter of the heap; a request
// that allocates more grows memory, which collects at the next safe point.
// Even with no garbage at all a collection marks the whole configuration,
// so collecting less often is what keeps a large configuration's requests
// as cheap as a small one's.
const REQUEST_BYTES: i32 = 1024;
const MIN_BUDGET: i32 = 4096;

let since: i32 = 0;
let budget: i32 = MIN_BUDGET;
let pagesAtCollect: i32 = 0;

// End of a stream (proxy_on_delete): the stream's own objects are garbage.
export function streamDone(): void {
  since++;
  if (since >= budget || memory.size() > pagesAtCollect) collectNow();
}

// A full collection; only where no managed object lives only on the stack.
export function collectNow(): void {
  __collect();
  since = 0;
  pagesAtCollect = memory.size();
  const heapBytes = <i64>pagesAtCollect << 16;
  const b = heapBytes / (<i64>REQUEST_BYTES * 4);
  budget = b > <i64>MIN_BUDGET ? <i32>min<i64>(b, 1 << 20) : MIN_BUDGET;
}
