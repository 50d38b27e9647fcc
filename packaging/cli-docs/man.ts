import type { CliDoc, OptionDoc } from "./tree.js";

/** roff-escapes one line of text: backslashes, minus signs, and a leading dot or quote. */
export function roff(text: string): string {
  const s = text.replace(/\\/g, "\\e").replace(/-/g, "\\-");
  return /^[.']/.test(s) ? `\\&${s}` : s;
}

function optionItem(o: OptionDoc): string[] {
  const extra = [o.choices ? `one of ${o.choices.join(", ")}` : "", o.defaultValue !== undefined ? `default ${o.defaultValue}` : ""].filter(Boolean);
  return [".TP", `.B ${roff(o.flags)}`, roff(o.description + (extra.length ? ` (${extra.join("; ")})` : ""))];
}

export interface ManExtras {
  readonly version: string;
  /** "2026-12-02": the date in the page footer (from the package's changelog, for reproducible builds). */
  readonly date: string;
}

/**
 * Pure: nexcage(1) in roff, from the commander tree (the same data --help prints), plus the
 * files and environment variables nexcage really reads.
 */
export function manPage(doc: CliDoc, x: ManExtras): string {
  const L: string[] = [];
  L.push(`.TH NEXCAGE 1 "${x.date}" "nexcage ${roff(x.version)}" "User Commands"`);
  L.push(".SH NAME", `${doc.name} \\- ${roff(doc.description)}`);
  L.push(".SH SYNOPSIS", `.B ${doc.name}`, "[\\fIglobal options\\fR] \\fIcommand\\fR [\\fIoptions\\fR] [\\fIarguments\\fR]");
  L.push(
    ".SH DESCRIPTION",
    roff(`${doc.name} is an OCI runtime with the command line of runc and crun, so that containerd (through its runc shim) or an operator can use it in their place.`),
    roff("A configuration file routes each container, by id, annotation or bundle, to a backend: crun (libcrun in-process or the crun command), runc, or Proxmox VE containers (pct)."),
    roff("Every backend keeps the container's OCI state under the root directory."),
  );
  L.push(".SH GLOBAL OPTIONS", roff("Given before the command, as containerd passes them."));
  for (const o of doc.options) L.push(...optionItem(o));
  L.push(".SH COMMANDS");
  for (const c of doc.commands) {
    L.push(`.SS ${roff([c.name, ...c.aliases].join(", "))}`);
    L.push(`.B ${doc.name} ${roff(c.name)}`, roff(c.usage), ".PP", roff(c.description));
    if (c.arguments.some((a) => a.description)) {
      for (const a of c.arguments.filter((a) => a.description)) L.push(".TP", `.I ${roff(a.name)}`, roff(a.description));
    }
    const own = c.options.filter((o) => o.long !== "--help");
    if (own.length) {
      L.push(".PP", "Options:", ".RS");
      for (const o of own) L.push(...optionItem(o));
      L.push(".RE");
    }
  }
  L.push(
    ".SH ENVIRONMENT",
    ".TP",
    ".B NEXCAGE_CONFIG",
    roff("the configuration file, when --config is not given"),
    ".TP",
    ".B NEXCAGE_CRUN_DRIVER",
    roff("auto, libcrun or cli: overrides backends.crun.driver"),
    ".SH FILES",
    ".TP",
    ".I /etc/nexcage/config.json",
    roff("the configuration (routing rules and backend settings)"),
    ".TP",
    ".I /run/nexcage",
    roff("the default root: one directory of state per container"),
    ".TP",
    ".I /usr/lib/nexcage",
    roff("libcrun and koffi's native module, on a read-only bind mount (usr-lib-nexcage.mount) so that the libcrun driver can be used"),
    ".SH EXIT STATUS",
    roff("0 on success; otherwise non-zero, with one line on standard error (and in the --log file) saying why."),
    ".SH SEE ALSO",
    ".BR crun (1),",
    ".BR runc (8),",
    ".BR containerd (8),",
    ".BR pct (1)",
  );
  return `${L.join("\n")}\n`;
}
