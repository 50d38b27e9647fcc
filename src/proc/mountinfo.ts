/** One line of /proc/<pid>/mountinfo, split at its " - " separator; fields still escaped. */
export interface MountinfoLine {
  /** mount id, parent id, major:minor, root, mount point, mount options, optional fields. */
  readonly pre: readonly string[];
  /** filesystem type, source, super options. */
  readonly post: readonly string[];
}

/** The lines of mountinfo text (a line without the separator is skipped). */
export function mountinfoLines(text: string): MountinfoLine[] {
  const out: MountinfoLine[] = [];
  for (const line of text.split("\n")) {
    const sep = line.indexOf(" - ");
    if (sep < 0) continue;
    out.push({ pre: line.slice(0, sep).split(" "), post: line.slice(sep + 3).split(" ") });
  }
  return out;
}

/** Decodes mountinfo's octal escapes (\040 for a space, ...). */
export function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}
