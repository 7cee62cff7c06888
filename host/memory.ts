// Bounds-checked access to the guest's linear memory. Every guest pointer the
// host dereferences goes through here, so a bad pointer becomes
// InvalidMemoryAccess (cpp-host WasmVm::getMemory / setWord return nullopt/false)
// instead of a host exception.

export class GuestMemory {
  private buf: ArrayBuffer;
  private u8: Uint8Array;
  private dv: DataView;

  constructor(private readonly memory: WebAssembly.Memory) {
    this.buf = memory.buffer;
    this.u8 = new Uint8Array(this.buf);
    this.dv = new DataView(this.buf);
  }

  /** memory.grow() detaches the old ArrayBuffer; re-wrap when that happened. */
  private sync(): void {
    const b = this.memory.buffer;
    if (b !== this.buf) {
      this.buf = b;
      this.u8 = new Uint8Array(b);
      this.dv = new DataView(b);
    }
  }

  get byteLength(): number {
    return this.memory.buffer.byteLength;
  }

  private ok(ptr: number, len: number): boolean {
    return ptr >= 0 && len >= 0 && ptr + len <= this.buf.byteLength;
  }

  /** A copy of [ptr, ptr+len), or null if out of bounds. Pointers arrive as i32, so
   *  callers pass them through `>>> 0` first. A zero-length read is always valid. */
  read(ptr: number, len: number): Uint8Array | null {
    this.sync();
    if (len === 0) return new Uint8Array(0);
    if (!this.ok(ptr, len)) return null;
    return this.u8.slice(ptr, ptr + len);
  }

  write(ptr: number, bytes: Uint8Array): boolean {
    this.sync();
    if (!this.ok(ptr, bytes.length)) return false;
    this.u8.set(bytes, ptr);
    return true;
  }

  writeU32(ptr: number, v: number): boolean {
    this.sync();
    if (!this.ok(ptr, 4)) return false;
    this.dv.setUint32(ptr, v >>> 0, true);
    return true;
  }

  readU32(ptr: number): number | null {
    this.sync();
    if (!this.ok(ptr, 4)) return null;
    return this.dv.getUint32(ptr, true);
  }

  writeU64(ptr: number, v: bigint): boolean {
    this.sync();
    if (!this.ok(ptr, 8)) return false;
    this.dv.setBigUint64(ptr, BigInt.asUintN(64, v), true);
    return true;
  }
}
