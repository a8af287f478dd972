// Which Office.js requirement sets the task pane needs, read from Microsoft's own definitions: every
// property and method of Office.js the pane uses (as the TypeScript compiler resolves it, after the type
// check) is looked up in @types/office-js, whose comments name its set ("[Api set: ExcelApi 1.7]").
//
// A use inside `if (Office.context.requirements.isSetSupported("ExcelApi", "1.9")) …`, or after an early
// `if (!picturesSupported()) return …` whose function asks isSetSupported, is optional: the pane runs
// without it. Every other use must be covered by the manifest's <Requirements>, so Excel never loads the
// pane where a call it makes can't work.
//
//   node api-sets.mjs          check the manifest and that api-sets.md is up to date (make lint)
//   node api-sets.mjs --write  rewrite api-sets.md (after changing the pane)
//   --pane FILE --manifest FILE --table FILE: check other files (tests/server/test_pane_types.py)

import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const here = path.dirname(fileURLToPath(import.meta.url));
const option = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i > 0 && process.argv[i + 1] ? path.resolve(process.argv[i + 1]) : fallback;
};
const PANE = option("--pane", path.join(here, "..", "sheetdl", "data", "addin", "taskpane", "taskpane.js"));
const MANIFEST = option("--manifest", path.join(here, "..", "sheetdl", "data", "addin", "manifest.xml"));
const TABLE = option("--table", path.join(here, "api-sets.md"));

const config = ts.readConfigFile(path.join(here, "tsconfig.json"), ts.sys.readFile).config;
const parsed = ts.parseJsonConfigFileContent(config, ts.sys, here);
const roots = parsed.fileNames.map((f) => (f.endsWith("taskpane.js") ? PANE : f));
const program = ts.createProgram(roots, parsed.options);
const checker = program.getTypeChecker();
const pane = program.getSourceFile(PANE);
if (!pane) {
  console.error(`api-sets: there is no task pane at ${PANE}`);
  process.exit(1);
}

// Excel's pages say "[Api set: ExcelApi 1.7]"; the common API's, "**Requirement set**: {@link … | SharedRuntime 1.1}"
// (several links: any one of those sets has it)
const API_SET = /\[Api set: ([A-Za-z]+) (\d+(?:\.\d+)*)/;
const REQUIREMENT_SETS = /\*\*Requirement sets?\*\*:((?:[\s*-]*\{@link [^|}]*\| [A-Za-z]+ \d+(?:\.\d+)*\})+)/;
const LINKED_SET = /\| ([A-Za-z]+) (\d+(?:\.\d+)*)\}/g;
const MANIFEST_SETS = ["ExcelApi", "SharedRuntime"];
const newer = (a, b) => {
  const x = a.split(".").map(Number), y = b.split(".").map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i++) if ((x[i] || 0) !== (y[i] || 0)) return (x[i] || 0) > (y[i] || 0);
  return false;
};

/** The requirement set Office.js's definitions give a symbol, or null (not from Office.js, or no set). */
function setOf(symbol) {
  if (!symbol) return null;
  if (symbol.flags & ts.SymbolFlags.Alias) symbol = checker.getAliasedSymbol(symbol);
  let best = null;
  for (const decl of symbol.declarations || []) {
    const file = decl.getSourceFile().fileName;
    if (!file.includes("@types/office-js")) continue;
    const text = decl.getFullText().slice(0, decl.getStart() - decl.getFullStart());  // its own comment
    let found = null;
    const m = API_SET.exec(text);
    if (m) found = { set: m[1], version: m[2] };
    const r = REQUIREMENT_SETS.exec(text);
    if (!found && r) {
      const options = [...r[1].matchAll(LINKED_SET)].map((l) => ({ set: l[1], version: l[2] }));
      found = options.find((o) => MANIFEST_SETS.includes(o.set)) || options[0];
    }
    if (found && (!best || newer(best.version, found.version))) best = found;  // the lowest overload
  }
  return best;
}

/** isSetSupported("ExcelApi", "1.9") in an expression, directly or through a function of the pane that
 * returns it (picturesSupported): {set, version} or null. */
function guardIn(expr) {
  let found = null;
  const visit = (n) => {
    if (found) return;
    if (ts.isCallExpression(n)) {
      const callee = n.expression;
      const name = ts.isPropertyAccessExpression(callee) ? callee.name.text : ts.isIdentifier(callee) ? callee.text : "";
      if (name === "isSetSupported" && n.arguments.length >= 2 && n.arguments.every(ts.isStringLiteral)) {
        found = { set: n.arguments[0].text, version: n.arguments[1].text };
        return;
      }
      if (ts.isIdentifier(callee)) {
        const decl = (checker.getSymbolAtLocation(callee)?.declarations || [])[0];
        if (decl && ts.isFunctionDeclaration(decl) && decl.getSourceFile() === pane && decl.body) {
          found = guardIn(decl.body);
          if (found) return;
        }
      }
    }
    ts.forEachChild(n, visit);
  };
  visit(expr);
  return found;
}

const endsInReturn = (s) => ts.isReturnStatement(s) || (ts.isBlock(s) && s.statements.some(ts.isReturnStatement));

/** The guard that makes this use optional, or null. */
function guardOf(node) {
  for (let child = node, n = node.parent; n; child = n, n = n.parent) {
    if (ts.isIfStatement(n) && child === n.thenStatement) {
      const g = guardIn(n.expression);
      if (g) return g;
    }
    if (ts.isBlock(n) || ts.isSourceFile(n)) {
      for (const s of n.statements) {
        if (s === child) break;
        if (ts.isIfStatement(s) && ts.isPrefixUnaryExpression(s.expression) &&
            s.expression.operator === ts.SyntaxKind.ExclamationToken && endsInReturn(s.thenStatement)) {
          const g = guardIn(s.expression.operand);
          if (g) return g;
        }
      }
    }
  }
  return null;
}

/** The name a reader knows a member by: Excel.Range.getRangeByIndexes, Office.Context.requirements. */
function memberName(node) {
  const symbol = checker.getSymbolAtLocation(node.name);
  const parent = symbol && symbol.parent;
  const owner = parent ? checker.getFullyQualifiedName(parent).replace(/^"[^"]*"\./, "") : "?";
  return `${owner}.${node.name.text}`;
}

const uses = new Map();  // member → {set, version, lines, optional}
(function walk(n) {
  if (ts.isPropertyAccessExpression(n)) {
    const need = setOf(checker.getSymbolAtLocation(n.name));
    if (need) {
      const name = memberName(n);
      const line = pane.getLineAndCharacterOfPosition(n.name.getStart()).line + 1;
      const guard = guardOf(n);
      const optional = !!(guard && guard.set === need.set && !newer(need.version, guard.version));
      const u = uses.get(name) || { ...need, lines: [], optional: true };
      u.lines.push(line);
      u.optional = u.optional && optional;
      uses.set(name, u);
    }
  }
  ts.forEachChild(n, walk);
})(pane);

// the table, by set and version
const rows = [...uses.entries()].sort(([a, x], [b, y]) =>
  x.set.localeCompare(y.set) || (newer(x.version, y.version) ? 1 : newer(y.version, x.version) ? -1 : a.localeCompare(b)));
const needed = {};  // set → highest version the pane needs without asking first
for (const [, u] of rows) if (!u.optional && (!needed[u.set] || newer(u.version, needed[u.set]))) needed[u.set] = u.version;
const table = [
  "# Office.js requirement sets the task pane uses",
  "",
  "Generated by `addin/api-sets.mjs` from `@types/office-js` (the version pinned in `addin/package.json`);",
  "`make lint` fails when it is out of date (`cd addin && node api-sets.mjs --write` rewrites it).",
  "\"optional\": the pane asks `isSetSupported` first and does without it. The manifest",
  "(`sheetdl/data/addin/manifest.xml`, `<Requirements>`) asks for the highest set each column needs",
  "without asking: " + Object.entries(needed).map(([s, v]) => `${s} ${v}`).join(", ") + ".",
  "",
  "| member | set | needed | lines of taskpane.js |",
  "| --- | --- | --- | --- |",
  ...rows.map(([name, u]) => `| \`${name}\` | ${u.set} ${u.version} | ${u.optional ? "optional" : "yes"} | ${u.lines.join(", ")} |`),
  "",
].join("\n");

const problems = [];
const manifest = fs.readFileSync(MANIFEST, "utf8");
const declared = {};
for (const m of manifest.matchAll(/<Set\s+Name="([A-Za-z]+)"\s+MinVersion="([\d.]+)"\s*\/>/g)) declared[m[1]] = m[2];
for (const [set, version] of Object.entries(needed)) {
  if (MANIFEST_SETS.includes(set)) {
    if (!declared[set]) problems.push(`the manifest asks for no ${set}; the pane needs ${set} ${version}`);
    else if (newer(version, declared[set])) problems.push(`the manifest asks for ${set} ${declared[set]}; the pane needs ${version}`);
  }
}
if (process.argv.includes("--write")) {
  fs.writeFileSync(TABLE, table);
  console.log(`wrote ${TABLE}`);
} else if (!fs.existsSync(TABLE) || fs.readFileSync(TABLE, "utf8") !== table) {
  problems.push("addin/api-sets.md is out of date: run `cd addin && node api-sets.mjs --write` and commit it");
}
for (const p of problems) console.error(`api-sets: ${p}`);
if (problems.length) process.exit(1);
console.log("api-sets: the manifest asks for every requirement set the pane needs (" +
  Object.entries(needed).map(([s, v]) => `${s} ${v}`).join(", ") + ")");
