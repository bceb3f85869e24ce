import WedSyncPostgres

/// The `audit_log` table: who changed which entity, and which of its fields (names only, never values).
enum AuditLog {
    /// Records a change inside the write's transaction, so it is committed or rolled back with the write.
    static func record(
        _ transaction: RecordingDatabase.Transaction,
        principal: Principal,
        entity: String,
        id: Int,
        action: String,
        fields: [String],
        requestID: String
    ) async throws {
        _ = try await transaction.query(
            """
            INSERT INTO audit_log (organization_id, supplier_id, entity_type, entity_id, action, changed_fields, request_id)
            VALUES (\(principal.organizationId), \(principal.supplierId), \(entity), \(id), \(action), \(fields)::text[], \(requestID))
            """
        )
    }
}
