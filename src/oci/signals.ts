import { InvalidArgumentError } from "../errors.js";

/** Linux x86_64 signal numbers (signal(7)); 32 and 33 are reserved by glibc, real-time are 34..64. */
const SIGNALS: Readonly<Record<string, number>> = {
  HUP: 1, INT: 2, QUIT: 3, ILL: 4, TRAP: 5, ABRT: 6, IOT: 6, BUS: 7, FPE: 8, KILL: 9, USR1: 10,
  SEGV: 11, USR2: 12, PIPE: 13, ALRM: 14, TERM: 15, STKFLT: 16, CHLD: 17, CLD: 17, CONT: 18,
  STOP: 19, TSTP: 20, TTIN: 21, TTOU: 22, URG: 23, XCPU: 24, XFSZ: 25, VTALRM: 26, PROF: 27,
  WINCH: 28, IO: 29, POLL: 29, PWR: 30, SYS: 31,
};
const RTMIN = 34;
const RTMAX = 64;

export interface Signal {
  /** Canonical name, e.g. "SIGTERM", "SIGRTMIN+3". */
  readonly name: string;
  readonly number: number;
}

const NAME_BY_NUMBER: ReadonlyMap<number, string> = new Map(
  Object.entries(SIGNALS)
    .filter(([n]) => !["IOT", "CLD", "POLL"].includes(n))
    .map(([n, v]) => [v, `SIG${n}`]),
);

function nameOf(num: number): string {
  const known = NAME_BY_NUMBER.get(num);
  if (known) return known;
  if (num === RTMIN) return "SIGRTMIN";
  if (num === RTMAX) return "SIGRTMAX";
  if (num > RTMIN && num < RTMAX) return `SIGRTMIN+${num - RTMIN}`;
  return `SIG${num}`;
}

function unknown(input: string): never {
  throw new InvalidArgumentError(`unknown signal ${JSON.stringify(input)}`);
}

/**
 * Accepts what runc and crun accept: a number 1..64, or a name with or without "SIG" in any case
 * (TERM, sigterm, SIGRTMIN+2, RTMAX-1). Anything else is an error.
 */
export function parseSignal(input: string): Signal {
  const text = input.trim();
  if (/^[0-9]+$/.test(text)) {
    const num = Number(text);
    if (num < 1 || num > RTMAX || num === 32 || num === 33) unknown(input);
    return { name: nameOf(num), number: num };
  }
  let name = text.toUpperCase();
  if (name.startsWith("SIG")) name = name.slice(3);
  const plain = SIGNALS[name];
  if (plain !== undefined) return { name: nameOf(plain), number: plain };
  const rt = /^RT(MIN|MAX)(?:([+-])([0-9]{1,2}))?$/.exec(name);
  if (rt) {
    const base = rt[1] === "MIN" ? RTMIN : RTMAX;
    const offset = rt[3] === undefined ? 0 : Number(rt[3]) * (rt[2] === "+" ? 1 : -1);
    const num = base + offset;
    if ((rt[1] === "MIN" && offset < 0) || (rt[1] === "MAX" && offset > 0) || num < RTMIN || num > RTMAX) {
      unknown(input);
    }
    return { name: nameOf(num), number: num };
  }
  return unknown(input);
}
