// ESLint (flat config): typescript-eslint's type-aware rules over every TypeScript source, plain
// recommended rules over the scripts; formatting is Prettier's (eslint-config-prettier turns off
// the rules that would fight it). `npm run lint` runs this, Prettier's check and dependency-cruiser.
import js from "@eslint/js";
import prettier from "eslint-config-prettier";
import globals from "globals";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["**/dist/**", "**/node_modules/**", "packages/contracts/src/gen/**", "bench/results/**", ".fanfare/**"] },
  js.configs.recommended,
  {
    files: ["**/*.ts"],
    extends: [...tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // A promise nobody awaits or catches loses its error: every fire-and-forget says so with `void`.
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_", destructuredArrayIgnorePattern: "^_" },
      ],
      "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "inline-type-imports" }],
      eqeqeq: ["error", "always"],
      "no-console": "off",
    },
  },
  {
    // The course's OpenAPI document is edited as plain JSON (its shape is the spec's, checked against
    // served answers by test/support/contract.ts); typing every node of it would restate the spec.
    // Tests and the bench read JSON answers whose shape their assertions check.
    files: ["services/gateway/src/openapi.ts", "test/**/*.ts", "bench/src/**/*.ts"],
    rules: {
      "@typescript-eslint/no-explicit-any": "off",
      "@typescript-eslint/no-unsafe-member-access": "off",
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/no-unsafe-argument": "off",
      "@typescript-eslint/no-unsafe-call": "off",
      "@typescript-eslint/no-unsafe-return": "off",
    },
  },
  {
    // `eventually(async () => ...)` and mocha hooks take async callbacks whose assertions may all be
    // synchronous; chai's property assertions (`.to.be.empty`) are expressions by design.
    files: ["test/**/*.ts"],
    rules: {
      "@typescript-eslint/require-await": "off",
      "@typescript-eslint/no-unused-expressions": "off",
    },
  },
  {
    files: ["**/*.mjs", "**/*.js", "**/*.cjs"],
    languageOptions: { globals: { ...globals.node } },
  },
  prettier,
  {
    // Prettier wraps code at 140; this catches what it leaves long (comments). Strings and
    // template literals stay whole so messages and SQL can be searched for.
    rules: {
      "max-len": ["error", { code: 140, ignoreStrings: true, ignoreTemplateLiterals: true, ignoreRegExpLiterals: true, ignoreUrls: true }],
    },
  },
);
