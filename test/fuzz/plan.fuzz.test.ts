import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { planContainer, type Plan, type PlanInput } from "../../src/backends/proxmox-lxc/plan.js";
import { proxmoxLxcSettingsSchema } from "../../src/backends/proxmox-lxc/settings.js";
import { InvalidArgumentError, UnsupportedError } from "../../src/errors.js";
import { mutate, mutationArb, nastyString, params, timeoutFor, withinMs } from "./_fuzz.js";

const settingsArb = fc.constantFrom(
  proxmoxLxcSettingsSchema.parse({}),
  proxmoxLxcSettingsSchema.parse({ bridge: "vmbr1", ip: "10.0.0.5/24", gateway: "10.0.0.1", tags: ["a", "b"], features: "nesting=1,keyctl=1", unprivileged: false }),
);

const ODD_PATHS = ["..", "../x", "/a/../b", "/a/..", "", "/", "//", ".", "./x", "rel", "rel/dir", "/a b", "/a\tb", "/a\nb", "/a\0b", "/a,b", "/a=b", "/data,backup=1", "/data,ro=0", "/x,mp=/y", "/proc", "/proc/", "/dev", "/sys/fs/cgroup", "/a;b", "/a#b", "/é", "/\u2028"];
const pathArb = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...ODD_PATHS) },
  { weight: 4, arbitrary: fc.constantFrom("/data", "/srv/x", "/etc/hosts", "/a/b/c", "/mnt/v") },
  { weight: 2, arbitrary: nastyString(16).map((s) => `/${s}`) },
  { weight: 1, arbitrary: nastyString(16) },
);
const sourceArb = fc.oneof({ weight: 6, arbitrary: fc.constantFrom("/srv/data", "/var/lib/x", "/etc/hosts", "/tmp") }, { weight: 1, arbitrary: pathArb });

/** Mostly-valid values with an odd one now and then, so specs get past the early checks often. */
const mostly = <T>(good: fc.Arbitrary<T>, odd: fc.Arbitrary<T>, goodWeight = 12) => fc.oneof({ weight: goodWeight, arbitrary: good }, { weight: 1, arbitrary: odd });

const mountArb = fc.record(
  {
    destination: pathArb,
    type: mostly(fc.constantFrom("bind", "bind", "tmpfs", "tmpfs", "proc", "sysfs"), fc.constantFrom("none", "", "ext4")),
    source: sourceArb,
    options: mostly(
      fc.array(fc.constantFrom("bind", "rbind", "ro", "rw", "nosuid", "nodev", "noexec"), { maxLength: 3 }),
      fc.array(fc.oneof(fc.constantFrom("size=65536k", "mode=755", "uid=0", "mode=7777", "size=1x"), nastyString(8)), { maxLength: 3 }),
      4,
    ),
  },
  { requiredKeys: ["destination"] },
);

const argArb = mostly(fc.oneof(fc.stringMatching(/^[a-z0-9\/ "-]{0,8}$/), fc.stringMatching(/^[a-z0-9\/ '-]{0,8}$/)), fc.oneof(fc.string({ maxLength: 10 }), nastyString(12), fc.constantFrom("", "a b", "'", '"', "'\"", "it's", 'say "hi"', "\t", "x\ny", "a\x1bb", "\x7f", "$HOME", "*")), 8);
const envArb = mostly(
  fc.constantFrom("PATH=/bin", "A=b c", "A=", "HOME=/root"),
  fc.oneof(fc.constantFrom("=x", "A", " A=b", "A B=c", "A=b\nc", "A=b\0c", "A=b\rc", "A=\u2028"), nastyString(12), fc.tuple(fc.string({ maxLength: 6 }), nastyString(8)).map(([k, v]) => `${k}=${v}`)),
);
const hostnameArb = mostly(
  fc.constantFrom("", "web", "web-1.example.org"),
  fc.oneof(fc.constantFrom("-a", "a-", "a..b", "a_b", "A", "x".repeat(64), `${"a".repeat(63)}.${"b".repeat(63)}`, "a\nb", "a b"), nastyString(12)),
);

type Namespace = { type: string; path?: string };

const specArb = fc.record(
  {
    ociVersion: fc.constant("1.0.2"),
    process: fc.record(
      {
        terminal: mostly(fc.constant(false), fc.constant(true)),
        args: fc.array(argArb, { minLength: 1, maxLength: 4 }),
        env: fc.array(envArb, { maxLength: 3 }),
        cwd: mostly(fc.constantFrom("/", "/work", "", "rel"), nastyString(10)),
        user: fc.record({ uid: fc.nat(70000), gid: fc.nat(70000), additionalGids: fc.array(fc.nat(70000), { maxLength: 3 }) }, { requiredKeys: ["uid", "gid"] }),
        rlimits: fc.array(fc.record({ type: mostly(fc.constantFrom("RLIMIT_NOFILE", "RLIMIT_CORE"), fc.constantFrom("RLIMIT_nofile", "NOFILE", "RLIMIT_NOFILE\n")), soft: fc.integer({ min: 0, max: 1 << 20 }), hard: fc.integer({ min: 0, max: 1 << 20 }) }), { maxLength: 2 }),
        capabilities: fc.record({ bounding: fc.array(mostly(fc.constantFrom("CAP_CHOWN", "CAP_NET_RAW", "CAP_SYS_ADMIN"), fc.constantFrom("chown", "CAP_chown", "CAP_X\nY")), { maxLength: 3 }) }),
      },
      { requiredKeys: ["args", "cwd"] },
    ),
    root: fc.record({ path: fc.constantFrom("rootfs", "/r"), readonly: fc.boolean() }, { requiredKeys: ["path"] }),
    hostname: hostnameArb,
    mounts: fc.array(mountArb, { maxLength: 4 }),
    linux: fc.record(
      {
        namespaces: mostly(fc.constantFrom<Namespace[]>([{ type: "pid" }, { type: "network" }, { type: "mount" }], [{ type: "network" }]), fc.constantFrom<Namespace[]>([{ type: "pid" }], [{ type: "network", path: "/proc/1/ns/net" }])),
        resources: fc.record(
          {
            memory: fc.record({ limit: fc.integer({ min: -1, max: 1 << 30 }), swap: fc.integer({ min: -1, max: 1 << 30 }) }, { requiredKeys: [] }),
            cpu: fc.record({ shares: fc.nat(300_000), quota: fc.integer({ min: -1, max: 1_000_000 }), period: fc.nat(1_000_000), cpus: mostly(fc.constantFrom("0", "0-3", "0,2", "0-3,8"), fc.constantFrom("3-1", "a", "", " 1")) }, { requiredKeys: [] }),
          },
          { requiredKeys: [] },
        ),
        sysctl: fc.dictionary(mostly(fc.constantFrom("kernel.msgmax", "fs.mqueue.queues_max"), fc.constantFrom("net.ipv4.ip_forward", "kernel.shmmax\n")), mostly(fc.oneof(fc.nat().map((n) => n as string | number), fc.constant("1")), nastyString(6).map((s) => s as string | number)), { maxKeys: 2 }),
      },
      { requiredKeys: [] },
    ),
  },
  { requiredKeys: ["ociVersion", "process", "root"] },
);

/** Specs derived from a valid one, sometimes with structural mutations on top. */
const planInputArb: fc.Arbitrary<PlanInput> = fc
  .record({
    spec: fc.oneof({ weight: 8, arbitrary: specArb }, { weight: 1, arbitrary: fc.tuple(specArb, fc.array(mutationArb, { maxLength: 2 })).map(([s, m]) => mutate(s, m)) }),
    id: fc.stringMatching(/^[A-Za-z0-9_+\-.]{1,40}$/).filter((s) => s !== "." && s !== ".."),
    bundlePath: fc.constantFrom("/b", "/run/bundles/x y", "/b\nc"),
    settings: settingsArb,
    dirSeed: fc.nat(),
    consoleSocket: mostly(fc.constant(false), fc.constant(true), 10),
  })
  .map(({ dirSeed, ...rest }) => ({ ...rest, isDirectory: (p: string) => (p.length + dirSeed) % 2 === 0 }));

type Outcome = { plan: Plan } | { error: unknown };

function attempt(input: PlanInput): Outcome {
  try {
    return { plan: withinMs(2000, "planContainer", () => planContainer(input)) };
  } catch (e) {
    return { error: e };
  }
}

function expectRefusal(error: unknown): void {
  if (!(error instanceof InvalidArgumentError) && !(error instanceof UnsupportedError)) throw error;
}

/** Mount destinations that reached the plan: the mp= value of --mpN and the target of lxc.mount.entry. */
function plannedDestinations(plan: Plan): Array<{ raw: string; dest: string; fields: string[] }> {
  const out: Array<{ raw: string; dest: string; fields: string[] }> = [];
  plan.createOptions.forEach((o, i) => {
    if (/^--mp[0-9]+$/.test(o)) {
      const raw = plan.createOptions[i + 1]!;
      const fields = raw.split(",");
      out.push({ raw, dest: (fields.find((f) => f.startsWith("mp=")) ?? "mp=").slice(3), fields });
    }
  });
  for (const line of plan.lxcLines) {
    const m = /^lxc\.mount\.entry: (.*)$/.exec(line);
    if (m) {
      const fields = m[1]!.split(" ");
      out.push({ raw: line, dest: fields[1] ?? "", fields });
    }
  }
  return out;
}

describe("fuzz: planContainer", () => {
  it("the generator gets past the early checks often enough (at least 1 in 20 inputs yields a Plan with a mount)", () => {
    const sample = fc.sample(planInputArb, { seed: 1, numRuns: 300 });
    const withMount = sample.filter((i) => {
      const r = attempt(i);
      return "plan" in r && plannedDestinations(r.plan).length > 0;
    });
    if (process.env["FUZZ_DIAG"]) {
      const tally = new Map<string, number>();
      for (const i of sample) {
        const r = attempt(i);
        const k = "plan" in r ? "plan" : (r.error as Error).message.replace(/".*$|\(.*$/, "").slice(0, 60);
        tally.set(k, (tally.get(k) ?? 0) + 1);
      }
      console.log([...tally].sort((a, b) => b[1] - a[1]));
    }
    expect(withMount.length).toBeGreaterThan(sample.length / 20);
  });

  it("a Plan whose lxc lines are single `lxc.key: value` lines and whose options have no newline outside --description, or a refusal", { timeout: timeoutFor(1500, 2) }, () => {
    fc.assert(
      fc.property(planInputArb, (input) => {
        const r = attempt(input);
        if ("error" in r) return expectRefusal(r.error);
        for (const line of r.plan.lxcLines) expect(line).toMatch(/^lxc\.[a-z0-9_.]+: [^\n\r]*$/);
        r.plan.createOptions.forEach((o, i) => {
          if (r.plan.createOptions[i - 1] !== "--description") expect(o, JSON.stringify(o)).not.toMatch(/[\n\r]/);
        });
        expect(r.plan.createOptions[r.plan.createOptions.indexOf("--hostname") + 1]).toBe(r.plan.hostname);
      }),
      params(1500),
    );
  });

  it("no NUL byte reaches the lxc lines or the pct options", { timeout: timeoutFor(1500, 2) }, () => {
    fc.assert(
      fc.property(planInputArb, (input) => {
        const r = attempt(input);
        if ("error" in r) return expectRefusal(r.error);
        for (const text of [...r.plan.lxcLines, ...r.plan.createOptions]) expect(text.includes("\0"), JSON.stringify(text)).toBe(false);
      }),
      params(1500),
    );
  });

  it("a mount destination maps to exactly one mp= / mount-entry field (no injected pct properties or fields)", { timeout: timeoutFor(1500, 2) }, () => {
    fc.assert(
      fc.property(planInputArb, (input) => {
        const r = attempt(input);
        if ("error" in r) return expectRefusal(r.error);
        for (const d of plannedDestinations(r.plan)) {
          if (d.raw.startsWith("lxc.mount.entry: ")) {
            expect(d.fields.length, d.raw).toBe(6);
          } else {
            // `<source>,mp=<dest>[,ro=1]` and nothing else
            expect(d.fields.length, JSON.stringify(d.raw)).toBeLessThanOrEqual(3);
            expect(d.fields.slice(2).every((f) => f === "ro=1"), JSON.stringify(d.raw)).toBe(true);
          }
        }
      }),
      params(1500),
    );
  });

  it("no accepted mount destination has a `..` component", { timeout: timeoutFor(1500, 2) }, () => {
    fc.assert(
      fc.property(planInputArb, (input) => {
        const r = attempt(input);
        if ("error" in r) return expectRefusal(r.error);
        for (const d of plannedDestinations(r.plan)) expect(d.dest.split("/").includes(".."), JSON.stringify(d.raw)).toBe(false);
      }),
      params(1500),
    );
  });
});
