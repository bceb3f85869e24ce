import Foundation
import Hummingbird
import WedSyncModels
import WedSyncServiceKit

/// Reading and validating query parameters, path ids and body fields, with 400s that name them, by the rules of
/// ``APIFields`` (the same rules the OpenAPI document states).
enum Parameters {
    /// The path parameter `name`: a positive integer id.
    static func id(_ context: ServiceRequestContext, _ name: String = "id") throws -> Int {
        guard let text = context.parameters.get(name), let id = Int(text), APIFields.ids.contains(id) else {
            throw ServiceError.badRequest("\(name): expected a positive integer id", code: "invalid_parameter")
        }
        return id
    }

    /// The query parameter `name`, required: a positive integer id.
    static func requiredID(_ request: Request, _ name: String) throws -> Int {
        guard let text = request.uri.queryParameters.get(name) else {
            throw ServiceError.badRequest("\(name): required", code: "invalid_parameter")
        }
        guard let id = Int(text), APIFields.ids.contains(id) else {
            throw ServiceError.badRequest("\(name): expected a positive integer id", code: "invalid_parameter")
        }
        return id
    }

    /// The query parameter `name`, when present: a day `YYYY-MM-DD` from 1900 to 2199.
    static func day(_ request: Request, _ name: String) throws -> CalendarDay? {
        guard let text = request.uri.queryParameters.get(name) else { return nil }
        guard let day = CalendarDay(text) else {
            throw ServiceError.badRequest("\(name): expected a date as YYYY-MM-DD", code: "invalid_parameter")
        }
        return try APIFields.check(day, name, code: "invalid_parameter")
    }

    /// The query parameter `name`, when present: one of `choices`.
    static func choice(_ request: Request, _ name: String, from choices: [String]) throws -> String? {
        guard let text = request.uri.queryParameters.get(name) else { return nil }
        guard choices.contains(text) else {
            throw ServiceError.badRequest(
                "\(name): expected one of \(choices.joined(separator: ", "))",
                code: "invalid_parameter"
            )
        }
        return text
    }

    /// A text field of a body, when present: checked by `rule` as sent, stored without surrounding whitespace.
    static func text(_ value: String?, _ name: String, _ rule: TextRule) throws -> String? {
        guard let value else { return nil }
        return try rule.check(value, name).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// An email field of a body, when present, as ``EmailRule`` takes it.
    static func email(_ value: String?, _ name: String) throws -> String? {
        guard let value else { return nil }
        return try EmailRule.check(value, name)
    }
}

/// The query parameters every list shares: its page size and its name search, each said once for the check and the
/// OpenAPI document.
enum ListParameters {
    static let defaultLimit = 50
    static let maximumLimit = 200

    /// `limit`: a page size from 1 to 200 (default 50).
    static let limit = QueryParameter(
        "limit",
        schema: .integer(minimum: 1, maximum: maximumLimit),
        description: "Page size (default 50)."
    )

    /// `q`: part of `what`, 3 to 100 characters.
    static func search(_ what: String) -> QueryParameter {
        QueryParameter("q", schema: APIFields.search.schema, description: "Part of \(what) (3 to 100 characters).")
    }

    /// The request's page size.
    static func limit(_ request: Request) throws -> Int {
        try request.integerQuery("limit", in: 1...maximumLimit) ?? defaultLimit
    }

    /// The request's search text, when it has one.
    static func search(_ request: Request) throws -> String? {
        try request.uri.queryParameters.get("q").map { q in
            try APIFields.search.check(q, "q", code: "invalid_parameter")
        }
    }
}
