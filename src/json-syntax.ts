/**
 * Where a text stops being JSON, for error messages that must not quote the text: JSON.parse's own
 * messages echo the offending token (`Unexpected identifier "ghp_..."` under Bun, an excerpt of the
 * document under node), which may be a credential or, for a config symlinked to /etc/shadow, a
 * line of it. Called only after JSON.parse failed; iterative, so nesting depth cannot overflow it.
 */
export interface JsonSyntaxPosition {
  /** 1-based. */
  readonly line: number;
  /** 1-based, in UTF-16 code units. */
  readonly column: number;
  /** The text ended where more was expected. */
  readonly atEnd: boolean;
}

const WS = /[ \t\n\r]*/y;
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const STRING = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;
const LITERAL = /true|false|null/y;

function sticky(re: RegExp, text: string, at: number): number {
  re.lastIndex = at;
  return re.test(text) ? re.lastIndex : -1;
}

/** Pure: the offset of the first syntax error in `text`, or -1 when it is valid JSON. */
export function jsonErrorOffset(text: string): number {
  const stack: string[] = [];
  let i = sticky(WS, text, 0);
  let want: "value" | "key" | "after" = "value";
  for (;;) {
    if (want === "value") {
      const c = text[i];
      if (c === "{" || c === "[") {
        stack.push(c);
        i = sticky(WS, text, i + 1);
        if (text[i] === (c === "{" ? "}" : "]")) {
          stack.pop();
          i++;
          want = "after";
        } else want = c === "{" ? "key" : "value";
        continue;
      }
      const end = Math.max(sticky(STRING, text, i), sticky(NUMBER, text, i), sticky(LITERAL, text, i));
      if (end < 0) return i;
      i = end;
      want = "after";
    } else if (want === "key") {
      const end = sticky(STRING, text, i);
      if (end < 0) return i;
      i = sticky(WS, text, end);
      if (text[i] !== ":") return i;
      i = sticky(WS, text, i + 1);
      want = "value";
      continue;
    }
    i = sticky(WS, text, i);
    const top = stack[stack.length - 1];
    if (top === undefined) return i < text.length ? i : -1;
    const c = text[i];
    if (c === ",") {
      i = sticky(WS, text, i + 1);
      want = top === "{" ? "key" : "value";
    } else if (c === (top === "{" ? "}" : "]")) {
      stack.pop();
      i++;
    } else return i;
  }
}

/** Pure: line and column of the first syntax error, undefined when `text` is valid JSON. */
export function jsonSyntaxPosition(text: string): JsonSyntaxPosition | undefined {
  const at = jsonErrorOffset(text);
  if (at < 0) return undefined;
  const before = text.slice(0, at);
  const lastBreak = before.lastIndexOf("\n");
  return { line: before.split("\n").length, column: at - lastBreak, atEnd: at >= text.length };
}

/** "line 3, column 7" / "unexpected end at line 3, column 7": never any of the text itself. */
export function jsonSyntaxText(text: string): string {
  if (text.trim() === "") return "empty";
  const p = jsonSyntaxPosition(text);
  if (!p) return "syntax error";
  return `${p.atEnd ? "unexpected end at " : "syntax error at "}line ${p.line}, column ${p.column}`;
}
