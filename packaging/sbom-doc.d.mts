// Types of packaging/sbom-doc.mjs (plain JavaScript so that the build runs it without a compiler).
export interface BundledPackage {
  name: string;
  version: string;
  license?: string;
  integrity?: string;
}
export interface Metafile {
  outputs: Record<string, { inputs?: Record<string, { bytesInOutput: number }> }>;
}
export interface PackageLock {
  packages?: Record<string, { version: string; license?: string; integrity?: string }>;
}
export interface SbomFacts {
  version: string;
  commit: string;
  timestamp: string;
  serial: string;
  binary: { sha256: string };
  runtime: { name: string; version: string };
  packages: BundledPackage[];
  koffi: { version: string; nativeSha256: string };
  libcrun: { upstream: string; debianSource: string; sha256: string; patch: string };
}
export function packageOfInput(input: string): { name: string; lockKey: string } | undefined;
export function bundledPackages(metafile: Metafile, lock: PackageLock): BundledPackage[];
export function npmPurl(name: string, version: string): string;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function cycloneDx(facts: SbomFacts): any;
