import WedSyncModels
import WedSyncServiceKit

/// `PATCH /api/timeline-events/{id}`: a change to one entry of a run sheet (the first dance moved to 21:15). Absent
/// (or null) fields are left as they are.
public struct TimelineEventPatch: Codable, Sendable, Equatable {
    /// `HH:MM`, 24-hour.
    public var startsAt: String?
    public var minutes: Int?
    public var title: String?
    public var location: String?

    public init(startsAt: String? = nil, minutes: Int? = nil, title: String? = nil, location: String? = nil) {
        self.startsAt = startsAt
        self.minutes = minutes
        self.title = title
        self.location = location
    }
}

extension TimelineEventPatch: OpenAPISchemaProviding {
    public static var openAPISchema: JSONSchema {
        .object(
            [
                "startsAt": .nullable(APIFields.clockSchema),
                "minutes": .nullable(.integer(in: APIFields.eventMinutes)),
                "title": .nullable(APIFields.eventTitle.schema),
                "location": .nullable(APIFields.optionalName.schema),
            ],
            required: []
        )
    }
}
