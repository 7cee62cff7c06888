// WASI preview 1 as cpp-host exports.cc implements it: stdout/stderr go to the
// log, no files, clocks from the host clock, proc_exit does not exit.
import { randomFillSync } from "node:crypto";
import { Errno, RANDOM_GET_MAX_BYTES, type WASI_FUNCTIONS } from "../abi.ts";
import { fromUtf8, utf8 } from "../pairs.ts";
import type { HostFunction, HostInternals } from "./internals.ts";

export function wasiFunctions(h: HostInternals): Partial<Record<(typeof WASI_FUNCTIONS)[number], HostFunction>> {
  const mem = () => h.memory;
  const u = (x: number) => x >>> 0;
  const stdio = (fd: number) => fd === 1 || fd === 2;
  const writev = (fd: number, iovs: number, n: number, nwrittenPtr: number) => {
    if (!stdio(fd)) return Errno.BADF;
    const parts: Uint8Array[] = [];
    for (let i = 0; i < u(n); i++) {
      const base = u(iovs) + i * 8;
      const buf = mem().readU32(base);
      const len = mem().readU32(base + 4);
      if (buf === null || len === null) return Errno.FAULT;
      if (len === 0) continue;
      const b = mem().read(buf, len);
      if (!b) return Errno.FAULT;
      parts.push(b);
    }
    let s = fromUtf8(Buffer.concat(parts));
    const written = Buffer.concat(parts).length;
    if (written) {
      if (s.endsWith("\n")) s = s.slice(0, -1);
      h.record(fd === 1 ? 2 : 4, s, h.ctx().id); // stdout → info, stderr → error
    }
    return mem().writeU32(u(nwrittenPtr), written) ? Errno.SUCCESS : Errno.FAULT;
  };
  const envStrings = () => h.environment.map(([k, v]) => utf8(`${k}=${v}\0`));
  return {
    fd_write: writev,
    fd_pwrite: (fd: number, iovs: number, n: number, _off: bigint, nw: number) => writev(fd, iovs, n, nw),
    fd_read: () => Errno.NOSYS,
    fd_pread: () => Errno.NOSYS,
    fd_seek: () => {
      h.vmErrors.push("wasi_unstable fd_seek");
      return 0;
    },
    fd_close: () => {
      h.vmErrors.push("wasi_unstable fd_close");
      return 0;
    },
    fd_fdstat_get: (fd: number, statPtr: number) => {
      if (!stdio(fd)) return Errno.BADF;
      const b = new Uint8Array(24);
      b[8] = 64; // fs_rights_base = FD_WRITE
      mem().write(u(statPtr), b);
      return Errno.SUCCESS;
    },
    fd_fdstat_set_flags: () => Errno.NOSYS,
    fd_prestat_get: () => Errno.BADF,
    fd_prestat_dir_name: () => Errno.NOSYS,
    fd_filestat_get: () => Errno.BADF,
    fd_advise: () => Errno.SUCCESS,
    fd_allocate: (fd: number) => (stdio(fd) ? Errno.SUCCESS : Errno.BADF),
    fd_datasync: (fd: number) => (stdio(fd) ? Errno.SUCCESS : Errno.BADF),
    fd_fdstat_set_rights: (fd: number) => (stdio(fd) ? Errno.SUCCESS : Errno.BADF),
    fd_filestat_set_size: (fd: number) => (stdio(fd) ? Errno.SUCCESS : Errno.BADF),
    fd_filestat_set_times: (fd: number) => (stdio(fd) ? Errno.SUCCESS : Errno.BADF),
    fd_sync: (fd: number) => (stdio(fd) ? Errno.SUCCESS : Errno.BADF),
    fd_tell: (fd: number, ptr: number) => {
      if (!stdio(fd)) return Errno.BADF;
      return mem().writeU64(u(ptr), 0n) ? Errno.SUCCESS : Errno.FAULT;
    },
    fd_readdir: (_fd: number, _b: number, _l: number, _c: bigint, nreadPtr: number) => (mem().writeU32(u(nreadPtr), 0) ? Errno.NOTDIR : Errno.FAULT),
    fd_renumber: (fd: number, to: number) => (stdio(fd) && stdio(to) ? Errno.NOTSUP : Errno.BADF),
    path_open: () => Errno.NOENT,
    path_filestat_get: () => Errno.NOTSUP,
    environ_sizes_get: (countPtr: number, sizePtr: number) => {
      const s = envStrings();
      if (!mem().writeU32(u(countPtr), s.length)) return Errno.FAULT;
      return mem().writeU32(
        u(sizePtr),
        s.reduce((n, b) => n + b.length, 0),
      )
        ? Errno.SUCCESS
        : Errno.FAULT;
    },
    environ_get: (arrayPtr: number, bufPtr: number) => {
      let a = u(arrayPtr);
      let b = u(bufPtr);
      for (const s of envStrings()) {
        if (!mem().writeU32(a, b) || !mem().write(b, s)) return Errno.FAULT;
        a += 4;
        b += s.length;
      }
      return Errno.SUCCESS;
    },
    args_sizes_get: (argcPtr: number, sizePtr: number) => (mem().writeU32(u(argcPtr), 0) && mem().writeU32(u(sizePtr), 0) ? Errno.SUCCESS : Errno.FAULT),
    args_get: () => Errno.SUCCESS,
    clock_time_get: (id: number, _precision: bigint, ptr: number) => {
      const v = id === 0 ? h.clock.nowNs() : id === 1 ? h.clock.monotonicNs() : undefined;
      if (v === undefined) return Errno.NOTSUP;
      return mem().writeU64(u(ptr), v) ? Errno.SUCCESS : Errno.FAULT;
    },
    clock_res_get: (id: number, ptr: number) => {
      if (id !== 0 && id !== 1) return Errno.NOTSUP;
      return mem().writeU64(u(ptr), 1n) ? Errno.SUCCESS : Errno.FAULT;
    },
    random_get: (ptr: number, len: number) => {
      if (u(len) > RANDOM_GET_MAX_BYTES) return Errno.INVAL;
      if (u(len) === 0) return Errno.SUCCESS;
      return mem().write(u(ptr), randomFillSync(new Uint8Array(u(len)))) ? Errno.SUCCESS : Errno.FAULT;
    },
    sched_yield: () => Errno.SUCCESS,
    poll_oneoff: (_in: number, _out: number, _n: number, neventsPtr: number) => (mem().writeU32(u(neventsPtr), 0) ? Errno.SUCCESS : Errno.FAULT),
    // cpp-host: proc_exit does not exit; Envoy's Context::error logs it at trace.
    proc_exit: (code: number) => {
      h.lastExitCode = code;
      h.vmErrors.push("wasi_unstable proc_exit");
      return undefined;
    },
    path_create_directory: () => Errno.NOTSUP,
    path_filestat_set_times: () => Errno.NOTSUP,
    path_link: () => Errno.NOTSUP,
    path_readlink: () => Errno.NOTSUP,
    path_remove_directory: () => Errno.NOTSUP,
    path_rename: () => Errno.NOTSUP,
    path_symlink: () => Errno.NOTSUP,
    path_unlink_file: () => Errno.NOTSUP,
    sock_accept: () => Errno.NOTSUP,
    sock_recv: () => Errno.NOTSUP,
    sock_send: () => Errno.NOTSUP,
    sock_shutdown: () => Errno.NOTSUP,
  };
}
