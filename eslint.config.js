import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", "coverage/", ".scratch/", ".cws/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: "readonly",
        console: "readonly",
        Buffer: "readonly",
        URL: "readonly",
        setTimeout: "readonly",
        clearTimeout: "readonly",
        setInterval: "readonly",
        clearInterval: "readonly",
        TextDecoder: "readonly",
        TextEncoder: "readonly",
        AbortController: "readonly",
        AbortSignal: "readonly",
        performance: "readonly",
        NodeJS: "readonly",
      },
    },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
  {
    // The architecture, enforced: only src/aws talks to the AWS SDK, and only
    // the CLI entry point (src/cli/process.ts) touches `process`. Everything else is a typed core
    // that tests can drive without either.
    files: ["src/**/*.ts"],
    ignores: ["src/aws/**"],
    rules: {
      "no-restricted-imports": [
        "error",
        { patterns: [{ group: ["@aws-sdk/*", "@smithy/*"], message: "Only src/aws/ may import the AWS SDK; use a port." }] },
      ],
    },
  },
  {
    // The emulator is a package of its own (docs/decisions.md §21): it answers the wire protocols
    // and knows nothing of the CLI, so it may not reach out of its folder.
    files: ["packages/aws-emulator/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        { patterns: [{ regex: "^(\\.\\./){2,}", message: "The emulator is a package of its own: import only its own files and declared dependencies." }] },
      ],
    },
  },
  {
    files: ["src/**/*.ts"],
    ignores: ["src/cli/process.ts"],
    rules: {
      "no-restricted-globals": ["error", { name: "process", message: "Pass what you need through CliIO; only src/cli/process.ts reads process." }],
    },
  },
  {
    // The bin shim is CommonJS (bin/package.json), for start-up speed (docs/decisions.md §18).
    files: ["bin/**/*.js", "**/*.cjs"],
    languageOptions: { sourceType: "commonjs", globals: { require: "readonly" } },
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
  {
    files: ["test/**/*.ts", "packages/*/test/**/*.ts"],
    rules: {
      "no-restricted-syntax": [
        "error",
        { selector: "CallExpression[callee.property.name=/^(only|skip|todo)$/][callee.object.name=/^(it|test|describe)$/]", message: "No focused or skipped tests." },
      ],
    },
  },
);
