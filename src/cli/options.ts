import { Option } from "commander";
import { InvalidArgumentError } from "../errors.js";

/** A non-negative integer flag value (commander gives strings). */
export function nonNegativeInt(name: string): (value: string) => number {
  return (value: string) => {
    if (!/^[0-9]+$/.test(value)) throw new InvalidArgumentError(`${name} must be a non-negative integer, not ${JSON.stringify(value)}`);
    return Number(value);
  };
}

/** The create/run flags runc and crun share. */
export function createOptions(): Option[] {
  return [
    new Option("-b, --bundle <dir>", "path to the root of the bundle directory").default("."),
    new Option("--console-socket <path>", "path to an AF_UNIX socket which will receive the pty master fd"),
    new Option("--pid-file <path>", "file to write the process id to"),
    new Option("--no-pivot", "do not use pivot_root to jail the process inside the rootfs"),
    new Option("--no-new-keyring", "do not create a new session keyring for the container"),
    new Option("--preserve-fds <n>", "pass N additional file descriptors to the container").argParser(nonNegativeInt("--preserve-fds")).default(0),
    new Option("--image <reference>", "create from an image (registry reference, Proxmox template, OCI layout or archive) instead of a bundle"),
    new Option("--authfile <file>", "registry credentials (containers-auth.json) for pulling --image"),
  ];
}

export interface CreateFlags {
  bundle: string;
  consoleSocket?: string;
  pidFile?: string;
  pivot: boolean;
  newKeyring: boolean;
  preserveFds: number;
  image?: string;
  authfile?: string;
}

export function toCreateOptions(id: string, f: CreateFlags, bundleGiven = false) {
  if (f.image !== undefined && bundleGiven) throw new InvalidArgumentError("--image and --bundle cannot be used together");
  if (f.authfile !== undefined && f.image === undefined) throw new InvalidArgumentError("--authfile needs --image");
  return {
    id,
    bundle: f.bundle,
    pidFile: f.pidFile,
    consoleSocket: f.consoleSocket,
    noPivot: f.pivot === false,
    noNewKeyring: f.newKeyring === false,
    preserveFds: f.preserveFds,
    ...(f.image !== undefined ? { image: f.image } : {}),
    ...(f.authfile !== undefined ? { authFile: f.authfile } : {}),
  };
}
