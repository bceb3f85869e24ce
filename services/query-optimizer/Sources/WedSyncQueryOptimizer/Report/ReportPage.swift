import Foundation
import WedSyncModels

/// `GET /v1/report` as a page a person reads: the findings first, then each section as a table. One file, no
/// script and no external assets; every text from the database is escaped.
public enum ReportPage {
    public static func render(_ report: OptimizerReport) -> String {
        var html = """
            <!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>WedSync query optimizer: \(escape(report.database))</title>
            <style>
            body{font:14px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1100px;padding:12px;color:#1d2330}
            h1{font-size:20px}h2{font-size:16px;margin-top:28px;border-bottom:1px solid #dde}
            table{border-collapse:collapse;width:100%;margin:6px 0}th,td{text-align:left;padding:4px 6px;border-bottom:1px solid #eef;vertical-align:top}
            th{background:#f4f5fa}td.n{text-align:right;white-space:nowrap}code{font:12px ui-monospace,monospace;word-break:break-word}
            .critical{color:#b00020;font-weight:600}.warning{color:#a15c00;font-weight:600}.info{color:#355}.muted{color:#778}
            </style></head><body>
            <h1>Query optimizer report: \(escape(report.database))</h1>
            <p class="muted">Made \(escape(ISO8601DateFormatter().string(from: report.generatedAt)))</p>

            """
        html += "<h2>Findings (\(report.findings.count))</h2>"
        html += table(
            ["Severity", "Kind", "Subject", "What to do"],
            report.findings.map { finding in
                [
                    "<span class=\"\(escape(finding.severity))\">\(escape(finding.severity))</span>",
                    escape(finding.kind), escape(finding.subject), escape(finding.message),
                ]
            }
        )
        let n = report.nPlusOne
        html +=
            "<h2>N+1 requests</h2><p>\(n.requestsFlagged) of \(n.requestsSeen) requests of the last \(n.windowSeconds / 60) minutes ran one statement \(n.threshold) times or more.</p>"
        html += table(
            ["Route", "Statement", "Requests", "Most per request", "Time per request", "Instead"],
            n.patterns.map { pattern in
                [
                    escape(pattern.route), code(pattern.fingerprint), number(pattern.requests),
                    number(pattern.maximumPerRequest),
                    escape(OptimizerReporter.milliseconds(pattern.meanTimePerRequestMs)), code(pattern.batchedForm),
                ]
            }
        )
        if let slow = report.slowStatements {
            html +=
                "<h2>Slow statements</h2><p>Statements that ran \(escape(OptimizerReporter.milliseconds(slow.thresholdMs))) or longer, each plan captured once.</p>"
            html += table(
                ["Statement", "Slowest", "Mean", "Calls", "Plan", "Findings"],
                slow.statements.map { statement in
                    [
                        code(statement.query), escape(OptimizerReporter.milliseconds(statement.maxTimeMs)),
                        statement.meanTimeMs.map { escape(OptimizerReporter.milliseconds($0)) } ?? "",
                        statement.calls.map(number) ?? "",
                        statement.plan.map { plan in
                            code(plan.allNodes.map(PlanAnalyzer.label).joined(separator: " › "))
                                + (statement.totalCost.map { " cost \(Int(saturating: $0.rounded()))" } ?? "")
                        } ?? escape(statement.unplannable ?? ""),
                        escape(statement.findings.map { "\($0.kind): \($0.message)" }.joined(separator: "; ")),
                    ]
                }
            )
        }
        if let workload = report.workload {
            html +=
                "<h2>Workload</h2><p>\(workload.statements) statements, \(escape(OptimizerReporter.milliseconds(workload.totalTimeMs))) in all; \(workload.planned) planned for recommendations.</p>"
            html += "<h3>Recommended indexes</h3>"
            html += table(
                ["Index", "Saves", "Statements served", "Size"],
                workload.recommendations.map { recommendation in
                    [
                        code(recommendation.createStatement),
                        "\(Int(saturating: (recommendation.workloadImprovement * 100).rounded()))%",
                        number(recommendation.served.count),
                        escape(OptimizerReporter.bytes(recommendation.estimatedSizeBytes)),
                    ]
                }
            )
            html += "<h3>Most total time</h3>" + statements(workload.topByTotalTime)
            html += "<h3>Slowest on average</h3>" + statements(workload.topByMeanTime)
            html += "<h3>Most calls</h3>" + statements(workload.topByCalls)
        }
        if let indexes = report.indexes {
            html += "<h2>Indexes</h2><p>Index cache hit ratio: \(ratio(indexes.indexCacheHitRatio)).</p><h3>Unused</h3>"
            html += table(
                ["Table", "Index", "Size", "Definition"],
                indexes.unused.map { index in
                    [
                        escape(index.table), escape(index.index), escape(OptimizerReporter.bytes(index.sizeBytes)),
                        code(index.definition),
                    ]
                }
            )
            html += "<h3>Duplicate and redundant</h3>"
            html += table(
                ["Table", "Index", "Covered by", "Why", "Drop"],
                indexes.redundant.map { index in
                    [
                        escape(index.table), escape(index.index), escape(index.coveredBy), escape(index.reason),
                        code(index.dropStatement),
                    ]
                }
            )
        }
        if let tables = report.tables {
            html += "<h2>Tables</h2><p>Table cache hit ratio: \(ratio(tables.tableCacheHitRatio)).</p>"
            html += table(
                ["Table", "Rows", "Size", "Sequential scans", "Cache hits", "Bloat", "Findings"],
                tables.tables.map { table in
                    [
                        escape(table.table), number(table.rows), escape(OptimizerReporter.bytes(table.sizeBytes)),
                        "\(table.sequentialScans) (\(Int(saturating: (table.sequentialScanShare * 100).rounded()))%)",
                        ratio(table.cacheHitRatio),
                        "\(escape(OptimizerReporter.bytes(table.estimatedBloatBytes))) (\(Int(saturating: (table.bloatShare * 100).rounded()))%)",
                        escape(table.findings.joined(separator: ", ")),
                    ]
                }
            )
        }
        if let connections = report.connections {
            html +=
                "<h2>Connections</h2><p>\(connections.connections) of \(connections.maxConnections) server connections. Bottleneck: <b>\(escape(connections.verdict.bottleneck))</b>.</p>"
            if !connections.verdict.reasons.isEmpty {
                html += "<ul>" + connections.verdict.reasons.map { "<li>\(escape($0))</li>" }.joined() + "</ul>"
            }
            html += table(
                ["State", "Connections"],
                connections.byState.sorted { $0.key < $1.key }.map { [escape($0.key), number($0.value)] }
            )
            html += "<h3>Service pools</h3>"
            html += table(
                ["Service", "Pool", "In use", "Maximum", "Waiting", "Acquire timeouts", "Acquire p99"],
                connections.pools.map { pool in
                    [
                        escape(pool.service), escape(pool.pool), pool.up ? number(Int(saturating: pool.inUse)) : "down",
                        number(Int(saturating: pool.maximum)), number(Int(saturating: pool.waiting)),
                        number(Int(saturating: pool.acquireTimeouts)),
                        pool.acquireP99Ms.map { escape(OptimizerReporter.milliseconds($0)) } ?? "",
                    ]
                }
            )
            html += "<h3>Waiting and long transactions</h3>"
            html += table(
                ["pid", "State", "Application", "Open for", "Waiting on", "Statement"],
                (connections.waiting + connections.longTransactions).map { session in
                    [
                        number(session.pid), escape(session.state), escape(session.applicationName),
                        session.transactionSeconds.map { "\(Int($0)) s" } ?? "",
                        escape([session.waitEventType, session.waitEvent].compactMap { $0 }.joined(separator: ": ")),
                        code(session.query),
                    ]
                }
            )
        }
        if !report.errors.isEmpty {
            html +=
                "<h2>Not available</h2><ul>"
                + report.errors.sorted { $0.key < $1.key }.map {
                    "<li><b>\(escape($0.key))</b>: \(escape($0.value))</li>"
                }.joined() + "</ul>"
        }
        return html + "</body></html>\n"
    }

    static func statements(_ statements: [WorkloadStatement]) -> String {
        table(
            ["Statement", "Calls", "Total", "Mean", "Share", "Cache hits"],
            statements.map { statement in
                [
                    code(String(statement.query.prefix(400))), number(statement.calls),
                    escape(OptimizerReporter.milliseconds(statement.totalTimeMs)),
                    escape(OptimizerReporter.milliseconds(statement.meanTimeMs)),
                    "\(Int(saturating: (statement.shareOfTotalTime * 100).rounded()))%", ratio(statement.cacheHitRatio),
                ]
            }
        )
    }

    /// A table of cells already escaped; "none" when there are no rows.
    static func table(_ headers: [String], _ rows: [[String]]) -> String {
        guard !rows.isEmpty else { return "<p class=\"muted\">None.</p>" }
        let head = "<tr>" + headers.map { "<th>\(escape($0))</th>" }.joined() + "</tr>"
        let body = rows.map { row in "<tr>" + row.map { cell in "<td>\(cell)</td>" }.joined() + "</tr>" }.joined()
        return "<table>\(head)\(body)</table>"
    }

    static func code(_ text: String) -> String { "<code>\(escape(text))</code>" }
    static func number(_ value: Int) -> String { String(value) }
    static func ratio(_ value: Double?) -> String {
        value.map { "\(Double(Int(saturating: $0 * 1000)) / 10)%" } ?? "n/a"
    }

    /// Text as HTML: `&`, `<`, `>`, `"` and `'` escaped, scalar by scalar (a `<` joined to a combining or
    /// prepended mark in one grapheme is still a `<` to the browser).
    public static func escape(_ text: String) -> String {
        var result = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": result.append(contentsOf: "&amp;".unicodeScalars)
            case "<": result.append(contentsOf: "&lt;".unicodeScalars)
            case ">": result.append(contentsOf: "&gt;".unicodeScalars)
            case "\"": result.append(contentsOf: "&quot;".unicodeScalars)
            case "'": result.append(contentsOf: "&#39;".unicodeScalars)
            default: result.append(scalar)
            }
        }
        return String(result)
    }

    /// The page's `Content-Security-Policy`: nothing loads and no script runs, whatever the text.
    public static let contentSecurityPolicy = "default-src 'none'; style-src 'unsafe-inline'"
}
