import Foundation

/// What `POST /v1/events` stored: every event of the batch, durably.
public struct EventsAccepted: Codable, Sendable, Equatable {
    public var accepted: Int
    /// Of those, events taken but not kept (outside the stored window); absent when none were.
    public var skipped: Int?

    public init(accepted: Int, skipped: Int? = nil) {
        self.accepted = accepted
        self.skipped = skipped == 0 ? nil : skipped
    }
}

extension EventsAccepted: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(["accepted": .integer(minimum: 0), "skipped": .integer(minimum: 1)], required: ["accepted"])
    }
}
