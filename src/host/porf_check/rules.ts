/**
 * The static Porffor check: finds, in guest TypeScript, the constructs Porffor 0.61.13 compiles
 * wrongly or that break the sans-IO guest rules (DEVELOPERS.md "Guest rules"). One pass over a
 * Babel AST with a function-scope stack; every finding names file:line:col and the rule.
 *
 * A finding on line L is waived by a comment on line L or L-1:
 *   // porf-check-ignore RULE: reason      (the reason is required)
 */
import { parse } from "@babel/parser";

export interface Finding {
  file: string;
  line: number;
  col: number;
  rule: string;
  message: string;
}

export const RULES: Record<string, string> = {
  "closure": "an inner function uses a local or parameter of its enclosing function (ReferenceError under Porffor)",
  "bitops": "bit operation (saturates at 2^31 under Porffor): use arithmetic (% 256, Math.floor(v / 256))",
  "replace": "String.prototype.replace/replaceAll is wrong under Porffor: scan bytes instead",
  "bigint": "BigInt is not supported by the guest build: use two u32 halves",
  "super-call": "super.method() gets this = undefined under Porffor: call a plain helper",
  "typed-field-write": "this.<typed array field>[i] = v is silently dropped by Porffor: copy the field to a local first",
  "erasable-ts": "only erasable TypeScript is allowed (no enum, namespace, parameter properties, decorators)",
  "sans-io": "guest code is sans-IO: no async/await, Promise, timers, Date, Math.random, Deno or process",
  "try-catch": "try/catch never catches in the native build (throws trap): return error codes",
  "typed-array-size":
    "new <TypedArray>(n) gets one 16 KiB page under Porffor whatever n is; a larger array overwrites the next allocation: use new <TypedArray>(new ArrayBuffer(bytes))",
  "parse": "the file does not parse",
};

const TYPED_ARRAYS = new Set([
  "Uint8Array",
  "Int8Array",
  "Uint8ClampedArray",
  "Uint16Array",
  "Int16Array",
  "Uint32Array",
  "Int32Array",
  "Float32Array",
  "Float64Array",
  "BigInt64Array",
  "BigUint64Array",
]);
const ELEMENT_BYTES: Record<string, number> = {
  Uint8Array: 1,
  Int8Array: 1,
  Uint8ClampedArray: 1,
  Uint16Array: 2,
  Int16Array: 2,
  Uint32Array: 4,
  Int32Array: 4,
  Float32Array: 4,
  Float64Array: 8,
  BigInt64Array: 8,
  BigUint64Array: 8,
};
/** Largest `new <TypedArray>(n)` payload, in bytes, that fits Porffor's one-page allocation. */
export const PAGE_SAFE_BYTES = 16000;
const BIT_BINARY = new Set(["|", "&", "^", "<<", ">>", ">>>"]);
const BIT_ASSIGN = new Set(["|=", "&=", "^=", "<<=", ">>=", ">>>="]);
const IO_GLOBALS = new Set(["Promise", "setTimeout", "setInterval", "queueMicrotask", "Date", "Deno", "process"]);
/** TypeScript wrapper nodes whose `expression` is ordinary code. */
const TS_EXPRESSION_WRAPPERS = new Set(["TSAsExpression", "TSSatisfiesExpression", "TSNonNullExpression", "TSTypeAssertion"]);
const FUNCTION_TYPES = new Set([
  "FunctionDeclaration",
  "FunctionExpression",
  "ArrowFunctionExpression",
  "ClassMethod",
  "ClassPrivateMethod",
  "ObjectMethod",
]);

// deno-lint-ignore no-explicit-any
type Node = any;

interface FunctionScope {
  names: Map<string, number>;
}

class Checker {
  findings: Finding[] = [];
  /** Function scopes, innermost last. Module scope is not on the stack (module names are fine). */
  scopes: FunctionScope[] = [];
  /** Typed-array field names of the classes being walked, innermost last. */
  classFields: Set<string>[] = [];
  waivers = new Map<number, Set<string>>();
  /** Module-level `const NAME = <number>` values, for sizing typed arrays. */
  constants = new Map<string, number>();

  constructor(readonly file: string, source: string) {
    const lines = source.split("\n");
    for (let i = 0; i < lines.length; i++) {
      const m = /porf-check-ignore\s+([a-z-]+)\s*:\s*\S/.exec(lines[i]);
      if (!m) continue;
      for (const l of [i + 1, i + 2]) {
        if (!this.waivers.has(l)) this.waivers.set(l, new Set());
        this.waivers.get(l)!.add(m[1]);
      }
    }
  }

  report(node: Node, rule: string, detail: string) {
    const line = node.loc?.start.line ?? 0;
    if (this.waivers.get(line)?.has(rule)) return;
    this.findings.push({ file: this.file, line, col: (node.loc?.start.column ?? 0) + 1, rule, message: detail });
  }

  // ---- scopes -------------------------------------------------------------------------------

  declarePattern(p: Node, names: Map<string, number>) {
    if (!p) return;
    switch (p.type) {
      case "Identifier":
        names.set(p.name, p.loc?.start.line ?? 0);
        break;
      case "ObjectPattern":
        for (const prop of p.properties) this.declarePattern(prop.type === "RestElement" ? prop.argument : prop.value, names);
        break;
      case "ArrayPattern":
        for (const el of p.elements) this.declarePattern(el, names);
        break;
      case "AssignmentPattern":
        this.declarePattern(p.left, names);
        break;
      case "RestElement":
        this.declarePattern(p.argument, names);
        break;
      case "TSParameterProperty":
        this.declarePattern(p.parameter, names);
        break;
    }
  }

  /** Collects every name a function declares (params and body, all blocks, not nested functions). */
  collectDeclarations(fn: Node): Map<string, number> {
    const names = new Map<string, number>();
    for (const p of fn.params ?? []) this.declarePattern(p, names);
    if (fn.type === "FunctionExpression" && fn.id) names.set(fn.id.name, fn.id.loc?.start.line ?? 0);
    const visit = (n: Node) => {
      if (!n || typeof n.type !== "string") return;
      if (n.type === "VariableDeclarator") this.declarePattern(n.id, names);
      else if ((n.type === "FunctionDeclaration" || n.type === "ClassDeclaration") && n.id) {
        names.set(n.id.name, n.id.loc?.start.line ?? 0);
      } else if (n.type === "CatchClause" && n.param) this.declarePattern(n.param, names);
      if (FUNCTION_TYPES.has(n.type) || n.type === "ClassDeclaration" || n.type === "ClassExpression") return;
      for (const key of Object.keys(n)) {
        if (key === "loc" || key === "start" || key === "end") continue;
        const v = n[key];
        if (Array.isArray(v)) v.forEach(visit);
        else if (v && typeof v.type === "string") visit(v);
      }
    };
    if (fn.body) {
      if (fn.body.type === "BlockStatement") fn.body.body.forEach(visit);
      else visit(fn.body);
    }
    return names;
  }

  reference(id: Node) {
    const depth = this.scopes.length;
    if (depth === 0) {
      this.globalUse(id);
      return;
    }
    if (this.scopes[depth - 1].names.has(id.name)) return;
    for (let i = depth - 2; i >= 0; i--) {
      const line = this.scopes[i].names.get(id.name);
      if (line !== undefined) {
        this.report(id, "closure", `'${id.name}' is declared in an enclosing function (line ${line})`);
        return;
      }
    }
    this.globalUse(id);
  }

  globalUse(id: Node) {
    if (IO_GLOBALS.has(id.name) && !this.declaredAnywhere(id.name)) this.report(id, "sans-io", `'${id.name}'`);
    if (id.name === "BigInt" || id.name === "BigInt64Array" || id.name === "BigUint64Array") {
      this.report(id, "bigint", `'${id.name}'`);
    }
  }

  declaredAnywhere(name: string): boolean {
    return this.scopes.some((s) => s.names.has(name));
  }

  // ---- walk ---------------------------------------------------------------------------------

  walkFunction(fn: Node) {
    if (fn.async) this.report(fn, "sans-io", "async function");
    if (fn.generator) this.report(fn, "sans-io", "generator function");
    for (const p of fn.params ?? []) {
      if (p.type === "TSParameterProperty") this.report(p, "erasable-ts", "parameter property");
      this.walkPatternDefaults(p);
    }
    this.scopes.push({ names: this.collectDeclarations(fn) });
    this.walk(fn.body);
    this.scopes.pop();
  }

  /** Walks the expressions inside a binding pattern (defaults, computed keys), not its names. */
  walkPatternDefaults(p: Node) {
    if (!p) return;
    if (p.type === "AssignmentPattern") {
      this.walkPatternDefaults(p.left);
      this.walk(p.right);
    } else if (p.type === "ObjectPattern") {
      for (const prop of p.properties) {
        if (prop.type === "RestElement") continue;
        if (prop.computed) this.walk(prop.key);
        this.walkPatternDefaults(prop.value);
      }
    } else if (p.type === "ArrayPattern") p.elements.forEach((e: Node) => this.walkPatternDefaults(e));
    else if (p.type === "TSParameterProperty") this.walkPatternDefaults(p.parameter);
  }

  walkClass(cls: Node) {
    for (const d of cls.decorators ?? []) this.report(d, "erasable-ts", "decorator");
    if (cls.superClass) this.walk(cls.superClass);
    const fields = new Set<string>();
    for (const m of cls.body.body) {
      if (m.type !== "ClassProperty" || m.computed || m.key.type !== "Identifier") continue;
      const ann = m.typeAnnotation?.typeAnnotation;
      if (ann?.type === "TSTypeReference" && TYPED_ARRAYS.has(ann.typeName?.name)) fields.add(m.key.name);
      if (m.value?.type === "NewExpression" && TYPED_ARRAYS.has(m.value.callee?.name)) fields.add(m.key.name);
    }
    this.findThisTypedAssignments(cls.body, fields);
    this.classFields.push(fields);
    for (const m of cls.body.body) {
      for (const d of m.decorators ?? []) this.report(d, "erasable-ts", "decorator");
      if (m.computed) this.walk(m.key);
      if (FUNCTION_TYPES.has(m.type)) this.walkFunction(m);
      else if (m.value) {
        // A field initializer runs in the constructor: a scope of its own, like a method body.
        this.scopes.push({ names: new Map() });
        this.walk(m.value);
        this.scopes.pop();
      } else if (m.type === "StaticBlock") this.walk({ type: "BlockStatement", body: m.body });
    }
    this.classFields.pop();
  }

  /** Adds fields assigned `this.f = new <TypedArray>(...)` anywhere in the class body. */
  findThisTypedAssignments(n: Node, fields: Set<string>) {
    if (!n || typeof n.type !== "string") return;
    if (
      n.type === "AssignmentExpression" && n.left.type === "MemberExpression" && n.left.object.type === "ThisExpression" &&
      !n.left.computed && n.right.type === "NewExpression" && TYPED_ARRAYS.has(n.right.callee?.name)
    ) fields.add(n.left.property.name);
    for (const key of Object.keys(n)) {
      if (key === "loc") continue;
      const v = n[key];
      if (Array.isArray(v)) v.forEach((c) => this.findThisTypedAssignments(c, fields));
      else if (v && typeof v.type === "string") this.findThisTypedAssignments(v, fields);
    }
  }

  checkTypedFieldWrite(target: Node, at: Node) {
    if (target.type !== "MemberExpression" || !target.computed) return;
    const obj = target.object;
    if (obj.type !== "MemberExpression" || obj.computed || obj.object.type !== "ThisExpression") return;
    const fields = this.classFields[this.classFields.length - 1];
    if (fields?.has(obj.property.name)) {
      this.report(at, "typed-field-write", `this.${obj.property.name}[...] is a typed array field`);
    }
  }

  /** Value of a numeric expression built from literals and module constants, or undefined. */
  constValue(e: Node): number | undefined {
    if (!e) return undefined;
    if (e.type === "NumericLiteral") return e.value;
    if (e.type === "Identifier") return this.constants.get(e.name);
    if (e.type === "BinaryExpression" && (e.operator === "*" || e.operator === "+")) {
      const a = this.constValue(e.left);
      const b = this.constValue(e.right);
      if (a === undefined || b === undefined) return undefined;
      return e.operator === "*" ? a * b : a + b;
    }
    return undefined;
  }

  checkTypedArraySize(n: Node, name: string) {
    const arg = n.arguments[0];
    if (arg.type === "NewExpression" && arg.callee?.name === "ArrayBuffer") return; // sized exactly
    if (arg.type === "ArrayExpression" || arg.type === "SpreadElement") return;
    const count = this.constValue(arg);
    if (count === undefined) {
      this.report(n, "typed-array-size", `new ${name}(n) with a size not known statically`);
    } else if (count * ELEMENT_BYTES[name] > PAGE_SAFE_BYTES) {
      this.report(n, "typed-array-size", `new ${name}(${count}) is ${count * ELEMENT_BYTES[name]} bytes`);
    }
  }

  walk(n: Node) {
    if (!n || typeof n.type !== "string") return;
    switch (n.type) {
      case "Identifier":
        this.reference(n);
        return;
      case "MemberExpression":
      case "OptionalMemberExpression":
        if (n.object.type === "Super") this.report(n, "super-call", `super.${n.property.name ?? "[...]"}`);
        else this.walk(n.object);
        if (n.computed) this.walk(n.property);
        return;
      case "CallExpression":
      case "OptionalCallExpression": {
        const c = n.callee;
        if ((c.type === "MemberExpression" || c.type === "OptionalMemberExpression") && !c.computed) {
          const name = c.property.name;
          if (name === "replace" || name === "replaceAll") this.report(c.property, "replace", `.${name}(`);
          if (c.object.type === "Identifier" && c.object.name === "Math" && name === "imul") this.report(c, "bitops", "Math.imul");
          if (c.object.type === "Identifier" && c.object.name === "Math" && name === "random") this.report(c, "sans-io", "Math.random");
        }
        this.walk(c);
        n.arguments.forEach((a: Node) => this.walk(a));
        return;
      }
      case "BinaryExpression":
        if (BIT_BINARY.has(n.operator)) this.report(n, "bitops", `'${n.operator}'`);
        this.walk(n.left);
        this.walk(n.right);
        return;
      case "UnaryExpression":
        if (n.operator === "~") this.report(n, "bitops", "'~'");
        this.walk(n.argument);
        return;
      case "AssignmentExpression":
        if (BIT_ASSIGN.has(n.operator)) this.report(n, "bitops", `'${n.operator}'`);
        this.checkTypedFieldWrite(n.left, n);
        if (n.left.type === "ObjectPattern" || n.left.type === "ArrayPattern") this.walkPatternDefaults(n.left);
        else this.walk(n.left);
        this.walk(n.right);
        return;
      case "UpdateExpression":
        this.checkTypedFieldWrite(n.argument, n);
        this.walk(n.argument);
        return;
      case "NewExpression": {
        const name = n.callee.type === "Identifier" ? n.callee.name : "";
        if (ELEMENT_BYTES[name] !== undefined && n.arguments.length === 1) this.checkTypedArraySize(n, name);
        this.walk(n.callee);
        n.arguments.forEach((a: Node) => this.walk(a));
        return;
      }
      case "BigIntLiteral":
        this.report(n, "bigint", "BigInt literal");
        return;
      case "AwaitExpression":
        this.report(n, "sans-io", "await");
        this.walk(n.argument);
        return;
      case "TryStatement":
        this.report(n, "try-catch", "try statement");
        this.walk(n.block);
        if (n.handler) this.walk(n.handler.body);
        this.walk(n.finalizer);
        return;
      case "TSEnumDeclaration":
        this.report(n, "erasable-ts", "enum");
        return;
      case "TSModuleDeclaration":
        if (n.declare) return;
        this.report(n, "erasable-ts", "namespace");
        return;
      case "VariableDeclarator":
        this.walkPatternDefaults(n.id);
        this.walk(n.init);
        return;
      case "FunctionDeclaration":
      case "FunctionExpression":
      case "ArrowFunctionExpression":
      case "ObjectMethod":
        this.walkFunction(n);
        return;
      case "ClassDeclaration":
      case "ClassExpression":
        this.walkClass(n);
        return;
      case "ObjectProperty":
        if (n.computed) this.walk(n.key);
        this.walk(n.value);
        return;
      case "LabeledStatement":
        this.walk(n.body);
        return;
      case "BreakStatement":
      case "ContinueStatement":
      case "ImportDeclaration":
      case "ExportAllDeclaration":
        return;
      case "ExportNamedDeclaration":
        this.walk(n.declaration);
        if (!n.source) for (const s of n.specifiers ?? []) this.walk(s.local);
        return;
      case "MetaProperty":
        return;
    }
    if (n.type.startsWith("TS") && !TS_EXPRESSION_WRAPPERS.has(n.type)) return;
    for (const key of Object.keys(n)) {
      if (key === "loc" || key === "start" || key === "end" || key === "extra" || key.endsWith("Comments")) continue;
      if (key === "typeAnnotation" || key === "typeParameters" || key === "returnType") continue;
      const v = n[key];
      if (Array.isArray(v)) v.forEach((c) => this.walk(c));
      else if (v && typeof v.type === "string") this.walk(v);
    }
  }
}

function parseModule(source: string): Node {
  return parse(source, { sourceType: "module", plugins: ["typescript"] });
}

/** Collects module-level numeric constants (`const N = 4096`, `const M = N * 2`) into `into`. */
function collectConstants(ast: Node, c: Checker, exportedOnly: boolean, into: Map<string, number>) {
  for (const stmt of ast.program.body) {
    const exported = stmt.type === "ExportNamedDeclaration";
    if (exportedOnly && !exported) continue;
    const decl = exported ? stmt.declaration : stmt;
    if (decl?.type !== "VariableDeclaration" || decl.kind !== "const") continue;
    for (const d of decl.declarations) {
      if (d.id.type !== "Identifier") continue;
      const v = c.constValue(d.init);
      if (v !== undefined) {
        into.set(d.id.name, v);
        c.constants.set(d.id.name, v);
      }
    }
  }
}

/**
 * Exported numeric constants of a module, so another module's `new Uint8Array(MAX_LINE)` can be
 * sized. `known` (constants of modules already read) resolves constants built from imports.
 */
export function exportedConstants(source: string, known: Map<string, number> = new Map()): Map<string, number> {
  const out = new Map<string, number>();
  let ast: Node;
  try {
    ast = parseModule(source);
  } catch {
    return out;
  }
  const c = new Checker("", source);
  for (const [k, v] of known) c.constants.set(k, v);
  collectConstants(ast, c, true, out);
  return out;
}

/**
 * Checks one TypeScript source text; `file` names it in the findings. `imported` holds numeric
 * constants other modules export (see `exportedConstants`); the module's own take precedence.
 */
export function checkSource(source: string, file: string, imported: Map<string, number> = new Map()): Finding[] {
  let ast: Node;
  try {
    ast = parseModule(source);
  } catch (err) {
    const e = err as { message: string; loc?: { line: number; column: number } };
    return [{ file, line: e.loc?.line ?? 0, col: (e.loc?.column ?? 0) + 1, rule: "parse", message: e.message }];
  }
  const c = new Checker(file, source);
  for (const [k, v] of imported) c.constants.set(k, v);
  collectConstants(ast, c, false, new Map());
  for (const stmt of ast.program.body) c.walk(stmt);
  return c.findings.sort((a, b) => a.line - b.line || a.col - b.col);
}

export function formatFinding(f: Finding): string {
  return `${f.file}:${f.line}:${f.col}: ${f.rule}: ${f.message} — ${RULES[f.rule]}`;
}
