import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

// Every path that calls a model (route handlers, server actions, helpers for titles or
// summaries) must reserve through admitRequest with a feature name of its own and settle
// afterwards. These checks read the source, so a new path that skips the gate fails here.
const ROOT = path.resolve(__dirname, "../..");
const SOURCE_FOLDERS = ["app", "lib", "components"];
// The one module that talks to the SDK, and the one that streams a call and settles it in `finally`.
const PROVIDER_MODULE = "lib/llm/provider.ts";
const SETTLING_MODULES = ["lib/llm/metered-call.ts"];

function sourceFiles(folder: string): string[] {
  return readdirSync(path.join(ROOT, folder), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && /\.(ts|tsx)$/.test(entry.name))
    .map((entry) => path.relative(ROOT, path.join(entry.parentPath, entry.name)));
}

const files = SOURCE_FOLDERS.flatMap(sourceFiles).map((file) => ({ file, text: readFileSync(path.join(ROOT, file), "utf8") }));

/** Returns the argument text of each `admitRequest(...)` call in a source file. */
function admitRequestCalls(text: string): string[] {
  const calls: string[] = [];
  for (const match of text.matchAll(/\badmitRequest\(/g)) {
    let depth = 1;
    let index = match.index + match[0].length;
    while (depth > 0 && index < text.length) {
      if (text[index] === "(") depth += 1;
      if (text[index] === ")") depth -= 1;
      index += 1;
    }
    calls.push(text.slice(match.index + match[0].length, index - 1));
  }
  return calls;
}

describe("paths to a model", () => {
  it("only the provider module imports the OpenAI SDK", () => {
    const importers = files.filter(({ text }) => /from\s+["']openai["']|require\(["']openai["']\)/.test(text)).map(({ file }) => file);
    expect(importers).toEqual([PROVIDER_MODULE]);
  });

  it("every caller of getProvider reserves through the gate", () => {
    const callers = files.filter(({ file, text }) => file !== PROVIDER_MODULE && /\bgetProvider\(/.test(text));
    expect(callers.length).toBeGreaterThan(0);
    for (const { file, text } of callers) {
      expect(admitRequestCalls(text).length, `${file} calls getProvider() without admitRequest()`).toBeGreaterThan(0);
    }
  });

  it("only modules that settle in finally stream from a provider", () => {
    const streamers = files
      .filter(({ file }) => file !== PROVIDER_MODULE)
      .filter(({ text }) => /\b(provider|getProvider\(\))\.stream\(/.test(text))
      .map(({ file }) => file);
    expect(streamers).toEqual(SETTLING_MODULES);
    for (const file of SETTLING_MODULES) {
      const text = files.find((source) => source.file === file)!.text;
      expect(text).toMatch(/finally\s*\{[\s\S]*\b(settleRequest|settleAndRecordUsage)\(/);
    }
  });

  it("every admission names a feature of its own", () => {
    const features = files.flatMap(({ file, text }) =>
      admitRequestCalls(text)
        .filter(() => !file.startsWith("lib/limits/"))
        .map((call) => ({ file, feature: /\bfeature:\s*["']([\w-]+)["']/.exec(call)?.[1] })),
    );
    expect(features.length).toBeGreaterThan(0);
    for (const { file, feature } of features) expect(feature, `${file} calls admitRequest() without a literal feature name`).toBeDefined();
    const names = features.map(({ feature }) => feature);
    expect(new Set(names).size, `feature names used more than once: ${names.join(", ")}`).toBe(names.length);
  });
});
