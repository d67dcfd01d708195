// audit-feeds: compares every cached timeline and friend set in the feed's Redis with what the
// databases say (through social-graph and posts, on their leaders), and prints how many differ and
// how. Read-only. Meaningful when events are idle; while they flow a timeline may be a moment behind.
//
//   npm run audit-feeds [-- --json]     (configured like the feed: REDIS_URL, SOCIAL_GRAPH_ADDR, POSTS_ADDR, FEED_MAX_ITEMS)
//
// Exit code: 0 when every cached timeline equals the truth, 1 when some differ, 2 on bad configuration.
import { parseArgs } from "node:util";
import { loadFeedConfig, openFeedAudit, type AuditReport } from "@fanfare/feed";

/** What each kind of difference usually means, for the operator reading the summary. */
const KIND_LABELS: Record<keyof AuditReport["byKind"], string> = {
  missingInWindow: "posts missing inside the cached window (a lost fan-out or follow event)",
  missingOlder: "posts missing at the end (history cut short: a shrunk timeline not refilled)",
  extra: "posts that should not be there (deleted, or of someone no longer followed)",
  missingFriends: "follows missing from the cached friend set",
  extraFriends: "cached friends with no follow row",
};

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { json: { type: "boolean", default: false } } });
  const audit = openFeedAudit(loadFeedConfig());
  try {
    const started = Date.now();
    const report = await audit.auditor.auditAll();
    if (values.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    else printSummary(report, Date.now() - started);
    process.exitCode = report.differing === 0 ? 0 : 1;
  } finally {
    await audit.close();
  }
}

function printSummary(report: AuditReport, elapsedMs: number): void {
  const lines = [
    `audited ${report.audited} cached timelines in ${(elapsedMs / 1000).toFixed(1)} s: ${report.differing} differ from the databases`,
  ];
  for (const [kind, label] of Object.entries(KIND_LABELS))
    lines.push(`  ${String(report.byKind[kind as keyof typeof KIND_LABELS]).padStart(6)}  ${label}`);
  for (const drift of report.examples) lines.push(`  e.g. user ${drift.userId}: ${JSON.stringify(drift)}`);
  process.stdout.write(`${lines.join("\n")}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`audit-feeds: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 2;
});
