/**
 * koffi bindings to libcrun 1.8.1 (the shared library built by packaging/libcrun/build.sh).
 *
 * - Synchronous: every call blocks the event loop for the duration of the libcrun call.
 * - The struct layouts below are those of crun 1.8.1 (src/libcrun/container.h, status.h, error.h). They are
 *   NOT stable across libcrun versions: loadLibcrun() refuses a library whose VERSION is not 1.8.1 unless told
 *   otherwise.
 * - The library must be built without the `libcrun_rexec` constructor (see packaging/libcrun/README.md),
 *   otherwise loading it re-executes the host process.
 * - create() changes the process cwd for the duration of the call (as crun's CLI does), so it must run on the
 *   main thread (process.chdir is not available in worker threads).
 * - create() runs in this process (options = 0, as `crun create` does), never with
 *   LIBCRUN_RUN_OPTIONS_PREFORK: measured on node 20, the PREFORK fork of node crashes (SIGSEGV in libuv's
 *   atexit destructor) when libcrun calls exit() in it.
 * - Errors: libcrun functions return < 0 and set a libcrun_error_t; the bindings turn that into a LibcrunError
 *   and release it with libcrun_error_release().
 *
 * No side effects at import time: koffi.load() and all type declarations happen inside loadLibcrun().
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { firstExisting, KOFFI_NODE, nativeDirs, SINGLE_BINARY } from '../../install/layout.js';

type Koffi = typeof import('koffi');
/** koffi is required only when a library is loaded: importing it statically would load it on every call. */
let koffi: Koffi;
function requireKoffi(): Koffi {
  koffi ??= SINGLE_BINARY ? loadKoffiNative() : (createRequire(import.meta.url)('koffi') as Koffi);
  return koffi;
}

/**
 * In the single binary there is no node_modules: koffi's Node-API module is shipped as a file
 * (/usr/lib/nexcage/koffi.node, or beside the binary in dist/) and opened directly. koffi's own
 * index only picks that file and adds deprecated aliases, which nexcage does not use.
 */
function loadKoffiNative(): Koffi {
  const file = firstExisting(nativeDirs(true, process.execPath, undefined), KOFFI_NODE, fs.existsSync);
  if (file === undefined) {
    throw new Error(`cannot find koffi's native module ${KOFFI_NODE} in ${nativeDirs(true, process.execPath, undefined).join(' or ')}`);
  }
  const mod = { exports: {} as Record<string, unknown> };
  process.dlopen(mod, file);
  if (typeof mod.exports['load'] !== 'function') throw new Error(`${file} is not koffi's native module`);
  return mod.exports as unknown as Koffi;
}

/** The only libcrun version whose ABI these bindings describe. */
export const LIBCRUN_SUPPORTED_VERSION = '1.8.1';

// glibc x86_64/aarch64 constants.
const SIG_SETMASK = 2;
const SIGSET_BYTES = 128; // sizeof (sigset_t)
const WNOHANG = 1;
const F_GETFD = 1;
const F_SETFD = 2;
const FD_CLOEXEC = 1;

const ZERO_STATUS = {
  pid: 0, process_start_time: 0, bundle: null, rootfs: null, cgroup_path: null, scope: null,
  systemd_cgroup: 0, created: null, detached: 0, external_descriptors: null, owner: null,
};

export interface ContextOpts {
  /** crun's --root (state directory), e.g. /run/crun. */
  stateRoot: string;
  id: string;
  pidFile?: string;
  consoleSocket?: string;
  systemdCgroup?: boolean;
  noPivot?: boolean;
  noNewKeyring?: boolean;
  preserveFds?: number;
  noSubreaper?: boolean;
}

export interface CreateOpts extends ContextOpts {
  bundle: string;
  /** Defaults to `<bundle>/config.json`. A relative path is resolved against the caller's cwd. */
  configPath?: string;
}

export interface Libcrun {
  /** Absolute path of the loaded library. */
  readonly path: string;
  /** Version from the VERSION file beside the library (e.g. "1.8.1"). */
  readonly version: string;
  create(opts: CreateOpts): void;
  start(opts: ContextOpts): void;
  kill(opts: ContextOpts, signal: string): void;
  killAll(opts: ContextOpts, signal: string): void;
  delete(opts: ContextOpts & { force: boolean }): void;
}

export interface LoadOptions {
  /** Refuse a library whose version differs. Default LIBCRUN_SUPPORTED_VERSION; null disables the check. */
  expectedVersion?: string | null;
}

/** A libcrun call failed. `status` is libcrun's errno-style status (0 when libcrun gave none). */
export class LibcrunError extends Error {
  readonly status: number;
  /** errno name for status (e.g. "ENOENT"), if any. */
  readonly code: string | undefined;
  /** The message as libcrun produced it, without strerror. */
  readonly libcrunMessage: string;
  /** The libcrun function that failed. */
  readonly op: string;

  constructor(op: string, status: number, libcrunMessage: string, detail?: string) {
    const code = status > 0 ? errnoName(status) : undefined;
    const errText = status > 0 ? `: ${detail ?? code ?? `errno ${status}`}` : '';
    super(`${op}: ${libcrunMessage}${errText}`);
    this.name = 'LibcrunError';
    this.status = status;
    this.code = code;
    this.libcrunMessage = libcrunMessage;
    this.op = op;
  }
}

// Signal names str2sig() knows in crun 1.8.1 (src/libcrun/signals.perf), without the SIG prefix.
const CRUN_SIGNALS = new Set([
  'HUP', 'INT', 'QUIT', 'ILL', 'TRAP', 'ABRT', 'BUS', 'FPE', 'KILL', 'USR1', 'SEGV', 'USR2', 'PIPE', 'ALRM', 'TERM',
  'STKFLT', 'CHLD', 'CONT', 'STOP', 'TSTP', 'TTIN', 'TTOU', 'URG', 'XCPU', 'XFSZ', 'VTALRM', 'PROF', 'WINCH', 'IO',
  'PWR', 'SYS', 'RTMIN', 'RTMAX',
  ...Array.from({ length: 15 }, (_, i) => `RTMIN+${i + 1}`),
  ...Array.from({ length: 14 }, (_, i) => `RTMAX-${i + 1}`),
]);

/**
 * crun 1.8.1's str2sig() falls back to strtol() for unknown names, so "SIGBOGUS" or "kill" become signal 0 and
 * libcrun_container_kill() "succeeds" without sending anything. Reject what str2sig would not really resolve.
 */
function checkSignal(op: string, signal: string): void {
  const name = signal.startsWith('SIG') ? signal.slice(3) : signal;
  if (CRUN_SIGNALS.has(name)) return;
  if (/^\d+$/.test(name) && Number(name) <= 64) return;
  throw new LibcrunError(op, 0, `unknown signal ${signal}`);
}

function errnoName(n: number): string | undefined {
  for (const [name, value] of Object.entries(os.constants.errno)) if (value === n) return name;
  return undefined;
}

/**
 * Version of the libcrun at `libPath`, from the VERSION file build.sh writes beside it, else from the
 * file name (libcrun.so.X.Y.Z). Throws if neither gives a version.
 */
export function libcrunVersion(libPath: string): string {
  const versionFile = path.join(path.dirname(libPath), 'VERSION');
  try {
    const v = fs.readFileSync(versionFile, 'utf8').trim();
    if (/^\d+(\.\d+)+$/.test(v)) return v;
  } catch {
    /* fall through to the file name */
  }
  const m = /^libcrun\.so\.(\d+\.\d+\.\d+)$/.exec(path.basename(libPath));
  if (m?.[1]) return m[1];
  throw new Error(`cannot determine the libcrun version of ${libPath}: no valid ${versionFile} and the file name is not libcrun.so.X.Y.Z`);
}

// koffi type objects are created once per process and kept anonymous (no global type names), so loading
// several libraries (or loading twice) never collides.
type Fn = (...args: unknown[]) => unknown;
// Derived from koffi's own signatures, so this compiles against koffi 2.x and 3.x typings alike.
type KType = ReturnType<typeof koffi.struct>;
type KLib = ReturnType<typeof koffi.load>;
type KSpec = Parameters<typeof koffi.out>[0];
interface Types {
  ctx: KType;
  status: KType;
  error: KType;
}
let typesCache: Types | undefined;

function types(): Types {
  if (typesCache) return typesCache;
  // struct libcrun_context_s, crun 1.8.1 src/libcrun/container.h, in declaration order.
  const ctx = koffi.struct({
    state_root: 'const char *',
    id: 'const char *',
    bundle: 'const char *',
    console_socket: 'const char *',
    pid_file: 'const char *',
    notify_socket: 'const char *',
    handler: 'const char *',
    preserve_fds: 'int',
    listen_fds: 'int',
    output_handler: 'void *', // crun_output_handler; must not be NULL (container.c calls it unconditionally)
    output_handler_arg: 'void *',
    fifo_exec_wait_fd: 'int',
    systemd_cgroup: 'bool',
    detach: 'bool',
    no_subreaper: 'bool',
    no_new_keyring: 'bool',
    force_no_cgroup: 'bool',
    no_pivot: 'bool',
    argv: 'void *', // char **
    argc: 'int',
    handler_manager: 'void *', // struct custom_handler_manager_s *
  });
  // struct libcrun_container_status_s, crun 1.8.1 src/libcrun/status.h.
  const status = koffi.struct({
    pid: 'int', // pid_t
    process_start_time: 'unsigned long long',
    bundle: 'void *',
    rootfs: 'void *',
    cgroup_path: 'void *',
    scope: 'void *',
    systemd_cgroup: 'int',
    created: 'void *',
    detached: 'int',
    external_descriptors: 'void *',
    owner: 'void *',
  });
  // struct libcrun_error_s, crun 1.8.1 src/libcrun/error.h.
  const error = koffi.struct({ status: 'int', msg: 'const char *' });
  typesCache = { ctx, status, error };
  return typesCache;
}

interface Fns {
  load_from_file: Fn;
  container_free: Fn;
  create: Fn;
  start: Fn;
  kill: Fn;
  killall: Fn;
  delete: Fn;
  read_status: Fn;
  free_status: Fn;
  error_release: Fn;
  init_logging: Fn;
  strerror: Fn;
  pthread_sigmask: Fn;
  waitpid: Fn;
  fcntl: Fn;
}

/** The loaded library: its functions and the struct types they take. */
interface Bound {
  readonly fns: Fns;
  readonly T: Types;
}

// ---- bindings ---------------------------------------------------------------------------------

/** dlopen libcrun and libc and bind the functions nexcage calls; throws naming a missing symbol. */
function bind(abs: string): Bound {
  requireKoffi();
  let lib: KLib;
  let libc: KLib;
  try {
    lib = koffi.load(abs);
  } catch (e) {
    throw new Error(`cannot load libcrun from ${abs}: ${(e as Error).message}`);
  }
  try {
    libc = koffi.load('libc.so.6');
  } catch (e) {
    lib.unload();
    throw new Error(`cannot load libc.so.6 (strerror, signal masks and waitpid for libcrun calls): ${(e as Error).message}`);
  }

  const T = types();
  const ctxPtr = koffi.pointer(T.ctx);
  const statusPtr = koffi.pointer(T.status);
  const errOut = koffi.out(koffi.pointer('void *')); // libcrun_error_t *err (struct libcrun_error_s **)
  const errInOut = koffi.inout(koffi.pointer('void *'));
  const f = (l: KLib, name: string, ret: KSpec, args: KSpec[]): Fn => {
    try {
      return l.func(name, ret, args) as unknown as Fn;
    } catch (e) {
      throw new Error(`${l === lib ? `libcrun at ${abs}` : 'libc'} lacks symbol ${name}: ${(e as Error).message}`);
    }
  };
  try {
    const fns: Fns = {
      load_from_file: f(lib, 'libcrun_container_load_from_file', 'void *', ['const char *', errOut]),
      container_free: f(lib, 'libcrun_container_free', 'void', ['void *']),
      create: f(lib, 'libcrun_container_create', 'int', [ctxPtr, 'void *', 'unsigned int', errOut]),
      start: f(lib, 'libcrun_container_start', 'int', [ctxPtr, 'const char *', errOut]),
      kill: f(lib, 'libcrun_container_kill', 'int', [ctxPtr, 'const char *', 'const char *', errOut]),
      killall: f(lib, 'libcrun_container_killall', 'int', [ctxPtr, 'const char *', 'const char *', errOut]),
      delete: f(lib, 'libcrun_container_delete', 'int', [ctxPtr, 'void *', 'const char *', 'bool', errOut]),
      read_status: f(lib, 'libcrun_read_container_status', 'int', [statusPtr, 'const char *', 'const char *', errOut]),
      free_status: f(lib, 'libcrun_free_container_status', 'void', [statusPtr]),
      error_release: f(lib, 'libcrun_error_release', 'int', [errInOut]),
      init_logging: f(lib, 'libcrun_init_logging', 'int', [
        koffi.out(koffi.pointer('void *')), koffi.out(koffi.pointer('void *')), 'const char *', 'const char *', errOut,
      ]),
      strerror: f(libc, 'strerror', 'const char *', ['int']),
      pthread_sigmask: f(libc, 'pthread_sigmask', 'int', ['int', 'void *', 'void *']),
      waitpid: f(libc, 'waitpid', 'int', ['int', 'void *', 'int']),
      fcntl: f(libc, 'fcntl', 'int', ['int', 'int', '...']),
    };
    return { fns, T };
  } catch (e) {
    lib.unload();
    throw e;
  }
}

/** Read and release a libcrun error; returns the JS error to throw. */
function takeError(b: Bound, op: string, errBox: unknown[], ret: number, fallback?: string): LibcrunError {
  const p = errBox[0];
  if (p) {
    const e = koffi.decode(p, b.T.error) as { status: number; msg: string | null };
    b.fns.error_release([p]);
    const detail = e.status > 0 ? (b.fns.strerror(e.status) as string) : undefined;
    return new LibcrunError(op, e.status, e.msg ?? '(no message)', detail);
  }
  return new LibcrunError(op, 0, fallback ?? `failed with return value ${ret} and no error details`);
}

// ---- the context ------------------------------------------------------------------------------

interface Logging {
  readonly handler: unknown;
  readonly arg: unknown;
}

/** Output handler + arg, exactly as crun's init_libcrun_context() gets them (log = NULL => stderr). */
function initLogging(b: Bound, id: string): Logging {
  const h: unknown[] = [null];
  const a: unknown[] = [null];
  const errBox: unknown[] = [null];
  const ret = b.fns.init_logging(h, a, id, null, errBox) as number;
  if (ret < 0) throw takeError(b, 'libcrun_init_logging', errBox, ret);
  return { handler: h[0], arg: a[0] };
}

/** Pure: struct libcrun_context_s as crun's CLI fills it for these options. */
function makeContext(o: ContextOpts, log: Logging, bundle: string | null) {
  if (!o.stateRoot) throw new Error('libcrun: stateRoot is required');
  if (!o.id) throw new Error('libcrun: id is required');
  return {
    state_root: o.stateRoot,
    id: o.id,
    bundle: bundle ?? '.', // crun: "if (con->bundle == NULL) con->bundle = ".";"
    console_socket: o.consoleSocket ? path.resolve(o.consoleSocket) : null,
    pid_file: o.pidFile ? path.resolve(o.pidFile) : null,
    notify_socket: process.env.NOTIFY_SOCKET ?? null,
    handler: null,
    preserve_fds: o.preserveFds ?? 0,
    listen_fds: 0,
    output_handler: log.handler,
    output_handler_arg: log.arg,
    fifo_exec_wait_fd: -1,
    systemd_cgroup: !!o.systemdCgroup,
    detach: false,
    no_subreaper: !!o.noSubreaper,
    no_new_keyring: !!o.noNewKeyring,
    force_no_cgroup: false,
    no_pivot: !!o.noPivot,
    argv: null,
    argc: 0,
    handler_manager: null,
  };
}

// ---- the operations ---------------------------------------------------------------------------

/** A plain `int f(ctx, ..., err)` call. */
function call(b: Bound, op: string, o: ContextOpts, invoke: (ctx: object, errBox: unknown[]) => number): void {
  const ctx = makeContext(o, initLogging(b, o.id), null);
  const errBox: unknown[] = [null];
  const ret = invoke(ctx, errBox);
  if (ret < 0) throw takeError(b, op, errBox, ret);
}

/**
 * libcrun_container_create(options = 0) in this process, exactly like `crun create`. The container
 * init is a child of this process until it exits; this thread's signal mask is restored afterwards;
 * the process joins the container's new session keyring (unless noNewKeyring), as crun does.
 */
function create(b: Bound, o: CreateOpts): void {
  const { fns } = b;
  if (!o.bundle) throw new Error('libcrun create: bundle is required');
  const bundle = fs.realpathSync(o.bundle); // crun: realpath(bundle)
  const configPath = o.configPath ? path.resolve(o.configPath) : path.join(bundle, 'config.json');
  let preserveFds = o.preserveFds ?? 0;
  let listenFds = 0;
  if (process.env.LISTEN_FDS) {
    // crun create: listen_fds = $LISTEN_FDS; preserve_fds += listen_fds
    listenFds = Number.parseInt(process.env.LISTEN_FDS, 10) || 0;
    preserveFds += listenFds;
  }
  const errBox: unknown[] = [null];
  let container: unknown = null;
  let failure: LibcrunError | undefined;
  const cwd = process.cwd();
  // The init is a fork of this process and keeps our descriptors' flags: node marks its stdout and
  // stderr close-on-exec, so without this the container process would start with them closed.
  const inherited = Array.from({ length: 3 + preserveFds }, (_, i) => i);
  const cloexecCleared: number[] = [];
  for (const fd of inherited) {
    const flags = fns.fcntl(fd, F_GETFD) as number;
    if (flags >= 0 && (flags & FD_CLOEXEC) !== 0 && (fns.fcntl(fd, F_SETFD, 'int', flags & ~FD_CLOEXEC) as number) === 0) {
      cloexecCleared.push(fd);
    }
  }
  // In-process create blocks every signal on the calling thread (block_signals() in container.c) and
  // never unblocks it in the caller; save the mask and restore it afterwards.
  const savedMask = Buffer.alloc(SIGSET_BYTES);
  if ((fns.pthread_sigmask(SIG_SETMASK, null, savedMask) as number) !== 0) {
    throw new Error('libcrun create: pthread_sigmask failed');
  }
  try {
    const ctx = makeContext({ ...o, preserveFds }, initLogging(b, o.id), bundle);
    ctx.listen_fds = listenFds;
    ctx.detach = true;
    process.chdir(bundle);
    try {
      container = fns.load_from_file(configPath, errBox);
      if (!container) {
        failure = takeError(b, 'libcrun_container_load_from_file', errBox, -1, `error loading ${configPath}`);
      } else {
        const ret = fns.create(ctx, container, 0, errBox) as number;
        if (ret !== 0) failure = takeError(b, 'libcrun_container_create', errBox, ret, `container creation failed (return value ${ret})`);
      }
    } finally {
      process.chdir(cwd);
      if (container) fns.container_free(container);
    }
  } finally {
    fns.pthread_sigmask(SIG_SETMASK, savedMask, null);
    for (const fd of cloexecCleared) fns.fcntl(fd, F_SETFD, 'int', FD_CLOEXEC);
  }
  if (failure) throw failure;
}

/**
 * libcrun_container_delete. An in-process create() leaves the container init as a child of this
 * process: once it has died it stays a zombie until reaped. Its pid is read first to reap it after
 * the delete (WNOHANG; ECHILD if it is not our child, e.g. created by the crun CLI).
 */
function deleteContainer(b: Bound, o: ContextOpts & { force: boolean }): void {
  const { fns, T } = b;
  let initPid = 0;
  const mem = koffi.alloc(T.status, 1);
  koffi.encode(mem, T.status, ZERO_STATUS);
  try {
    const errBox: unknown[] = [null];
    if ((fns.read_status(mem, o.stateRoot, o.id, errBox) as number) < 0) {
      if (errBox[0]) fns.error_release(errBox);
    } else {
      initPid = (koffi.decode(mem, T.status) as { pid: number }).pid;
      fns.free_status(mem);
    }
  } finally {
    koffi.free(mem);
  }
  call(b, 'libcrun_container_delete', o, (ctx, e) => fns.delete(ctx, null, o.id, !!o.force, e) as number);
  if (initPid > 0) fns.waitpid(initPid, null, WNOHANG);
}

/**
 * Load libcrun from `libPath` and bind the functions nexcage uses. Throws an Error naming the path and the
 * problem (missing file, wrong version, dlopen failure, missing symbol).
 */
export function loadLibcrun(libPath: string, options: LoadOptions = {}): Libcrun {
  const abs = path.resolve(libPath);
  if (!fs.existsSync(abs)) throw new Error(`libcrun not found: ${abs} (build it with packaging/libcrun/build.sh)`);
  const version = libcrunVersion(abs);
  const expected = options.expectedVersion === undefined ? LIBCRUN_SUPPORTED_VERSION : options.expectedVersion;
  if (expected !== null && version !== expected) {
    throw new Error(`libcrun at ${abs} is version ${version}; these bindings describe the ABI of ${expected} only`);
  }
  const b = bind(abs);
  const { fns } = b;
  return {
    path: abs,
    version,
    create: (o) => create(b, o),
    start: (o) => call(b, 'libcrun_container_start', o, (ctx, e) => fns.start(ctx, o.id, e) as number),
    kill(o, signal) {
      checkSignal('libcrun_container_kill', signal);
      call(b, 'libcrun_container_kill', o, (ctx, e) => fns.kill(ctx, o.id, signal, e) as number);
    },
    killAll(o, signal) {
      checkSignal('libcrun_container_killall', signal);
      call(b, 'libcrun_container_killall', o, (ctx, e) => fns.killall(ctx, o.id, signal, e) as number);
    },
    delete: (o) => deleteContainer(b, o),
  };
}
