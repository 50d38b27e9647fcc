import type { CliDoc, CommandDoc, OptionDoc } from "./tree.js";

const shq = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;

function words(opts: readonly OptionDoc[]): string {
  return opts.flatMap((o) => [o.short, o.long].filter((x): x is string => x !== undefined)).join(" ");
}

/** The options that take a value (their next word is not a command or an option). */
function valued(opts: readonly OptionDoc[]): string {
  return opts.filter((o) => o.takesValue).flatMap((o) => [o.short, o.long].filter((x): x is string => x !== undefined)).join("|");
}

/** How the value of an option is completed: its choices, a directory, a file, or nothing. */
export function valueCompletion(o: OptionDoc): string {
  if (o.choices) return `COMPREPLY=($(compgen -W ${shq(o.choices.join(" "))} -- "$cur"))`;
  if (/<dir>/.test(o.flags)) return `COMPREPLY=($(compgen -d -- "$cur"))`;
  if (/<(file|path)>/.test(o.flags)) return `COMPREPLY=($(compgen -f -- "$cur"))`;
  return "COMPREPLY=()";
}

function valueCases(opts: readonly OptionDoc[], indent: string): string[] {
  return opts
    .filter((o) => o.takesValue)
    .map((o) => `${indent}${[o.short, o.long].filter(Boolean).join("|")}) ${valueCompletion(o)}; return ;;`);
}

function takesId(c: CommandDoc): boolean {
  return c.arguments[0]?.name === "container-id";
}

/**
 * Pure: a bash completion script from the commander tree. Completes global options, commands, each
 * command's options and option values, and container ids (from `nexcage list -q` with the same --root).
 */
export function bashCompletion(doc: CliDoc): string {
  const cmdNames = doc.commands.flatMap((c) => [c.name, ...c.aliases]);
  const withId = doc.commands.filter(takesId).flatMap((c) => [c.name, ...c.aliases]);
  const L: string[] = [];
  L.push(`# bash completion for ${doc.name}; generated from its commander tree by packaging/cli-docs (do not edit)`);
  L.push(`_${doc.name}() {`);
  L.push('  local cur prev cmd="" root=() i w');
  L.push('  cur="${COMP_WORDS[COMP_CWORD]}"', '  prev="${COMP_WORDS[COMP_CWORD-1]}"');
  L.push("  for ((i = 1; i < COMP_CWORD; i++)); do");
  L.push('    w="${COMP_WORDS[i]}"');
  L.push('    case "$w" in');
  L.push('      --root) root=(--root "${COMP_WORDS[i+1]}"); ((i++)) ;;');
  const gv = valued(doc.options.filter((o) => o.long !== "--root"));
  if (gv) L.push(`      ${gv}) ((i++)) ;;`);
  L.push('      -*) ;;');
  L.push('      *) cmd="$w"; break ;;');
  L.push("    esac");
  L.push("  done");
  L.push('  if [[ -z "$cmd" ]]; then');
  L.push('    case "$prev" in');
  L.push(...valueCases(doc.options, "      "));
  L.push("    esac");
  L.push(`    if [[ "$cur" == -* ]]; then COMPREPLY=($(compgen -W ${shq(words(doc.options))} -- "$cur"));`);
  L.push(`    else COMPREPLY=($(compgen -W ${shq(cmdNames.join(" "))} -- "$cur")); fi`);
  L.push("    return");
  L.push("  fi");
  L.push('  case "$cmd" in');
  for (const c of doc.commands) {
    L.push(`    ${[c.name, ...c.aliases].join("|")})`);
    L.push('      case "$prev" in');
    L.push(...valueCases(c.options, "        "));
    L.push("      esac");
    L.push(`      if [[ "$cur" == -* ]]; then COMPREPLY=($(compgen -W ${shq(words(c.options))} -- "$cur")); return; fi`);
    if (c.name === "help") L.push(`      COMPREPLY=($(compgen -W ${shq(cmdNames.filter((n) => n !== "help").join(" "))} -- "$cur")); return`);
    L.push("      ;;");
  }
  L.push("  esac");
  if (withId.length) {
    L.push('  case "$cmd" in');
    L.push(`    ${withId.join("|")})`);
    L.push(`      COMPREPLY=($(compgen -W "$(${doc.name} "\${root[@]}" list -q 2>/dev/null)" -- "$cur")) ;;`);
    L.push("  esac");
  }
  L.push("}");
  L.push(`complete -F _${doc.name} ${doc.name}`);
  return `${L.join("\n")}\n`;
}
