import type { Command, Option } from "commander";

/** The CLI as plain data, read from the same commander program that prints --help. */
export interface OptionDoc {
  readonly flags: string; // as --help shows them: "-b, --bundle <dir>"
  readonly long?: string;
  readonly short?: string;
  readonly description: string;
  readonly takesValue: boolean;
  readonly choices?: readonly string[];
  readonly defaultValue?: string;
}
export interface ArgumentDoc {
  readonly name: string;
  readonly required: boolean;
  readonly variadic: boolean;
  readonly description: string;
}
export interface CommandDoc {
  readonly name: string;
  readonly aliases: readonly string[];
  readonly description: string;
  readonly usage: string;
  readonly arguments: readonly ArgumentDoc[];
  readonly options: readonly OptionDoc[];
}
export interface CliDoc {
  readonly name: string;
  readonly description: string;
  readonly options: readonly OptionDoc[];
  readonly commands: readonly CommandDoc[];
}

function optionDoc(o: Option, cmd: Command): OptionDoc {
  const help = cmd.createHelp();
  const dv = o.defaultValue as unknown;
  const shown = dv === undefined || (Array.isArray(dv) && dv.length === 0) || dv === false ? undefined : String(o.defaultValueDescription ?? JSON.stringify(dv));
  return {
    flags: help.optionTerm(o),
    ...(o.long ? { long: o.long } : {}),
    ...(o.short ? { short: o.short } : {}),
    description: o.description,
    takesValue: o.required || o.optional,
    ...(o.argChoices ? { choices: [...o.argChoices] } : {}),
    ...(shown !== undefined ? { defaultValue: shown } : {}),
  };
}

/** Every visible option, including commander's own -h/--help, as --help lists them. */
function visibleOptions(cmd: Command): OptionDoc[] {
  return cmd.createHelp().visibleOptions(cmd).map((o) => optionDoc(o, cmd));
}

export function cliDoc(program: Command): CliDoc {
  return {
    name: program.name(),
    description: program.description(),
    options: visibleOptions(program),
    commands: program.commands.map((c) => ({
      name: c.name(),
      aliases: c.aliases(),
      description: c.description(),
      usage: c.usage(),
      arguments: c.registeredArguments.map((a) => ({ name: a.name(), required: a.required, variadic: a.variadic, description: a.description })),
      options: visibleOptions(c),
    })),
  };
}
