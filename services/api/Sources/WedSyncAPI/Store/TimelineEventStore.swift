import WedSyncModels
import WedSyncPostgres

/// The run sheet's entries: a change to one, checked against the caller's organization through its schedule,
/// audited and recorded for invalidation in the same transaction.
struct TimelineEventStore: Sendable {
    let database: RecordingDatabase

    /// The entry changed (`tags` named by its schedule's day); `nil` when it is not one of `principal`'s.
    func update(
        id: Int,
        with patch: TimelineEventPatch,
        by principal: Principal,
        requestID: String,
        invalidating tags: (_ date: CalendarDay) -> [String]
    ) async throws -> TimelineEvent? {
        let organization = principal.organizationId
        let fields = [
            patch.startsAt.map { _ in "starts_at" }, patch.minutes.map { _ in "minutes" },
            patch.title.map { _ in "title" }, patch.location.map { _ in "location" },
        ].compactMap { $0 }
        guard !fields.isEmpty else {
            // An empty patch changes nothing: the entry as it is, with no write (no row version, no lock).
            let rows = try await database.readPrimary(
                """
                SELECT t.id, t.starts_at::text, t.minutes, t.title, t.location
                FROM timeline_events t JOIN supplier_schedules s ON s.id = t.schedule_id
                WHERE t.id = \(id) AND s.organization_id = \(organization)
                """
            )
            return try rows.first.map(Self.event(from:))
        }
        return try await database.transaction { transaction -> TimelineEvent? in
            // The schedule carries the organization: an entry of another tenant's schedule matches no row.
            let rows = try await transaction.query(
                """
                UPDATE timeline_events t SET
                    starts_at = COALESCE(\(patch.startsAt)::text::time, t.starts_at),
                    minutes = COALESCE(\(patch.minutes)::integer, t.minutes),
                    title = COALESCE(\(patch.title)::text, t.title),
                    location = COALESCE(\(patch.location)::text, t.location)
                FROM supplier_schedules s
                WHERE t.id = \(id) AND s.id = t.schedule_id AND s.organization_id = \(organization)
                RETURNING t.id, t.starts_at::text, t.minutes, t.title, t.location, s.schedule_date
                """
            )
            guard let row = rows.first else { return nil }
            let event = try Self.event(from: row)
            try await AuditLog.record(
                transaction,
                principal: principal,
                entity: "timeline_event",
                id: id,
                action: "update",
                fields: fields,
                requestID: requestID
            )
            let tags = tags(try row.decode(CalendarDay.self, at: 5))
            try await InvalidationOutbox.record(transaction, tags: tags, reason: "timeline event updated")
            return event
        }
    }

    /// An entry from a row whose first five columns are its id, start, length, title and place.
    private static func event(from row: PostgresRow) throws -> TimelineEvent {
        TimelineEvent(
            id: try row.decode(Int.self, at: 0),
            startsAt: SupplierScheduleStore.clock(try row.decode(String.self, at: 1)),
            minutes: try row.decode(Int.self, at: 2),
            title: try row.decode(String.self, at: 3),
            location: try row.decode(String?.self, at: 4)
        )
    }
}
