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
  state: Fn;
  read_status: Fn;
  free_status: Fn;
  state_string: Fn;
  error_release: Fn;
  init_logging: Fn;
  open_memstream: Fn;
  fclose: Fn;
  strerror: Fn;
  setvbuf: Fn;
  pthread_sigmask: Fn;
  waitpid: Fn;
  fcntl: Fn;
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
    throw new Error(`cannot load libc.so.6 (needed for libcrun state output): ${(e as Error).message}`);
  }

  const T = types();
  const ctxPtr = koffi.pointer(T.ctx);
  const statusPtr = koffi.pointer(T.status);
  const errOut = koffi.out(koffi.pointer('void *')); // libcrun_error_t *err (struct libcrun_error_s **)
  const errInOut = koffi.inout(koffi.pointer('void *'));

  let fns: Fns;
  try {
    const f = (l: KLib, name: string, ret: KSpec, args: KSpec[]): Fn => {
      try {
        return l.func(name, ret, args) as unknown as Fn;
      } catch (e) {
        throw new Error(`${l === lib ? `libcrun at ${abs}` : 'libc'} lacks symbol ${name}: ${(e as Error).message}`);
      }
    };
    fns = {
      load_from_file: f(lib, 'libcrun_container_load_from_file', 'void *', ['const char *', errOut]),
      container_free: f(lib, 'libcrun_container_free', 'void', ['void *']),
      create: f(lib, 'libcrun_container_create', 'int', [ctxPtr, 'void *', 'unsigned int', errOut]),
      start: f(lib, 'libcrun_container_start', 'int', [ctxPtr, 'const char *', errOut]),
      kill: f(lib, 'libcrun_container_kill', 'int', [ctxPtr, 'const char *', 'const char *', errOut]),
      killall: f(lib, 'libcrun_container_killall', 'int', [ctxPtr, 'const char *', 'const char *', errOut]),
      delete: f(lib, 'libcrun_container_delete', 'int', [ctxPtr, 'void *', 'const char *', 'bool', errOut]),
      state: f(lib, 'libcrun_container_state', 'int', [ctxPtr, 'const char *', 'void *', errOut]),
      read_status: f(lib, 'libcrun_read_container_status', 'int', [statusPtr, 'const char *', 'const char *', errOut]),
      free_status: f(lib, 'libcrun_free_container_status', 'void', [statusPtr]),
      state_string: f(lib, 'libcrun_get_container_state_string', 'int', [
        'const char *', statusPtr, 'const char *', koffi.out(koffi.pointer('const char *')), koffi.out(koffi.pointer('int')), errOut,
      ]),
      error_release: f(lib, 'libcrun_error_release', 'int', [errInOut]),
      init_logging: f(lib, 'libcrun_init_logging', 'int', [
        koffi.out(koffi.pointer('void *')), koffi.out(koffi.pointer('void *')), 'const char *', 'const char *', errOut,
      ]),
      open_memstream: f(libc, 'open_memstream', 'void *', ['void *', 'void *']),
      fclose: f(libc, 'fclose', 'int', ['void *']),
      strerror: f(libc, 'strerror', 'const char *', ['int']),
      setvbuf: f(libc, 'setvbuf', 'int', ['void *', 'void *', 'int', 'size_t']),
      pthread_sigmask: f(libc, 'pthread_sigmask', 'int', ['int', 'void *', 'void *']),
      waitpid: f(libc, 'waitpid', 'int', ['int', 'void *', 'int']),
      fcntl: f(libc, 'fcntl', 'int', ['int', 'int', '...']),
    };
  } catch (e) {
    lib.unload();
    throw e;
  }

  /** Read and release a libcrun error; returns the JS error to throw. */
  const takeError = (op: string, errBox: unknown[], ret: number, fallback?: string): LibcrunError => {
    const p = errBox[0];
    if (p) {
      const e = koffi.decode(p, T.error) as { status: number; msg: string | null };
      fns.error_release([p]);
      const detail = e.status > 0 ? (fns.strerror(e.status) as string) : undefined;
      return new LibcrunError(op, e.status, e.msg ?? '(no message)', detail);
    }
    return new LibcrunError(op, 0, fallback ?? `failed with return value ${ret} and no error details`);
  };

  /** Output handler + arg, exactly as crun's init_libcrun_context() gets them (log = NULL => stderr). */
  const initLogging = (id: string, log: string | null): { handler: unknown; arg: unknown } => {
    const h: unknown[] = [null];
    const a: unknown[] = [null];
    const errBox: unknown[] = [null];
    const ret = fns.init_logging(h, a, id, log, errBox) as number;
    if (ret < 0) throw takeError('libcrun_init_logging', errBox, ret);
    return { handler: h[0], arg: a[0] };
  };

  const makeContext = (o: ContextOpts, log: { handler: unknown; arg: unknown }, bundle: string | null) => {
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
  };

  /** Run a plain `int f(ctx, ..., err)` call. */
  const call = (op: string, o: ContextOpts, invoke: (ctx: object, errBox: unknown[]) => number): void => {
    const ctx = makeContext(o, initLogging(o.id, null), null);
    const errBox: unknown[] = [null];
    const ret = invoke(ctx, errBox);
    if (ret < 0) throw takeError(op, errBox, ret);
  };

  let loaded = true;
  const live = () => {
    if (!loaded) throw new Error('libcrun: library was unloaded');
  };

  const api: Libcrun = {
    path: abs,
    version,

    create(o: CreateOpts): void {
      live();
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
      const prefork = o.prefork === true;

      // PREFORK: libcrun forks this process; the child reports errors only through libcrun's global output
      // handler, never through `err`. Point that handler at a private, unbuffered log file for the call so
      // the message can go into the LibcrunError (libcrun also copies every message to stderr then, like
      // `crun --log=file:...`). Unbuffered, because the child dies in exit() before stdio is flushed.
      const logDir = prefork ? fs.mkdtempSync(path.join(os.tmpdir(), 'nexcage-libcrun-')) : null;
      const logFile = logDir ? path.join(logDir, 'create.log') : null;
      let logging: { handler: unknown; arg: unknown } | undefined;
      const errBox: unknown[] = [null];
      let container: unknown = null;
      let failure: LibcrunError | undefined;
      const cwd = process.cwd();
      // In-process create blocks every signal on the calling thread (block_signals() in container.c) and
      // never unblocks it in the caller; save the mask and restore it afterwards.
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
      const savedMask = Buffer.alloc(SIGSET_BYTES);
      if ((fns.pthread_sigmask(SIG_SETMASK, null, savedMask) as number) !== 0) {
        throw new Error('libcrun create: pthread_sigmask failed');
      }
      try {
        logging = initLogging(o.id, logFile ? `file:${logFile}` : null);
        if (prefork && logging.arg) fns.setvbuf(logging.arg, null, IONBF, 0);
        const ctx = makeContext({ ...o, preserveFds }, logging, bundle);
        ctx.listen_fds = listenFds;
        ctx.detach = true;
        process.chdir(bundle);
        try {
          container = fns.load_from_file(configPath, errBox);
          if (!container) {
            failure = takeError('libcrun_container_load_from_file', errBox, -1, `error loading ${configPath}`);
          } else {
            const ret = fns.create(ctx, container, prefork ? LIBCRUN_RUN_OPTIONS_PREFORK : 0, errBox) as number;
            if (ret !== 0) {
              // < 0: failed in this process, err is set. > 0 (PREFORK only): the forked child failed, err unset.
              let lastLine: string | undefined;
              if (logFile) {
                try {
                  lastLine = fs.readFileSync(logFile, 'utf8').split('\n').filter(Boolean).pop();
                } catch {
                  /* no log */
                }
              }
              failure = takeError('libcrun_container_create', errBox, ret, lastLine ?? `container creation failed (return value ${ret})`);
            }
          }
        } finally {
          process.chdir(cwd);
          if (container) fns.container_free(container);
        }
      } finally {
        fns.pthread_sigmask(SIG_SETMASK, savedMask, null);
        for (const fd of cloexecCleared) fns.fcntl(fd, F_SETFD, 'int', FD_CLOEXEC);
        if (logFile) {
          // Back to crun's default (stderr) logging, then close the FILE* libcrun_init_logging opened.
          try {
            initLogging(o.id, null);
          } finally {
            if (logging?.arg) fns.fclose(logging.arg);
            if (logDir) fs.rmSync(logDir, { recursive: true, force: true });
          }
        }
      }
      if (failure) throw failure;
    },

    start(o: ContextOpts): void {
      live();
      call('libcrun_container_start', o, (ctx, e) => fns.start(ctx, o.id, e) as number);
    },

    kill(o: ContextOpts, signal: string): void {
      live();
      checkSignal('libcrun_container_kill', signal);
      call('libcrun_container_kill', o, (ctx, e) => fns.kill(ctx, o.id, signal, e) as number);
    },

    killAll(o: ContextOpts, signal: string): void {
      live();
      checkSignal('libcrun_container_killall', signal);
      call('libcrun_container_killall', o, (ctx, e) => fns.killall(ctx, o.id, signal, e) as number);
    },

    delete(o: ContextOpts & { force: boolean }): void {
      live();
      // An in-process create() leaves the container init as a child of this process: once it has died it
      // stays a zombie until reaped. Remember its pid to reap it after the delete (WNOHANG; ECHILD if it is
      // not our child, e.g. created by the crun CLI or with prefork).
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
      call('libcrun_container_delete', o, (ctx, e) => fns.delete(ctx, null, o.id, !!o.force, e) as number);
      if (initPid > 0) fns.waitpid(initPid, null, WNOHANG);
    },

    state(o: ContextOpts): string {
      live();
      // FILE *f = open_memstream(&buf, &len); libcrun_container_state(ctx, id, f, err); fclose(f)
      const bufBox = koffi.alloc('void *', 1);
      const lenBox = koffi.alloc('size_t', 1);
      koffi.encode(bufBox, 'void *', null);
      let out = '';
      try {
        const file = fns.open_memstream(bufBox, lenBox);
        if (!file) throw new Error(`open_memstream failed: errno ${koffi.errno()}`);
        let failure: LibcrunError | undefined;
        try {
          const ctx = makeContext(o, initLogging(o.id, null), null);
          const errBox: unknown[] = [null];
          const ret = fns.state(ctx, o.id, file, errBox) as number;
          if (ret < 0) failure = takeError('libcrun_container_state', errBox, ret);
        } finally {
          fns.fclose(file); // flushes and updates buf/len
        }
        const buf = koffi.decode(bufBox, 'void *');
        if (buf) {
          const len = Number(koffi.decode(lenBox, 'size_t'));
          out = len > 0 ? (koffi.decode(buf, 'char', len) as string) : '';
          koffi.free(buf); // malloc'ed by open_memstream
        }
        if (failure) throw failure;
      } finally {
        koffi.free(bufBox);
        koffi.free(lenBox);
      }
      return out;
    },

    status(o: ContextOpts): ContainerStatus {
      live();
      if (!o.stateRoot || !o.id) throw new Error('libcrun status: stateRoot and id are required');
      const mem = koffi.alloc(T.status, 1);
      // Zero it: libcrun_read_container_status leaves absent fields (scope, owner, ...) untouched.
      koffi.encode(mem, T.status, ZERO_STATUS);
      let read = false;
      try {
        const errBox: unknown[] = [null];
        let ret = fns.read_status(mem, o.stateRoot, o.id, errBox) as number;
        if (ret < 0) throw takeError('libcrun_read_container_status', errBox, ret);
        read = true;
        const statusName: unknown[] = [null];
        const running: unknown[] = [0];
        ret = fns.state_string(o.id, mem, o.stateRoot, statusName, running, errBox) as number;
        if (ret < 0) throw takeError('libcrun_get_container_state_string', errBox, ret);
        const s = koffi.decode(mem, T.status) as Record<string, unknown>;
        const str = (p: unknown): string | null => (p ? (koffi.decode(p, 'char', -1) as string) : null);
        const isRunning = (running[0] as number) !== 0;
        return {
          id: o.id,
          pid: isRunning ? (s.pid as number) : 0,
          recordedPid: s.pid as number,
          status: statusName[0] as ContainerStatusName,
          running: isRunning,
          bundle: str(s.bundle),
          rootfs: str(s.rootfs),
          created: str(s.created),
          cgroupPath: str(s.cgroup_path),
          systemdScope: str(s.scope),
          systemdCgroup: (s.systemd_cgroup as number) !== 0,
          detached: (s.detached as number) !== 0,
          owner: str(s.owner),
        };
      } finally {
        if (read) fns.free_status(mem); // frees the strings inside, not the struct
        koffi.free(mem);
      }
    },

    unload(): void {
      if (!loaded) return;
      loaded = false;
      lib.unload();
      libc.unload();
    },
  };
  return api;
}
