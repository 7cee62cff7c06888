// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), as nginx's
// ngx_crc32_short and lua-resty-chash's chash.c compute it. The running
// state is kept un-finalised so callers can extend a hash (the ring's
// point chain does).

const TABLE = new StaticArray<u32>(256);
for (let i: u32 = 0; i < 256; i++) {
  let c = i;
  for (let k = 0; k < 8; k++) c = (c & 1) ? (0xedb88320 ^ (c >>> 1)) : (c >>> 1);
  unchecked(TABLE[i] = c);
}

// Feeds `len` bytes at `ptr` into a running (un-finalised) state.
// @ts-ignore: decorator
@inline
export function crc32Update(state: u32, ptr: usize, len: usize): u32 {
  let c = state;
  for (let i: usize = 0; i < len; i++) {
    c = unchecked(TABLE[(c ^ <u32>load<u8>(ptr + i)) & 0xff]) ^ (c >>> 8);
  }
  return c;
}

// The running state after `len` bytes, starting from the initial 0xFFFFFFFF.
export function crc32Begin(ptr: usize, len: usize): u32 {
  return crc32Update(0xffffffff, ptr, len);
}

export function crc32Bytes(ptr: usize, len: usize): u32 {
  return crc32Begin(ptr, len) ^ 0xffffffff;
}

// CRC-32 of a string's UTF-8 bytes (Lua strings are byte strings; ours
// come from UTF-8 header values and config text).
export function crc32(s: string): u32 {
  const b = String.UTF8.encode(s);
  return crc32Bytes(changetype<usize>(b), <usize>b.byteLength);
}
