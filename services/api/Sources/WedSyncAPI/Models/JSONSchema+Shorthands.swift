import WedSyncModels

/// The field shapes the API's response schemas repeat (``Client``, ``Guest``, ``SupplierSchedule``...), said once.
/// Date-times are ``JSONSchema/dateTime``, from the shared models.
extension JSONSchema {
    /// A calendar day, `YYYY-MM-DD`.
    static let date = JSONSchema.string(format: "date")
    /// A row id.
    static let id = JSONSchema.integer(minimum: 1)
    /// A string or `null`.
    static let optionalString = JSONSchema.nullable(.string())
}
