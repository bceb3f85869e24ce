import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import WedSyncModels
import WedSyncPostgres
import WedSyncServiceKit

/// `GET /api/exports/{clients|guests|budget-items}`: every row of the caller's organization, streamed from a
/// server-side cursor a batch at a time, so memory stays flat whatever the row count. When the client goes away
/// the export's task is cancelled, which cancels the statement on the server and rolls the cursor back.
struct ExportRoutes {
    let environment: APIEnvironment
    let logger: Logger
    /// Exports streaming at once, in all and per client: each holds a read connection for as long as it runs.
    let streams: StreamSlots

    /// One exportable table.
    struct Export: Sendable {
        var name: String
        var columns: [(name: String, sql: String, type: ExportColumnType)]
        var from: String
        var order: String

        func query(organization: Int) -> PostgresQuery {
            PostgresQuery(
                sql:
                    "SELECT \(columns.map(\.sql).joined(separator: ", ")) FROM \(from) WHERE organization_id = $1 \(order)",
                binds: [organization]
            )
        }

        func count(organization: Int) -> PostgresQuery {
            PostgresQuery(sql: "SELECT count(*) FROM \(from) WHERE organization_id = $1", binds: [organization])
        }
    }

    static let exports: [String: Export] = [
        "clients": Export(
            name: "clients",
            columns: [
                ("id", "id", .number), ("partner1FirstName", "partner1_first_name", .text),
                ("partner1LastName", "partner1_last_name", .text), ("partner2FirstName", "partner2_first_name", .text),
                ("partner2LastName", "partner2_last_name", .text), ("email", "email", .text), ("phone", "phone", .text),
                ("weddingDate", "wedding_date", .text), ("venueName", "venue_name", .text),
                ("venueCity", "venue_city", .text), ("status", "status", .text),
                ("guestEstimate", "guest_estimate", .number),
            ],
            from: "clients",
            // clients_org_wedding_date_idx walks them in this order: no sort.
            order: "AND deleted_at IS NULL ORDER BY wedding_date, id"
        ),
        "guests": Export(
            name: "guests",
            columns: [
                ("id", "id", .number), ("guestListId", "guest_list_id", .number), ("clientId", "client_id", .number),
                ("firstName", "first_name", .text), ("lastName", "last_name", .text), ("email", "email", .text),
                ("rsvpStatus", "rsvp_status", .text), ("dietaryRequirements", "dietary_requirements", .text),
                ("tableNumber", "table_number", .number), ("plusOne", "plus_one", .boolean),
            ],
            from: "guests",
            order: "ORDER BY id"
        ),
        "budget-items": Export(
            name: "budget-items",
            columns: [
                ("id", "id", .number), ("budgetId", "budget_id", .number), ("category", "category", .text),
                ("description", "description", .text), ("estimatedAmount", "estimated_amount", .number),
                ("actualAmount", "actual_amount", .number), ("paid", "paid", .boolean), ("dueDate", "due_date", .text),
            ],
            from: "budget_items",
            order: "ORDER BY id"
        ),
    ]

    /// Rows per `FETCH`, and per write to the socket.
    static let batchSize = 1_000
    /// An SSE progress event every this many rows.
    static let progressEvery = 10_000

    func register(_ routes: ServiceRoutes) {
        routes.add(
            .get,
            "/api/exports/{kind}",
            RouteSpec(
                summary: "Export every client, guest or budget item of the caller's organization",
                description: "A JSON array, CSV, NDJSON or Server-Sent Events (`row` events, `progress` events every "
                    + "10,000 rows with the total, and a final `done`), chosen by `format` or `Accept`. Streamed from a "
                    + "server-side cursor; the query is cancelled when the client disconnects. `kind` is `clients`, "
                    + "`guests` or `budget-items`.",
                tags: ["exports"],
                access: .tenant,
                queryParameters: [
                    QueryParameter(
                        "format",
                        schema: .string(enumeration: ExportFormat.allCases.map(\.rawValue)),
                        description: "Overrides Accept."
                    )
                ],
                pathParameters: ["kind": .string(enumeration: Self.exports.keys.sorted())],
                response: NamedSchema(schema: .array(.map(.any))),
                otherResponses: [
                    ResponseContent("text/csv"), ResponseContent("application/x-ndjson"),
                    ResponseContent(
                        "text/event-stream",
                        schema: .serverSentEvents(named: ["row", "progress", "done"])
                    ),
                ]
            )
        ) { request, context in
            let kind = context.parameters.get("kind") ?? ""
            guard let export = Self.exports[kind] else {
                throw ServiceError.notFound("no export \(kind): expected clients, guests or budget-items")
            }
            guard
                let format = ExportFormat.negotiate(
                    format: request.uri.queryParameters.get("format"),
                    accept: request.headers[.accept]
                )
            else {
                throw ServiceError.badRequest(
                    "format: expected one of \(ExportFormat.allCases.map(\.rawValue).joined(separator: ", "))",
                    code: "invalid_parameter"
                )
            }
            // The token lookup is the export's first statement: recorded, and reported with the cursor's.
            let log = QueryLog()
            let principal = try await QueryLog.$current.withValue(log) {
                try await environment.principal(of: request)
            }
            // Per organization: every supplier's phone comes through the gateway's one address.
            let slot = try streams.acquire(client: "org:\(principal.organizationId)")
            return stream(
                export,
                format: format,
                organization: principal.organizationId,
                slot: slot,
                log: log,
                request: request,
                context: context
            )
        }
    }

    private func stream(
        _ export: Export,
        format: ExportFormat,
        organization: Int,
        slot: StreamSlot,
        log: QueryLog,
        request: Request,
        context: ServiceRequestContext
    ) -> Response {
        var headers: HTTPFields = [.contentType: format.contentType, .cacheControl: "no-store"]
        if format == .csv { headers[.contentDisposition] = "attachment; filename=\"\(export.name).csv\"" }
        // Exports scan whole tables: the analytics standbys take them, away from wedding-day reads' connections.
        let pool = environment.database.database.analytics
        let reporter = environment.queryEvents
        let requestID = context.requestID
        let logger = context.logger
        return Response(
            status: .ok,
            headers: headers,
            body: ResponseBody { writer in
                // Held while the export runs; a response dropped before its body runs gives it back too.
                withExtendedLifetime(slot) {}
                let started = ContinuousClock.now
                var encoder = ExportEncoder(format: format, columns: export.columns.map { ($0.name, $0.type) })
                do {
                    // Cancelled when the client closes its side: the cursor's statement is cancelled with it.
                    try await request.body.consumeWithCancellationOnInboundClose { _ in
                        let total: Int? =
                            format == .sse
                            ? try await pool.query(export.count(organization: organization)).first?.decode(
                                Int.self,
                                at: 0
                            )
                            : nil
                        var buffer = ByteBufferAllocator().buffer(capacity: 256 * 1024)
                        encoder.header(into: &buffer)
                        encoder.progress(total: total, into: &buffer)
                        try await pool.withCursor(export.query(organization: organization), batchSize: Self.batchSize) {
                            rows in
                            for try await row in rows {
                                encoder.row(row.values, into: &buffer)
                                if encoder.rows % Self.progressEvery == 0 {
                                    encoder.progress(total: total, into: &buffer)
                                }
                                if encoder.rows % Self.batchSize == 0 {
                                    try await writer.write(buffer)
                                    buffer.clear()
                                }
                            }
                        }
                        encoder.footer(into: &buffer)
                        try await writer.write(buffer)
                    }
                    try await writer.finish(nil)
                } catch {
                    logger.notice(
                        "export stopped",
                        metadata: ["export": "\(export.name)", "export.rows": "\(encoder.rows)", "error": "\(error)"]
                    )
                    throw error
                }
                log.record(
                    sql: export.query(organization: organization).sql,
                    duration: ContinuousClock.now - started,
                    rows: encoder.rows
                )
                reporter?.report(log, requestID: requestID, route: "/api/exports/{kind}")
            }
        )
    }
}
